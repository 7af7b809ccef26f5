//! The one error type of `session-state`: transitions that were asked to do something invalid.

/// A state transition that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A decision arrived for a request that is not waiting.
    #[error("no approval request {call_id} is waiting")]
    NoSuchApproval {
        /// The `call_id` the decision named.
        call_id: String,
    },
    /// A request was registered twice under the same `call_id`.
    #[error("approval request {call_id} is already waiting")]
    DuplicateApproval {
        /// The repeated `call_id`.
        call_id: String,
    },
    /// A tool call was begun twice under the same `call_id`.
    #[error("tool call {call_id} is already open")]
    DuplicateCall {
        /// The repeated `call_id`.
        call_id: String,
    },
    /// History breaks the pairing of tool calls and outputs.
    #[error("history is malformed: {reason}")]
    MalformedHistory {
        /// What is wrong.
        reason: String,
    },
    /// A turn is already running where none may be.
    #[error("a turn is already running")]
    TurnAlreadyActive,
}
