//! `SessionConfig`: what a session is started with. Plain data; the CLI builds it from files and
//! flags, an embedding program builds it in code.

use std::path::PathBuf;

use session_state::{AskForApproval, ReasoningEffort, ReasoningSummary, SandboxPolicy};

/// When a session compacts its history by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoCompact {
    /// At 90 % of the model's context window (off when the window is unknown).
    #[default]
    Default,
    /// When the last request's tokens in context exceed this many.
    Tokens(u64),
    /// Never.
    Off,
}

/// How a session is started.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Model name.
    pub model: String,
    /// Provider id, recorded in the session meta.
    pub model_provider: String,
    /// System instructions sent with every request.
    pub instructions: String,
    /// The user's instructions for this project (its `AGENTS.md` files, say): sent to the model
    /// as the first item of the initial context, kept through compaction and resume.
    pub user_instructions: Option<String>,
    /// MCP servers whose tools the model gets, as `mcp__<server>__<tool>` (feature `mcp`).
    /// They start with the session; the first turn waits for each at most its startup timeout.
    #[cfg(feature = "mcp")]
    pub mcp_servers: std::collections::BTreeMap<String, session_services::mcp::McpServerConfig>,
    /// Working directory of the session's turns.
    pub cwd: PathBuf,
    /// When to ask before running commands; `None` for this machine's safe default
    /// (`on-request` where the sandbox is enforced, `untrusted` where it is not).
    pub approval_policy: Option<AskForApproval>,
    /// What commands may touch; `None` for this machine's safe default (`workspace-write`
    /// where the sandbox is enforced, else `danger-full-access`). A mode given here that the
    /// sandbox cannot enforce makes the session refuse to start.
    pub sandbox_policy: Option<SandboxPolicy>,
    /// Paths commands never write, even inside writable roots: the session home, where
    /// recordings and configuration live.
    pub protected_paths: Vec<PathBuf>,
    /// Reasoning effort, for reasoning models.
    pub effort: Option<ReasoningEffort>,
    /// Reasoning summary mode, for reasoning models.
    pub summary: Option<ReasoningSummary>,
    /// The model's context window in tokens, when known.
    pub context_window: Option<u64>,
    /// When to compact automatically.
    pub auto_compact: AutoCompact,
    /// How often a model request that failed before its response started (429, 5xx, a refused
    /// connection) is retried.
    pub request_max_retries: u32,
    /// How often a model stream that broke after it started is retried. The two budgets are
    /// separate and never multiply; each retry is one `stream_error` event.
    pub stream_max_retries: u32,
    /// Wait before the first retry; doubles each retry, with jitter, up to 10 s. A server's
    /// `Retry-After` is honoured instead (up to 60 s).
    pub retry_base_delay: std::time::Duration,
    /// How many submissions may wait before `submit` waits for room.
    pub submission_queue_capacity: usize,
    /// The session id to use; a new UUID v7 when `None`.
    pub session_id: Option<String>,
    /// Version recorded in the session meta.
    pub cli_version: String,
}

impl SessionConfig {
    /// A configuration with sensible defaults for `model` in `cwd`.
    pub fn new(model: impl Into<String>, cwd: impl Into<PathBuf>) -> Self {
        Self {
            model: model.into(),
            model_provider: String::new(),
            instructions: DEFAULT_INSTRUCTIONS.to_owned(),
            user_instructions: None,
            #[cfg(feature = "mcp")]
            mcp_servers: std::collections::BTreeMap::new(),
            cwd: cwd.into(),
            approval_policy: None,
            sandbox_policy: None,
            protected_paths: Vec::new(),
            effort: None,
            summary: None,
            context_window: None,
            auto_compact: AutoCompact::Default,
            request_max_retries: 4,
            stream_max_retries: 5,
            retry_base_delay: std::time::Duration::from_millis(200),
            submission_queue_capacity: 512,
            session_id: None,
            cli_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Take the retry settings of `provider` (`request_max_retries`, `stream_max_retries`,
    /// `retry_base_delay_ms`): the session applies them, the provider's client never retries.
    pub fn retry_like(&mut self, provider: &session_services::ProviderConfig) {
        self.request_max_retries = provider.request_max_retries;
        self.stream_max_retries = provider.stream_max_retries;
        self.retry_base_delay = std::time::Duration::from_millis(provider.retry_base_delay_ms);
    }

    /// The token count above which the session compacts, if any.
    pub fn auto_compact_limit(&self) -> Option<u64> {
        match self.auto_compact {
            AutoCompact::Off => None,
            AutoCompact::Tokens(n) => Some(n),
            AutoCompact::Default => self.context_window.map(|w| w / 10 * 9),
        }
    }
}

/// The instructions a session sends when none are configured.
pub const DEFAULT_INSTRUCTIONS: &str = "You are a coding agent running in a terminal session on \
the user's machine. Use the `shell` tool to run commands and the `apply_patch` tool to edit \
files. Keep answers short and concrete.";
