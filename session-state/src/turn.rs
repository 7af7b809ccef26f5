//! The running turn: `ActiveTurn` (who runs, how to cancel it) and `TurnState` (everything
//! turn-scoped).
//!
//! A fresh `TurnState` is made for every turn and dropped with it. `TurnState::cleanup` is the one
//! transition that ends a turn's obligations: it answers every approval waiter, closes every open
//! tool call and hands back queued input, reporting what it cleaned.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{oneshot, watch};

use crate::bounded::BoundedText;
use crate::diff::TurnDiffTracker;
use crate::error::StateError;
use crate::history::aborted_output;
use crate::items::ResponseItem;
use crate::protocol::{InputItem, ReviewDecision};

/// What kind of task a turn runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    /// A normal turn: model requests and tool calls until the model stops calling tools.
    Regular,
    /// A compaction: the model summarizes the history.
    Compact,
}

/// What an approval request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalKind {
    /// Running a command (`exec_approval`).
    Exec,
    /// Applying a patch (`patch_approval`).
    Patch,
}

/// A cancellation signal shared by a turn and whoever may interrupt it.
#[derive(Debug, Clone)]
pub struct CancelToken {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        Self::new()
    }
}

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(false);
        Self { tx: Arc::new(tx) }
    }

    /// Cancel; every waiter of [`CancelToken::cancelled`] wakes.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }

    /// Resolves once the token is cancelled.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future has no effect on the token.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// A tool call begun in this turn and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCall {
    /// The call's id.
    pub call_id: String,
    /// The tool's name.
    pub tool: String,
    /// When it began, in milliseconds on the caller's clock.
    pub started_ms: u64,
    /// What the tool has produced so far (head and tail, bounded).
    pub partial_output: BoundedText,
}

struct PendingApproval {
    kind: ApprovalKind,
    reply: oneshot::Sender<ReviewDecision>,
}

impl std::fmt::Debug for PendingApproval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingApproval")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// What [`TurnState::cleanup`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CleanupReport {
    /// Approval requests answered with `abort`, by `call_id`, sorted.
    pub answered_approvals: Vec<String>,
    /// Outputs that close the calls left open, in call order; they belong in history.
    pub closed_calls: Vec<ResponseItem>,
    /// Input queued for the turn that no model request took; it starts the next turn.
    pub pending_input: Vec<InputItem>,
    /// The submission that queued input last: the next turn answers it.
    pub queued_by: Option<String>,
    /// What the user said in the turn, oldest first.
    pub inputs: Vec<String>,
}

impl CleanupReport {
    /// Whether there was nothing to clean.
    pub fn is_empty(&self) -> bool {
        self.answered_approvals.is_empty()
            && self.closed_calls.is_empty()
            && self.pending_input.is_empty()
    }
}

/// Everything scoped to one turn.
#[derive(Debug, Default)]
pub struct TurnState {
    pending_input: Vec<InputItem>,
    approvals: HashMap<String, PendingApproval>,
    diff: TurnDiffTracker,
    auto_compact_requested: bool,
    last_agent_message: Option<String>,
    open_calls: Vec<OpenCall>,
    /// What the user said in the turn, for the turn-complete notification.
    inputs: Vec<String>,
    /// The last submission whose input was queued into the turn.
    queued_by: Option<String>,
}

impl TurnState {
    /// A fresh turn state; diff paths show relative to `root`.
    pub fn new(diff_root: Option<std::path::PathBuf>) -> Self {
        Self {
            diff: TurnDiffTracker::new(diff_root),
            ..Self::default()
        }
    }

    /// Queue user input for the turn's next model request.
    pub fn queue_input(&mut self, items: Vec<InputItem>) {
        self.pending_input.extend(items);
    }

    /// Queue user input that submission `sub_id` sent; input the turn does not take starts the
    /// next turn, which then answers `sub_id`.
    pub fn queue_input_from(&mut self, sub_id: &str, items: Vec<InputItem>) {
        self.pending_input.extend(items);
        self.queued_by = Some(sub_id.to_owned());
    }

    /// Remember text the user said in this turn.
    pub fn note_input(&mut self, text: String) {
        self.inputs.push(text);
    }

    /// What the user said in this turn, oldest first.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// Take the queued input (for the next model request).
    pub fn take_pending_input(&mut self) -> Vec<InputItem> {
        std::mem::take(&mut self.pending_input)
    }

    /// Whether input is queued.
    pub fn has_pending_input(&self) -> bool {
        !self.pending_input.is_empty()
    }

    /// Register an approval request; the receiver gets the decision.
    ///
    /// # Errors
    ///
    /// [`StateError::DuplicateApproval`] if a request with this `call_id` is already waiting.
    pub fn register_approval(
        &mut self,
        call_id: &str,
        kind: ApprovalKind,
    ) -> Result<oneshot::Receiver<ReviewDecision>, StateError> {
        if self.approvals.contains_key(call_id) {
            return Err(StateError::DuplicateApproval {
                call_id: call_id.to_owned(),
            });
        }
        let (reply, rx) = oneshot::channel();
        self.approvals
            .insert(call_id.to_owned(), PendingApproval { kind, reply });
        Ok(rx)
    }

