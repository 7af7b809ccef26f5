//! The `Session` façade of an agent session: submissions in, events out.
//!
//! A session composes the ports of `session-services` (model, shell, recorder, notifier, file
//! system) around the state of `session-state`. It runs turns (model requests and tool calls),
//! asks for approvals by policy, handles interrupts, compacts history, and resumes recordings.
//! It never prints: everything it has to say is an [`Event`].
//!
//! This crate re-exports every type an embedding program needs, so depending on it alone is
//! enough.

mod compact;
mod config;
mod error;
mod inner;
mod session;
mod tools;
mod turn;

pub use crate::config::{AutoCompact, DEFAULT_INSTRUCTIONS, SessionConfig};
pub use crate::error::SessionError;
pub use crate::session::{Session, Submitter};

/// The protocol and state types (re-exported from `session-state`).
pub use session_state::{
    AskForApproval, ContentItem, Event, EventMsg, ExecOutputStream, FileChange, InputItem, Op,
    ReasoningEffort, ReasoningSummary, ResponseItem, ReviewDecision, SandboxPolicy, Submission,
    SubmissionParseError, TokenUsage, TokenUsageInfo, TurnAbortReason, TurnContextOverride,
    parse_submission,
};

/// The service ports and their implementations (re-exported from `session-services`).
pub use session_services as services;
