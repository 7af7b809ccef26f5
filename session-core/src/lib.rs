//! The `Session` façade of an agent session: submissions in, events out.
//!
//! A session composes the ports of `session-services` (model, shell, recorder, notifier, file
//! system) around the state of `session-state`. It runs turns (model requests and tool calls),
//! asks for approvals by policy, handles interrupts, compacts history, and resumes recordings.
//! It never prints: everything it has to say is an [`Event`].
//!
//! This crate re-exports every type an embedding program needs, so depending on it alone is
//! enough.
//!
//! Commands run confined by the kernel when the services' [`Sandbox`](services::Sandbox) says it
//! is enforced (the default services pair `ProcessShell` with `LinuxSandbox`): with
//! [`SessionConfig`]'s policies left at `None` a session then runs `workspace-write` +
//! `on-request`, and falls back to `untrusted` + `danger-full-access` where nothing can be
//! enforced. A mode asked for explicitly that cannot be enforced makes `spawn` fail; the
//! effective policies are in `session_configured`.
//!
//! # Example: a session with your own model
//!
//! ```
//! use std::sync::Arc;
//! use session_core::services::{ModelClient, ModelError, ModelEvent, ModelRequest, ModelStream};
//! use session_core::services::SessionServices;
//! use session_core::{EventMsg, ResponseItem, Session, SessionConfig, SessionError};
//!
//! struct Hello;
//!
//! #[session_core::async_trait]
//! impl ModelClient for Hello {
//!     async fn stream(&self, _request: ModelRequest) -> Result<ModelStream, ModelError> {
//!         let reply = ModelEvent::OutputItemDone(ResponseItem::assistant_text("Hello!"));
//!         let done = ModelEvent::Completed { response_id: "r1".into(), usage: None };
//!         Ok(Box::pin(futures_util::stream::iter([Ok(reply), Ok(done)])))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), SessionError> {
//! let services = SessionServices::builder(Arc::new(Hello)).build(); // in-memory recording
//! let mut session = Session::spawn(SessionConfig::new("hello-model", "."), services).await?;
//! session.user_input("hi").await?;
//! while let Some(event) = session.next_event().await {
//!     if let EventMsg::TaskComplete { last_agent_message } = event.msg {
//!         assert_eq!(last_agent_message.as_deref(), Some("Hello!"));
//!         break;
//!     }
//! }
//! session.shutdown().await
//! # }
//! ```

mod compact;
mod config;
mod error;
mod inner;
mod policy;
mod redact;
mod retry;
mod session;
mod tools;
mod truncate;
mod turn;

pub use crate::config::{AutoCompact, DEFAULT_INSTRUCTIONS, SessionConfig};
pub use crate::error::SessionError;
pub use crate::session::{Session, Submitter};

/// The protocol and state types (re-exported from `session-state`).
pub use session_state::{
    AskForApproval, CancelToken, ContentItem, Event, EventMsg, ExecOutputStream, FileChange,
    InputItem, Op, ReasoningEffort, ReasoningSummary, ResponseItem, ReviewDecision, SandboxPolicy,
    Submission, SubmissionParseError, TokenUsage, TokenUsageInfo, TurnAbortReason,
    TurnContextOverride, parse_submission,
};

/// The service ports and their implementations (re-exported from `session-services`).
pub use session_services as services;

/// The attribute that implements the async service traits (`ModelClient`, `Recorder`, `Shell`,
/// `FileSystem`) outside this workspace, re-exported so its version always matches theirs.
pub use async_trait::async_trait;

/// Entry points for the fuzz targets (feature `fuzzing`); not a stable API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// Parse a patch and apply its update hunks to `file`; must never panic.
    pub fn patch(text: &str, file: &str) {
        crate::tools::fuzz_patch(text, file);
    }
}
