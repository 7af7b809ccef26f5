//! `SessionState`: session-long data (history, approvals for the session, tokens, turn context).
//!
//! Changed only through named transitions; the core's `Session` façade owns it behind a mutex.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::history::{ConversationHistory, HistoryItem, HistorySnapshot};
use crate::items::ResponseItem;
use crate::protocol::{
    AskForApproval, ReasoningEffort, ReasoningSummary, SandboxPolicy, TurnContextOverride,
};
use crate::tokens::{RateLimitSnapshot, TokenAccounting, TokenUsage, TokenUsageInfo};

/// The context turns run in: where, with which model, under which policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnContext {
    /// Working directory.
    pub cwd: PathBuf,
    /// Model name.
    pub model: String,
    /// When to ask before running commands.
    pub approval_policy: AskForApproval,
    /// What commands may touch.
    pub sandbox_policy: SandboxPolicy,
    /// Reasoning effort, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<ReasoningEffort>,
    /// Reasoning summary mode, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ReasoningSummary>,
}

impl TurnContext {
    /// Apply an override: every field present replaces the current one.
    pub fn apply(&mut self, o: &TurnContextOverride) {
        if let Some(cwd) = &o.cwd {
            self.cwd.clone_from(cwd);
        }
        if let Some(p) = o.approval_policy {
            self.approval_policy = p;
        }
        if let Some(s) = &o.sandbox_policy {
            self.sandbox_policy = s.clone();
        }
        if let Some(m) = &o.model {
            self.model.clone_from(m);
        }
        if o.effort.is_some() {
            self.effort = o.effort;
        }
        if o.summary.is_some() {
            self.summary = o.summary;
        }
    }
}

/// Session-long data.
#[derive(Debug, Clone)]
pub struct SessionState {
    history: ConversationHistory,
    /// Every tool-call id the session has recorded, kept across compaction, so an id is never
    /// reused for a different call.
    call_ids: HashSet<String>,
    approved_for_session: HashSet<Vec<String>>,
    tokens: TokenAccounting,
    rate_limits: Option<RateLimitSnapshot>,
    context: TurnContext,
}

impl SessionState {
    /// A new session in `context`, for a model with the given context window.
    pub fn new(context: TurnContext, context_window: Option<u64>) -> Self {
        Self {
            history: ConversationHistory::new(),
            call_ids: HashSet::new(),
            approved_for_session: HashSet::new(),
            tokens: TokenAccounting::new(context_window),
            rate_limits: None,
            context,
        }
    }

    /// Put back what a recording held: history, token totals and session approvals.
    pub fn restore(
        &mut self,
        items: impl IntoIterator<Item = Arc<HistoryItem>>,
        tokens: Option<TokenUsageInfo>,
        approved: impl IntoIterator<Item = Vec<String>>,
    ) {
        let items: Vec<Arc<HistoryItem>> = items.into_iter().collect();
        self.note_call_ids(&items);
        self.history.record_shared(items);
        if let Some(info) = tokens {
            let window = self.tokens.context_window();
            self.tokens = TokenAccounting::restored(info);
            if window.is_some() {
                self.tokens.set_context_window(window);
            }
        }
        self.approved_for_session.extend(approved);
    }

    /// The history.
    pub fn history(&self) -> &ConversationHistory {
        &self.history
    }

    /// A snapshot of the history; O(1).
    pub fn history_snapshot(&self) -> HistorySnapshot {
        self.history.snapshot()
    }

    /// Append items to history; returns them as stored (with their JSON).
    pub fn record_items(
        &mut self,
        items: impl IntoIterator<Item = ResponseItem>,
    ) -> Vec<Arc<HistoryItem>> {
        let stored = self.history.record_items(items);
        self.note_call_ids(&stored);
        stored
    }

    /// Answer every tool call of history that has no output (a recording cut mid-call) with
    /// `output(call_id)`; returns the outputs appended.
    pub fn close_open_calls(&mut self, output: impl Fn(&str) -> String) -> Vec<Arc<HistoryItem>> {
        self.history.close_open_calls(output)
    }

    /// Whether a tool call with this id was ever recorded in this session (compaction included).
    pub fn has_call_id(&self, call_id: &str) -> bool {
        self.call_ids.contains(call_id)
    }

    fn note_call_ids(&mut self, items: &[Arc<HistoryItem>]) {
        for item in items {
            if let Some(id) = item.call_id() {
                self.call_ids.insert(id.into_owned());
            }
        }
    }

    /// Replace the history (compaction); returns the new items as stored.
    pub fn replace_history(
        &mut self,
        items: impl IntoIterator<Item = ResponseItem>,
    ) -> Vec<Arc<HistoryItem>> {
        self.history.replace(items);
        self.history.snapshot().items().to_vec()
    }

    /// Remember that `argv` may run again this session without asking.
    pub fn approve_for_session(&mut self, argv: Vec<String>) {
        self.approved_for_session.insert(argv);
    }

    /// Whether exactly this `argv` was approved for the session.
    pub fn is_approved_for_session(&self, argv: &[String]) -> bool {
        self.approved_for_session.contains(argv)
    }

    /// The commands approved for the session, sorted.
    pub fn approved_commands(&self) -> Vec<Vec<String>> {
        let mut v: Vec<_> = self.approved_for_session.iter().cloned().collect();
        v.sort();
        v
    }

    /// Record a model response's usage; returns the `token_count` info.
    pub fn record_token_usage(&mut self, usage: &TokenUsage) -> TokenUsageInfo {
        self.tokens.record(usage);
        self.tokens.info()
    }

    /// The token accounting.
    pub fn tokens(&self) -> &TokenAccounting {
        &self.tokens
    }

    /// Remember the provider's latest rate limits.
    pub fn set_rate_limits(&mut self, limits: RateLimitSnapshot) {
        self.rate_limits = Some(limits);
    }

    /// The provider's latest rate limits.
    pub fn rate_limits(&self) -> Option<RateLimitSnapshot> {
        self.rate_limits
    }

    /// The current turn context.
    pub fn context(&self) -> &TurnContext {
        &self.context
    }

    /// Apply an override to the turn context, for this and later turns.
    pub fn override_context(&mut self, o: &TurnContextOverride) {
        self.context.apply(o);
    }

    /// Replace the turn context (from `user_turn`).
    pub fn set_context(&mut self, context: TurnContext) {
        self.context = context;
    }

    /// Change the model's context window (the model changed).
    pub fn set_context_window(&mut self, window: Option<u64>) {
        self.tokens.set_context_window(window);
    }
}

#[cfg(test)]
mod tests;
