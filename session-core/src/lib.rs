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
//! use session_core::services::{ModelClient, ModelError, ModelRequest, ModelStream, text_response};
//! use session_core::services::SessionServices;
//! use session_core::{EventMsg, Session, SessionConfig, SessionError};
//!
//! struct Hello;
//!
//! #[session_core::async_trait]
//! impl ModelClient for Hello {
//!     async fn stream(&self, _request: ModelRequest) -> Result<ModelStream, ModelError> {
//!         Ok(text_response("Hello!"))
//!     }
//! }
//!
//! # #[session_core::tokio::main(flavor = "current_thread", crate = "session_core::tokio")]
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
//!
//! # What a model sends
//!
//! A [`ModelClient`](services::ModelClient) answers each request with a
//! [`ModelStream`](services::ModelStream) (build one with
//! [`model_stream`](services::model_stream), [`model_channel`](services::model_channel) or
//! [`text_response`](services::text_response)):
//!
//! - text as `OutputTextDelta`s while it streams (front-ends show them), then the whole message
//!   as `OutputItemDone(ResponseItem::Message { role: "assistant", .. })`, which is what history
//!   keeps; text sent only as deltas is kept as a message too;
//! - reasoning as `ReasoningDelta`s and `OutputItemDone(ResponseItem::Reasoning { .. })`;
//! - a tool call as `OutputItemDone(ResponseItem::FunctionCall { name, arguments, call_id, .. })`,
//!   `arguments` being a JSON text; the session runs it and sends the output in the next request
//!   as `ResponseItem::FunctionCallOutput { call_id, output }`;
//! - finally `Completed { response_id, usage }`. An `Err` in the stream is a broken stream
//!   (retried up to `stream_max_retries` when retryable); an `Err` from `stream` itself a failed
//!   request (retried up to `request_max_retries`). A panic in a port becomes an `error` event
//!   naming the port, and the turn ends as usual.
//!
//! # The tools a model gets
//!
//! - `shell`: `{"command": ["argv", ...], "workdir"?: "dir", "timeout_ms"?: 60000,
//!   "with_escalated_permissions"?: false, "justification"?: "why"}`. Runs the argv (no shell
//!   unless the argv names one) through the [`Shell`](services::Shell) port, confined by the
//!   sandbox policy; asks for approval as the approval policy says (`exec_approval_request`).
//!   The output is `Exit code: N\nWall time: S seconds\nOutput:\n…`, cut to 10 KiB / 256
//!   lines (head and tail).
//! - `apply_patch`: `{"input": "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** End Patch"}`
//!   with `*** Add File:`, `*** Delete File:` and `*** Update File:` (optional `*** Move to:`,
//!   then `@@` hunks of ` `, `-` and `+` lines). Writes through the
//!   [`FileSystem`](services::FileSystem) port, inside the writable roots unless approved
//!   (`apply_patch_approval_request`).
//!
//! # Testing with mocks
//!
//! Feature `mocks` brings [`mocks`]: mockall mocks of every port (`MockModelClient`,
//! `MockShell`, `MockRecorder`, …, and `mockall` itself) and the fakes (`ScriptedModel`,
//! `MemoryRecorder`, `MemoryFileSystem`, `FakeSandbox`). `MockShell` needs expectations only for
//! `run`: `user_shell` keeps the trait's default. Feature `http` (on by default) holds the HTTP
//! model clients; turn it off when you bring your own model.

mod compact;
mod config;
mod error;
mod guard;
mod inner;
mod markers;
mod outcome;
mod policy;
mod redact;
mod registry;
mod retry;
mod session;
mod tools;
mod truncate;
mod turn;

pub use crate::config::{AutoCompact, DEFAULT_INSTRUCTIONS, SessionConfig};
pub use crate::error::SessionError;
pub use crate::registry::{Tool, ToolApproval, ToolCallContext, ToolError, ToolPolicy, Tools};
pub use crate::session::{Session, Submitter};

/// The protocol and state types (re-exported from `session-state`).
pub use session_state::{
    AskForApproval, CancelToken, ContentItem, Event, EventMsg, ExecOutputStream, FileChange,
    InputItem, McpStartupStatus, Op, PlanItem, ReasoningEffort, ReasoningSummary, ResponseItem,
    ReviewDecision, SandboxPolicy, StepStatus, Submission, SubmissionParseError, TokenUsage,
    TokenUsageInfo, TurnAbortReason, TurnContextOverride, parse_submission,
};

/// The service ports and their implementations (re-exported from `session-services`).
pub use session_services as services;

/// Every protocol and state type (re-exported from `session-state`), for the signatures of the
/// ports: `HistorySnapshot`, `RateLimitSnapshot`, `CancelToken`, …
pub use session_state as state;

/// The async runtime sessions run on, re-exported so a program needs no other crate:
/// `#[session_core::tokio::main(crate = "session_core::tokio")]`.
pub use tokio;

/// Mocks and fakes of every port, for tests (feature `mocks`).
#[cfg(feature = "mocks")]
pub mod mocks {
    pub use session_services::mocks::*;
    pub use session_services::{
        FakeSandbox, MemoryFileSystem, MemoryRecorder, NoopNotifier, Script, ScriptStep,
        ScriptedModel, ScriptedResponse,
    };
}

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
