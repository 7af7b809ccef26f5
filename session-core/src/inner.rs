//! `SessionInner`: the state a session shares between its submission loop and its turn task.
//!
//! It owns `Mutex<SessionState>`, the running turn (`Mutex<RunningTurn>`: the `ActiveTurn` and
//! its task, together) and the services. No other module touches those mutexes: they call the
//! named methods here, none of which holds a lock across an `.await`. This is also the one place
//! that finalizes a turn. It does not know how a turn runs: the session gives it the function
//! that spawns a turn's task.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use session_services::{Notification, RolloutItem, SessionServices, is_recorded_event};
use session_state::{
    ActiveTurn, ApprovalKind, CleanupReport, Event, EventMsg, HistorySnapshot, InputItem,
    ResponseItem, ReviewDecision, SessionState, StateError, TaskKind, TokenUsage, TokenUsageInfo,
    TurnAbortReason, TurnContext, TurnState,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::SessionConfig;
use crate::guard::Reporter;
use crate::outcome::TurnEnd;
use crate::registry::Tools;

/// Starts the task of a turn: given by the session, which knows how turns run.
pub(crate) type SpawnTurn = fn(Arc<SessionInner>, ActiveTurn, Vec<InputItem>) -> JoinHandle<()>;

/// The running turn and its task, changed together under one lock. After a turn ends by
/// itself `active` is empty while `task` may still be finishing.
#[derive(Debug, Default)]
struct RunningTurn {
    active: Option<ActiveTurn>,
    task: Option<JoinHandle<()>>,
    /// Set once shutdown begins: no turn starts after it.
    shutting_down: bool,
}

pub(crate) struct SessionInner {
    pub(crate) id: String,
    pub(crate) config: SessionConfig,
    pub(crate) services: SessionServices,
    pub(crate) rollout_path: PathBuf,
    pub(crate) tools: Tools,
    /// Where the guarded ports report their panics.
    pub(crate) reporter: Reporter,
    /// The MCP servers, when any are configured.
    #[cfg(feature = "mcp")]
    pub(crate) mcp: Option<Arc<session_services::mcp::McpManager>>,
    /// Set once a turn has waited for the MCP servers to start.
    #[cfg(feature = "mcp")]
    pub(crate) mcp_waited: std::sync::atomic::AtomicBool,
    tx_event: mpsc::UnboundedSender<Event>,
    state: Mutex<SessionState>,
    running: Mutex<RunningTurn>,
    spawn_turn: SpawnTurn,
    epoch: Instant,
    /// The context the model was last told of in an environment context item.
    announced: Mutex<Option<TurnContext>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a session is made of, for [`SessionInner::new`].
pub(crate) struct Parts {
    pub(crate) id: String,
    pub(crate) config: SessionConfig,
    pub(crate) services: SessionServices,
    pub(crate) rollout_path: PathBuf,
    pub(crate) tools: Tools,
    pub(crate) state: SessionState,
    pub(crate) tx_event: mpsc::UnboundedSender<Event>,
    pub(crate) announced: Option<TurnContext>,
    pub(crate) spawn_turn: SpawnTurn,
    pub(crate) reporter: Reporter,
    #[cfg(feature = "mcp")]
    pub(crate) mcp: Option<Arc<session_services::mcp::McpManager>>,
}

impl SessionInner {
    pub(crate) fn new(parts: Parts) -> Self {
        Self {
            id: parts.id,
            config: parts.config,
            services: parts.services,
            rollout_path: parts.rollout_path,
            tools: parts.tools,
            reporter: parts.reporter,
            #[cfg(feature = "mcp")]
            mcp: parts.mcp,
            #[cfg(feature = "mcp")]
            mcp_waited: std::sync::atomic::AtomicBool::new(false),
            tx_event: parts.tx_event,
            state: Mutex::new(parts.state),
            running: Mutex::new(RunningTurn::default()),
            spawn_turn: parts.spawn_turn,
            epoch: Instant::now(),
            announced: Mutex::new(parts.announced),
        }
    }

    /// Milliseconds since the session started, on a monotonic clock.
    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    // ---- events -------------------------------------------------------------------------

    /// Send an event that is never recorded (deltas); no await. Every event leaves the session
    /// here, so this is where secrets are redacted from them.
    pub(crate) fn emit_now(&self, sub_id: &str, msg: EventMsg) {
        // The receiver is gone only when the owner dropped the session; nothing to tell then.
        let _ = self.tx_event.send(Event {
            id: sub_id.to_owned(),
            msg: crate::redact::event(msg),
        });
    }

    /// Send an event, recording it first when it belongs in the recording.
    pub(crate) async fn emit(&self, sub_id: &str, msg: EventMsg) {
        if is_recorded_event(&msg) {
            self.record(vec![RolloutItem::Event(msg.clone())]).await;
        }
        self.emit_now(sub_id, msg);
    }

    /// Write lines to the recording; a failure is reported as an `error` event, not raised.
    pub(crate) async fn record(&self, lines: Vec<RolloutItem>) {
        let lines = lines.into_iter().map(crate::redact::line).collect();
        if let Err(e) = self.services.recorder.record(lines).await {
            tracing::warn!(error = %e, "recording failed");
            self.emit_now(
                "",
                EventMsg::Error {
                    message: format!("recording failed: {e}"),
                },
            );
        }
    }

    /// Flush the recording (turn boundary).
    pub(crate) async fn flush_recording(&self) {
        if let Err(e) = self.services.recorder.flush().await {
            tracing::warn!(error = %e, "flushing the recording failed");
            self.emit_now(
                "",
                EventMsg::Error {
                    message: format!("flushing the recording failed: {e}"),
                },
            );
        }
    }

    // ---- session state ------------------------------------------------------------------

    /// Append items to history and to the recording, in order.
    pub(crate) async fn record_items(&self, items: Vec<ResponseItem>) {
        if items.is_empty() {
            return;
        }
        // What enters history is what the model is sent later: no secret in it.
        let items: Vec<ResponseItem> = items.into_iter().map(crate::redact::item).collect();
        let stored = lock(&self.state).record_items(items);
        self.record(stored.into_iter().map(RolloutItem::ResponseItem).collect())
            .await;
    }

    /// Replace history (compaction) and record the marker and the new items.
    pub(crate) async fn replace_history(&self, summary: String, items: Vec<ResponseItem>) {
        let items: Vec<ResponseItem> = items.into_iter().map(crate::redact::item).collect();
        let stored = lock(&self.state).replace_history(items);
        let mut lines = Vec::with_capacity(stored.len() + 1);
        lines.push(RolloutItem::Compacted(session_services::CompactedItem {
            message: summary,
        }));
        lines.extend(stored.into_iter().map(RolloutItem::ResponseItem));
        self.record(lines).await;
    }

    pub(crate) fn history_snapshot(&self) -> HistorySnapshot {
        lock(&self.state).history_snapshot()
    }

    pub(crate) fn context(&self) -> TurnContext {
        lock(&self.state).context().clone()
    }

    pub(crate) fn set_context(&self, context: TurnContext) {
        lock(&self.state).set_context(context);
    }

    pub(crate) fn override_context(&self, o: &session_state::TurnContextOverride) {
        lock(&self.state).override_context(o);
    }

    /// The current context, when the model has not been told of it yet (it changed since the
    /// last environment context, or the session was resumed); it counts as told from now on.
    pub(crate) fn context_to_announce(&self) -> Option<TurnContext> {
        let current = self.context();
        let mut announced = lock(&self.announced);
        let changed = announced
            .as_ref()
            .is_none_or(|told| crate::policy::announced_differently(told, &current));
        if changed {
            *announced = Some(current.clone());
            Some(current)
        } else {
            None
        }
    }

    pub(crate) fn context_window(&self) -> Option<u64> {
        lock(&self.state).tokens().context_window()
    }

    /// Record a response's usage; returns the `token_count` info and the tokens in context.
    pub(crate) fn record_token_usage(&self, usage: &TokenUsage) -> (TokenUsageInfo, u64) {
        let mut state = lock(&self.state);
        let info = state.record_token_usage(usage);
        (info, state.tokens().tokens_in_context())
    }

    pub(crate) fn set_rate_limits(&self, limits: session_state::RateLimitSnapshot) {
        lock(&self.state).set_rate_limits(limits);
    }

    pub(crate) fn rate_limits(&self) -> Option<session_state::RateLimitSnapshot> {
        lock(&self.state).rate_limits()
    }

    pub(crate) fn has_call_id(&self, call_id: &str) -> bool {
        lock(&self.state).has_call_id(call_id)
    }

    pub(crate) fn is_approved_for_session(&self, argv: &[String]) -> bool {
        lock(&self.state).is_approved_for_session(argv)
    }

    pub(crate) async fn approve_for_session(&self, argv: Vec<String>) {
        lock(&self.state).approve_for_session(argv.clone());
        self.record(vec![RolloutItem::ApprovedCommand(argv)]).await;
    }

    // ---- the active turn ----------------------------------------------------------------

    /// Run `f` on the running turn's state, if a turn runs.
    fn with_active<R>(&self, f: impl FnOnce(&ActiveTurn) -> R) -> Option<R> {
        lock(&self.running).active.as_ref().map(f)
    }

    /// Remember what the user said in the running turn (for the turn-complete notification).
    pub(crate) fn note_turn_input(&self, turn: &ActiveTurn, text: String) {
        turn.with_state(|s| s.note_input(text));
    }

    pub(crate) fn has_active_turn(&self) -> bool {
        lock(&self.running).active.is_some()
    }

    /// Queue input into the running turn; gives the items back when no turn runs. Input queued
    /// into a compact turn starts a regular turn when the compaction ends.
    pub(crate) fn queue_input(
        &self,
        sub_id: &str,
        items: Vec<InputItem>,
    ) -> Result<(), Vec<InputItem>> {
        let running = lock(&self.running);
        match running.active.as_ref() {
            Some(turn) => {
                turn.with_state(|s| s.queue_input_from(sub_id, items));
                Ok(())
            }
            None => Err(items),
        }
    }

    /// Deliver an approval decision to the running turn.
    pub(crate) fn resolve_approval(
        &self,
        call_id: &str,
        kind: ApprovalKind,
        decision: ReviewDecision,
    ) -> Result<(), StateError> {
        self.with_active(|turn| turn.with_state(|s| s.resolve_approval(call_id, kind, decision)))
            .unwrap_or_else(|| {
                Err(StateError::NoSuchApproval {
                    call_id: call_id.to_owned(),
                })
            })
    }

    /// Start a turn and its task. The caller (the submission loop, before shutdown begins) has
    /// made sure no turn runs.
    pub(crate) fn start_turn(
        self: &Arc<Self>,
        sub_id: String,
        kind: TaskKind,
        input: Vec<InputItem>,
    ) {
        let started = self.try_start_turn(sub_id, kind, input);
        debug_assert!(
            started.is_ok(),
            "the loop started a turn after shutdown began"
        );
    }

    /// Start a turn and its task unless shutdown has begun; gives the input back then. The
    /// turn and its task are installed under one lock, with the shutdown flag checked under it:
    /// "installed before shutdown" or "refused" are the only outcomes.
    fn try_start_turn(
        self: &Arc<Self>,
        sub_id: String,
        kind: TaskKind,
        input: Vec<InputItem>,
    ) -> Result<(), Vec<InputItem>> {
        let cwd = self.context().cwd;
        let mut running = lock(&self.running);
        if running.shutting_down {
            return Err(input);
        }
        debug_assert!(
            running.active.is_none(),
            "a turn was started while another runs"
        );
        let turn = ActiveTurn::new(sub_id, kind, TurnState::new(Some(cwd)));
        // The task starts before the turn is installed (under the same lock, so no one sees
        // the difference): should starting it panic, no turn is left behind that never began.
        let task = (self.spawn_turn)(Arc::clone(self), turn.clone(), input);
        running.active = Some(turn);
        running.task = Some(task);
        Ok(())
    }

    /// When no turn is active, wait for the last turn task to end (it may still be
    /// finalizing). Never waits for a running turn.
    pub(crate) async fn wait_for_idle_task(&self) {
        let handle = {
            let mut running = lock(&self.running);
            if running.active.is_some() {
                None
            } else {
                running.task.take()
            }
        };
        join(handle).await;
    }

    /// Interrupt the running turn, if any, and finalize it. Returns whether one ran.
    pub(crate) async fn abort_turn(self: &Arc<Self>, reason: TurnAbortReason) -> bool {
        let taken = {
            let mut running = lock(&self.running);
            let turn = running.active.take();
            turn.map(|t| (t, running.task.take()))
        };
        let Some((turn, handle)) = taken else {
            return false;
        };
        turn.cancel_token().cancel();
        join(handle).await;
        self.finalize(turn, Some(reason)).await;
        true
    }

    /// Stop starting turns from leftover input; used once shutdown begins. A finishing turn
    /// either installed its successor before this (and shutdown aborts it) or sees the flag and
    /// starts nothing.
    pub(crate) fn begin_shutdown(&self) {
        lock(&self.running).shutting_down = true;
    }

    /// Called by a turn task when it ends by itself.
    pub(crate) async fn task_finished(self: &Arc<Self>, sub_id: &str, end: TurnEnd) {
        let reason = match end {
            TurnEnd::Cancelled => return,
            TurnEnd::Completed => None,
            TurnEnd::AbortRequested => Some(TurnAbortReason::Interrupted),
        };
        let turn = {
            let mut running = lock(&self.running);
            match running.active.as_ref() {
                Some(t) if t.sub_id() == sub_id => running.active.take(),
                _ => None,
            }
        };
        if let Some(turn) = turn {
            self.finalize(turn, reason).await;
        }
    }

    /// The one place a turn ends: clean up its state, record what closing it means, flush the
    /// recording, emit exactly one terminal event, and start the next turn with leftover input.
    async fn finalize(self: &Arc<Self>, turn: ActiveTurn, aborted: Option<TurnAbortReason>) {
        let now = self.now_ms();
        let (report, last_message) =
            turn.with_state(|s| (s.cleanup(now), s.last_agent_message().map(str::to_owned)));
        let CleanupReport {
            closed_calls,
            pending_input,
            queued_by,
            inputs,
            ..
        } = report;
        let mut closing: Vec<ResponseItem> = closed_calls
            .into_iter()
            .map(|item| match item {
                ResponseItem::FunctionCallOutput { call_id, output } => {
                    ResponseItem::FunctionCallOutput {
                        output: crate::truncate::for_model(&output).into_owned(),
                        call_id,
                    }
                }
                other => other,
            })
            .collect();
        if aborted.is_some() && turn.kind() == TaskKind::Regular {
            closing.push(crate::markers::interrupt_note());
        }
        self.record_items(closing).await;
        let sub_id = turn.sub_id().to_owned();
        let terminal = match aborted {
            Some(reason) => EventMsg::TurnAborted { reason },
            None => EventMsg::TaskComplete {
                last_agent_message: last_message.clone(),
            },
        };
        // Everything of the turn, its terminal event included, reaches the recording before
        // the front-end hears the turn ended.
        self.record(vec![RolloutItem::Event(terminal.clone())])
            .await;
        self.flush_recording().await;
        self.emit_now(&sub_id, terminal);
        if aborted.is_none() && turn.kind() == TaskKind::Regular {
            self.services
                .notifier
                .notify(&Notification::AgentTurnComplete {
                    thread_id: self.id.clone(),
                    turn_id: sub_id.clone(),
                    cwd: self.context().cwd,
                    input_messages: inputs,
                    last_assistant_message: last_message,
                });
        }
        if !pending_input.is_empty() {
            // The next turn answers the submission that queued the input.
            let next_id = queued_by.unwrap_or_default();
            if self
                .try_start_turn(next_id.clone(), TaskKind::Regular, pending_input)
                .is_err()
            {
                self.emit_now(
                    &next_id,
                    EventMsg::BackgroundEvent {
                        message:
                            "input queued for the turn was not sent: the session is shutting down"
                                .to_owned(),
                    },
                );
            }
        }
    }
}

async fn join(handle: Option<JoinHandle<()>>) {
    if let Some(h) = handle
        && let Err(e) = h.await
    {
        tracing::error!(error = %e, "turn task failed");
    }
}