    /// Deliver a decision to the request waiting under `call_id`.
    ///
    /// # Errors
    ///
    /// [`StateError::NoSuchApproval`] if no request of this kind waits under `call_id`; nothing
    /// changes then.
    pub fn resolve_approval(
        &mut self,
        call_id: &str,
        kind: ApprovalKind,
        decision: ReviewDecision,
    ) -> Result<(), StateError> {
        match self.approvals.get(call_id) {
            Some(p) if p.kind == kind => {}
            _ => {
                return Err(StateError::NoSuchApproval {
                    call_id: call_id.to_owned(),
                });
            }
        }
        if let Some(p) = self.approvals.remove(call_id) {
            // The waiter may have gone (turn dropped); the request is answered either way.
            let _ = p.reply.send(decision);
        }
        Ok(())
    }

    /// Whether a request waits under `call_id`.
    pub fn is_waiting_for(&self, call_id: &str) -> bool {
        self.approvals.contains_key(call_id)
    }

    /// Number of approval requests waiting.
    pub fn waiting_approvals(&self) -> usize {
        self.approvals.len()
    }

    /// Note that a tool call began at `started_ms`.
    ///
    /// # Errors
    ///
    /// [`StateError::DuplicateCall`] if a call with this id is already open.
    pub fn begin_call(
        &mut self,
        call_id: &str,
        tool: &str,
        started_ms: u64,
    ) -> Result<(), StateError> {
        if self.open_calls.iter().any(|c| c.call_id == call_id) {
            return Err(StateError::DuplicateCall {
                call_id: call_id.to_owned(),
            });
        }
        self.open_calls.push(OpenCall {
            call_id: call_id.to_owned(),
            tool: tool.to_owned(),
            started_ms,
            partial_output: BoundedText::default(),
        });
        Ok(())
    }

    /// Append output a running call produced, kept in case the call is aborted.
    pub fn append_call_output(&mut self, call_id: &str, chunk: &str) {
        if let Some(c) = self.open_calls.iter_mut().find(|c| c.call_id == call_id) {
            c.partial_output.push_str(chunk);
        }
    }

    /// Note that a call got its output; returns the call if it was open.
    pub fn finish_call(&mut self, call_id: &str) -> Option<OpenCall> {
        let pos = self.open_calls.iter().position(|c| c.call_id == call_id)?;
        Some(self.open_calls.remove(pos))
    }

    /// The calls begun and not answered, in call order.
    pub fn open_calls(&self) -> &[OpenCall] {
        &self.open_calls
    }

    /// The diff tracker of this turn.
    pub fn diff_tracker(&self) -> &TurnDiffTracker {
        &self.diff
    }

    /// The diff tracker of this turn, to record a change.
    pub fn diff_tracker_mut(&mut self) -> &mut TurnDiffTracker {
        &mut self.diff
    }

    /// Ask for compaction once the turn's current request is done.
    pub fn request_auto_compact(&mut self) {
        self.auto_compact_requested = true;
    }

    /// Whether compaction was asked for; clears the request.
    pub fn take_auto_compact_request(&mut self) -> bool {
        std::mem::take(&mut self.auto_compact_requested)
    }

    /// Remember the agent's latest message.
    pub fn set_last_agent_message(&mut self, message: String) {
        self.last_agent_message = Some(message);
    }

    /// The agent's latest message this turn.
    pub fn last_agent_message(&self) -> Option<&str> {
        self.last_agent_message.as_deref()
    }

    /// End the turn's obligations: answer every waiter with `abort`, close every open call with
    /// an "aborted" output keeping its partial output and elapsed time (measured to `now_ms`),
    /// and hand back queued input. Afterwards nothing waits and nothing is open.
    pub fn cleanup(&mut self, now_ms: u64) -> CleanupReport {
        let mut answered: Vec<String> = Vec::with_capacity(self.approvals.len());
        for (call_id, pending) in self.approvals.drain() {
            let _ = pending.reply.send(ReviewDecision::Abort);
            answered.push(call_id);
        }
        answered.sort();
        let closed_calls = self
            .open_calls
            .drain(..)
            .map(|c| ResponseItem::FunctionCallOutput {
                output: aborted_output(
                    Some(&c.partial_output.to_text()),
                    Some(now_ms.saturating_sub(c.started_ms)),
                ),
                call_id: c.call_id,
            })
            .collect();
        CleanupReport {
            answered_approvals: answered,
            closed_calls,
            pending_input: std::mem::take(&mut self.pending_input),
            queued_by: self.queued_by.take(),
            inputs: std::mem::take(&mut self.inputs),
        }
    }
}

/// The running turn.
#[derive(Debug, Clone)]
pub struct ActiveTurn {
    sub_id: String,
    kind: TaskKind,
    cancel: CancelToken,
    state: Arc<Mutex<TurnState>>,
}

impl ActiveTurn {
    /// A turn for submission `sub_id` with a fresh [`TurnState`].
    pub fn new(sub_id: impl Into<String>, kind: TaskKind, state: TurnState) -> Self {
        Self {
            sub_id: sub_id.into(),
            kind,
            cancel: CancelToken::new(),
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// The submission that started the turn.
    pub fn sub_id(&self) -> &str {
        &self.sub_id
    }

    /// The kind of task it runs.
    pub fn kind(&self) -> TaskKind {
        self.kind
    }

    /// The turn's cancellation token.
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// The turn's state, shared with the task running it.
    pub fn turn_state(&self) -> Arc<Mutex<TurnState>> {
        Arc::clone(&self.state)
    }

    /// Run `f` with the turn state locked; never hold the lock across an await.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut TurnState) -> R) -> R {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }
}

#[cfg(test)]
mod tests;
