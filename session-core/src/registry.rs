//! The tool registry: every tool the model may call, built-in or an embedder's, behind one trait.
//!
//! The engine knows no tool by name: it looks the call up here, asks the tool how the call is to
//! be approved, asks the user when it must, runs it, and records its output (cut to the model's
//! budget). `shell`, `apply_patch` and `update_plan` are ordinary entries; MCP tools join when
//! their servers are ready. A leaf of the engine: tools reach the running turn only through
//! [`ToolCallContext`].

use std::any::Any;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use session_services::ToolSpec;
use session_state::{AskForApproval, CancelToken, EventMsg, SandboxPolicy};

/// What a tool is given to decide whether a call asks.
#[derive(Debug, Clone)]
pub struct ToolPolicy {
    /// When the session asks.
    pub approval_policy: AskForApproval,
    /// What commands may touch.
    pub sandbox_policy: SandboxPolicy,
    /// Whether the sandbox is enforced on this machine.
    pub sandbox_enforced: bool,
    /// The session's working directory.
    pub cwd: PathBuf,
}

/// How a call is to be approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolApproval {
    /// Run it without asking.
    Run,
    /// Ask the user first (an `exec_approval_request` whose command is the tool's name and its
    /// arguments); "approved for session" covers every later call of the tool.
    Ask {
        /// Why, shown to the user.
        reason: Option<String>,
    },
    /// Do not run it; this text goes to the model.
    Refuse(String),
}

/// Why a tool call did not produce an output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The call failed; the message goes to the model as the call's output.
    #[error("{0}")]
    Failed(String),
    /// The turn was interrupted while the tool ran.
    #[error("the turn was interrupted")]
    Cancelled,
    /// The user chose `abort` on an approval: the turn ends as interrupted.
    #[error("the user aborted the turn")]
    Aborted,
}

/// What the running turn offers a tool while it runs (implemented by the engine).
pub(crate) trait CallHost: Send + Sync {
    /// Send an event under the turn's submission id.
    fn emit(&self, msg: EventMsg);
    /// The turn's cancellation.
    fn cancel_token(&self) -> &CancelToken;
    /// The policies in force.
    fn policy(&self) -> ToolPolicy;
    /// For the built-in tools, which reach the engine itself.
    fn as_any(&self) -> &dyn Any;
}

/// One call of a tool, as the tool sees it.
pub struct ToolCallContext<'a> {
    pub(crate) call_id: &'a str,
    pub(crate) arguments: &'a serde_json::Value,
    pub(crate) raw_arguments: &'a str,
    pub(crate) host: &'a dyn CallHost,
}

impl std::fmt::Debug for ToolCallContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolCallContext")
            .field("call_id", &self.call_id)
            .field("arguments", &self.arguments)
            .finish_non_exhaustive()
    }
}

impl ToolCallContext<'_> {
    /// The call's id, pairing it with its output.
    pub fn call_id(&self) -> &str {
        self.call_id
    }

    /// The arguments, parsed (`{}` when the model sent none).
    pub fn arguments(&self) -> &serde_json::Value {
        self.arguments
    }

    /// The arguments as the model sent them.
    pub fn raw_arguments(&self) -> &str {
        self.raw_arguments
    }

    /// Fires when the turn is interrupted: stop, and return [`ToolError::Cancelled`].
    pub fn cancel_token(&self) -> &CancelToken {
        self.host.cancel_token()
    }

    /// The policies in force.
    pub fn policy(&self) -> ToolPolicy {
        self.host.policy()
    }

    /// Report progress: the event goes out under the turn's submission id.
    pub fn emit(&self, msg: EventMsg) {
        self.host.emit(msg);
    }

    pub(crate) fn host_any(&self) -> &dyn Any {
        self.host.as_any()
    }
}

/// A tool the model may call.
///
/// ```
/// use session_core::{Tool, ToolCallContext, ToolError};
/// use session_core::services::ToolSpec;
///
/// struct Clock;
///
/// #[session_core::async_trait]
/// impl Tool for Clock {
///     fn spec(&self) -> ToolSpec {
///         ToolSpec {
///             name: "clock".into(),
///             description: "The current Unix time.".into(),
///             parameters: serde_json::json!({"type": "object", "properties": {}}),
///         }
///     }
///
///     async fn call(&self, _call: ToolCallContext<'_>) -> Result<String, ToolError> {
///         let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
///         Ok(format!("{}", now.map(|d| d.as_secs()).unwrap_or(0)))
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Tool: Send + Sync {
    /// What the model is told of it; the name is its key in the registry.
    fn spec(&self) -> ToolSpec;

    /// Whether a call with these arguments asks before it runs; by default it runs.
    fn approval(&self, _arguments: &serde_json::Value, _policy: &ToolPolicy) -> ToolApproval {
        ToolApproval::Run
    }

    /// Run the call; the text returned is its output to the model (cut to the model's budget).
    ///
    /// # Errors
    ///
    /// [`ToolError::Failed`] with the message the model gets; [`ToolError::Cancelled`] once the
    /// call's cancel token fired.
    async fn call(&self, call: ToolCallContext<'_>) -> Result<String, ToolError>;
}

/// The tools of a session.
#[derive(Clone)]
pub struct Tools {
    inner: Arc<RwLock<Entries>>,
}

#[derive(Default)]
struct Entries {
    tools: Vec<Arc<dyn Tool>>,
    specs: Option<Arc<[ToolSpec]>>,
}

impl std::fmt::Debug for Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Default for Tools {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Tools {
    /// No tools at all.
    pub fn empty() -> Self {
        Self {
            inner: Arc::new(RwLock::new(Entries::default())),
        }
    }

    /// These tools and `tool` (replacing one of the same name).
    #[must_use]
    pub fn with(self, tool: Arc<dyn Tool>) -> Self {
        self.register(tool);
        self
    }

    /// Add `tool`, replacing one of the same name; later requests offer it.
    pub fn register(&self, tool: Arc<dyn Tool>) {
        let name = tool.spec().name;
        let mut entries = self.write();
        entries.tools.retain(|t| t.spec().name != name);
        entries.tools.push(tool);
        entries.specs = None;
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Tool>> {
        self.read()
            .tools
            .iter()
            .find(|t| t.spec().name == name)
            .cloned()
    }

    /// The names, in the order the model sees them.
    pub fn names(&self) -> Vec<String> {
        self.specs().iter().map(|s| s.name.clone()).collect()
    }

    /// The specs the model is sent, shared until the set changes (so requests stay byte for
    /// byte the same).
    pub fn specs(&self) -> Arc<[ToolSpec]> {
        if let Some(specs) = &self.read().specs {
            return Arc::clone(specs);
        }
        let mut entries = self.write();
        let specs: Arc<[ToolSpec]> = entries.tools.iter().map(|t| t.spec()).collect();
        entries.specs = Some(Arc::clone(&specs));
        specs
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
