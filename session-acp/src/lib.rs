//! Editors drive sessions: an [Agent Client Protocol](https://agentclientprotocol.com) (ACP v1)
//! agent over any transport, holding any number of sessions on one connection.
//!
//! [`serve`] answers a client (Zed, or any ACP client) on a transport of the official
//! [`agent_client_protocol`] crate (re-exported as [`acp`]); `session acp` serves stdin and
//! stdout with it. What a session runs on (model, shell, recorder, configuration) is the
//! embedder's: a [`SessionFactory`] starts and resumes [`Session`]s for the host, which maps
//! our protocol onto ACP's:
//!
//! | ACP | here |
//! |---|---|
//! | `initialize` | protocol v1; `loadSession`, images and embedded context, MCP over stdio and HTTP |
//! | `session/new` | [`SessionFactory::start`] with the client's `cwd` and `mcpServers` |
//! | `session/load` | [`SessionFactory::load`]; the recorded conversation is replayed as updates first |
//! | `session/prompt` | `user_input`; answered `end_turn`, `cancelled`, `max_tokens` or `refusal` when the turn ends |
//! | `session/update` | message and thought chunks, `tool_call` / `tool_call_update` (commands, patches as diffs, MCP tools), `plan`, `usage_update` |
//! | `session/request_permission` | approval requests; allow once / always, reject once / always |
//! | `session/cancel` | `interrupt`: the prompt answers `cancelled`; waiting approvals are answered by the interrupt, and the client's late answers are ignored |
//! | `session/set_mode`, `session/set_config_option` | the approval presets `read-only`, `auto`, `full-access`; the model |
//! | `fs/read_text_file`, `fs/write_text_file` | the patch tool's file system, where the client offers them |
//!
//! A second prompt while one runs is refused with a JSON-RPC error, unless the running one was
//! cancelled: then it starts the next turn as soon as the cancelled one has ended (DESIGN.md
//! invariant 6). Requests for an unknown session and unknown methods are JSON-RPC errors too;
//! the connection and its other sessions go on. When the client closes the connection, every
//! session is shut down and its recording made durable before [`serve`] returns.

mod diff;
mod fs;
mod host;
mod modes;
mod translate;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use agent_client_protocol as acp;
use session_core::Session;
use session_core::services::FileSystem;
use session_core::services::mcp::McpServerConfig;

/// What the host asks a [`SessionFactory`] for.
#[derive(Clone)]
#[non_exhaustive]
pub struct SessionSetup {
    /// The session's id: chosen by the host for a new session (set it as
    /// `SessionConfig::session_id`), the recording's for a loaded one.
    pub session_id: String,
    /// The working directory the client gave.
    pub cwd: PathBuf,
    /// The client's MCP servers, to start beside those of the configuration.
    pub mcp_servers: BTreeMap<String, McpServerConfig>,
    /// The client's file system, when it offers one: give it to the session's services as
    /// their `FileSystem` so patches go through the editor.
    pub fs: Option<Arc<dyn FileSystem>>,
}

impl std::fmt::Debug for SessionSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSetup")
            .field("session_id", &self.session_id)
            .field("cwd", &self.cwd)
            .field("mcp_servers", &self.mcp_servers.keys().collect::<Vec<_>>())
            .field("fs", &self.fs.is_some())
            .finish()
    }
}

/// Why a session could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// No recording has that id.
    #[error("no recorded session has id {0}")]
    NotFound(String),
    /// The recording was found but could not be resumed.
    #[error("{0}")]
    Failed(String),
}

/// Starts and resumes the sessions a client asks for.
#[session_core::async_trait]
pub trait SessionFactory: Send + Sync + 'static {
    /// Start a new session as `setup` says.
    ///
    /// # Errors
    ///
    /// Why it cannot start, in words the client shows.
    async fn start(&self, setup: SessionSetup) -> Result<Session, String>;

    /// Resume the recorded session `setup.session_id`.
    ///
    /// # Errors
    ///
    /// [`LoadError::NotFound`] when there is no such recording.
    async fn load(&self, setup: SessionSetup) -> Result<Session, LoadError>;

    /// The models a client may switch a session to (its own model is always offered).
    fn models(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The name and version the agent gives in `initialize`.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    /// Program name.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl Default for AgentInfo {
    fn default() -> Self {
        Self {
            name: "session".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// Serve one ACP client on `transport` until it closes the connection, then shut every
/// session down durably.
///
/// # Errors
///
/// When the transport fails (not when the client sends bad input: that is answered).
pub async fn serve(
    factory: Arc<dyn SessionFactory>,
    info: AgentInfo,
    transport: impl acp::ConnectTo<acp::Agent> + 'static,
) -> Result<(), acp::Error> {
    host::serve(factory, info, transport).await
}
