//! How the steps of a turn end: the shared outcome types every engine module uses.
//!
//! A leaf module: it knows no other module of the engine, so the turn runner, the tools and
//! compaction can all speak of stopping and ending without importing each other.

/// How a turn ended, as its task reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TurnEnd {
    /// Finished normally (possibly after reporting an error).
    Completed,
    /// The user chose `abort` on an approval: the task ends the turn as interrupted.
    AbortRequested,
    /// The turn was cancelled from outside; whoever cancelled it finalizes it.
    Cancelled,
}

/// Why a step of a turn stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The turn was cancelled.
    Cancelled,
    /// The user chose `abort`.
    AbortRequested,
    /// A port or tool failed in a way the turn cannot go on from (it panicked); the message
    /// says where. The turn reports it as an `error` and ends.
    Failed(String),
}

/// A tool call the model asked for.
#[derive(Debug, Clone)]
pub(crate) struct ToolCall {
    pub(crate) call_id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
}
