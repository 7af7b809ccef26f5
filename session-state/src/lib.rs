//! Pure data of an agent session: the protocol, conversation history, session and turn state,
//! the turn diff tracker and token accounting.
//!
//! Every other crate of the workspace stands on this one. It must never do I/O: no files, no
//! sockets, no processes, no clocks. Time and ids come in as values.

mod base64_bytes;
mod bounded;
mod diff;
mod error;
mod history;
mod items;
mod protocol;
mod session;
mod tokens;
mod turn;

pub use crate::bounded::{BOUNDED_TEXT_LIMIT, BoundedText};
pub use crate::diff::TurnDiffTracker;
pub use crate::error::StateError;
pub use crate::history::{
    ConversationHistory, HistoryItem, HistorySnapshot, ItemKind, JsonArrayChunks, aborted_output,
};
pub use crate::items::{ContentItem, ReasoningSummaryPart, ResponseItem};
pub use crate::protocol::{
    AskForApproval, Event, EventMsg, ExecOutputStream, FileChange, InputItem, McpStartupStatus, Op,
    PlanItem, ReasoningEffort, ReasoningSummary, ReviewDecision, SandboxPolicy, StepStatus,
    Submission, SubmissionParseError, TurnAbortReason, TurnContextOverride, parse_submission,
};
pub use crate::session::{SessionState, TurnContext};
pub use crate::tokens::{
    RateLimitSnapshot, RateLimitWindow, TokenAccounting, TokenUsage, TokenUsageInfo,
};
pub use crate::turn::{
    ActiveTurn, ApprovalKind, CancelToken, CleanupReport, OpenCall, TaskKind, TurnState,
};
