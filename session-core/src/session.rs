//! The `Session` façade: submissions in, events out.
//!
//! `Session` owns the event receiver and a `Submitter`; the submission loop runs on its own task
//! and dispatches each submission in order. Events are never dropped: the event channel is
//! unbounded and only the owner of the session reads it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{FutureExt, Stream};
use session_services::{SessionMeta, SessionServices};
use session_state::{
    ApprovalKind, Event, EventMsg, InputItem, ItemKind, Op, ReviewDecision, SessionState,
    Submission, TaskKind, TurnAbortReason, TurnContext,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::SessionConfig;
use crate::error::SessionError;
use crate::guard::Reporter;
use crate::inner::{Parts, SessionInner, SpawnTurn};
use crate::policy;
use crate::registry::Tools;

/// Sends submissions to a session; cheap to clone and to move to other tasks.
#[derive(Debug, Clone)]
pub struct Submitter {
    tx: mpsc::Sender<Submission>,
    next_id: Arc<AtomicU64>,
}

impl Submitter {
    /// Submit an operation under a fresh id; returns the id.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn submit(&self, op: Op) -> Result<String, SessionError> {
        let id = format!("sub-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        self.submit_with_id(Submission { id: id.clone(), op })
            .await?;
        Ok(id)
    }

    /// Submit with a client-chosen id.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn submit_with_id(&self, submission: Submission) -> Result<(), SessionError> {
        self.tx
            .send(submission)
            .await
            .map_err(|_| SessionError::Closed)
    }

    /// Send text from the user (starts a turn, or joins the running one).
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn user_input(&self, text: impl Into<String>) -> Result<String, SessionError> {
        self.submit(Op::UserInput {
            items: vec![InputItem::Text { text: text.into() }],
        })
        .await
    }

    /// Answer a command approval request.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn approve_exec(
        &self,
        call_id: impl Into<String>,
        decision: ReviewDecision,
    ) -> Result<String, SessionError> {
        self.submit(Op::ExecApproval {
            id: call_id.into(),
            decision,
        })
        .await
    }

    /// Answer a patch approval request.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn approve_patch(
        &self,
        call_id: impl Into<String>,
        decision: ReviewDecision,
    ) -> Result<String, SessionError> {
        self.submit(Op::PatchApproval {
            id: call_id.into(),
            decision,
        })
        .await
    }

    /// Interrupt the running turn, if any.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn interrupt(&self) -> Result<String, SessionError> {
        self.submit(Op::Interrupt).await
    }
}

/// A running session.
pub struct Session {
    id: String,
    rollout_path: PathBuf,
    submitter: Submitter,
    events: mpsc::UnboundedReceiver<Event>,
    loop_task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("rollout_path", &self.rollout_path)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Start a new session. The first event is `session_configured`.
    ///
    /// # Errors
    ///
    /// [`SessionError::SandboxUnavailable`] for a confining sandbox mode that the services'
    /// sandbox cannot enforce; [`SessionError::Recorder`] when the recording cannot be started.
    pub async fn spawn(
        config: SessionConfig,
        services: SessionServices,
    ) -> Result<Self, SessionError> {
        Self::spawn_with_tools(config, services, Tools::builtin()).await
    }

    /// Start a new session offering the model `tools` (for example
    /// `Tools::builtin().with(Arc::new(MyTool))`).
    ///
    /// # Errors
    ///
    /// As [`Session::spawn`].
    pub async fn spawn_with_tools(
        config: SessionConfig,
        services: SessionServices,
        tools: Tools,
    ) -> Result<Self, SessionError> {
        Self::spawn_with(config, services, tools, spawn_turn).await
    }

    /// Start a new session whose turns' tasks `spawn_turn` starts.
    async fn spawn_with(
        config: SessionConfig,
        services: SessionServices,
        tools: Tools,
        spawn_turn: SpawnTurn,
    ) -> Result<Self, SessionError> {
        let reporter = Reporter::default();
        let services = crate::guard::wrap(services, &reporter);
        let context = context_of(&config, &services)?;
        let id = config
            .session_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let meta = SessionMeta {
            id: id.clone(),
            timestamp: session_services::format_timestamp(std::time::SystemTime::now()),
            cwd: config.cwd.clone(),
            model: config.model.clone(),
            model_provider: config.model_provider.clone(),
            cli_version: config.cli_version.clone(),
        };
        let path = services.recorder.start(meta).await?;
        let env = policy::environment_context(
            &context,
            &services.shell.user_shell().path,
            &config.protected_paths,
        );
        let mut state = SessionState::new(context, config.context_window);
        // The initial context: the user's instructions for the project, then where we work.
        let instructions = config
            .user_instructions
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(crate::markers::user_instructions_item);
        let initial: Vec<_> = instructions
            .into_iter()
            .chain([env])
            .map(crate::redact::item)
            .collect();
        state.record_items(initial);
        services
            .recorder
            .record(
                state
                    .history_snapshot()
                    .items()
                    .iter()
                    .cloned()
                    .map(session_services::RolloutItem::ResponseItem)
                    .collect(),
            )
            .await?;
        let extras = Extras {
            tools,
            reporter,
            spawn_turn,
        };
        Ok(Self::assemble(
            id, config, services, path, state, None, extras,
        ))
    }

    /// Continue a recorded session: history, token totals and session approvals come back, and
    /// new lines are appended to the same recording. `session_configured` carries the replayed
    /// events.
    ///
    /// # Errors
    ///
    /// [`SessionError::SandboxUnavailable`] as for [`Session::spawn`];
    /// [`SessionError::Recorder`] when the recording cannot be read or reopened.
    pub async fn resume(
        config: SessionConfig,
        services: SessionServices,
        path: &Path,
    ) -> Result<Self, SessionError> {
        Self::resume_with_tools(config, services, path, Tools::builtin()).await
    }

    /// Continue a recorded session offering the model `tools`.
    ///
    /// # Errors
    ///
    /// As [`Session::resume`].
    pub async fn resume_with_tools(
        config: SessionConfig,
        services: SessionServices,
        path: &Path,
        tools: Tools,
    ) -> Result<Self, SessionError> {
        let reporter = Reporter::default();
        let services = crate::guard::wrap(services, &reporter);
        let context = context_of(&config, &services)?;
        let resumed = services.recorder.resume(path).await?;
        let id = resumed
            .meta
            .as_ref()
            .map(|m| m.id.clone())
            .or_else(|| config.session_id.clone())
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let mut state = SessionState::new(context, config.context_window);
        state.restore(
            resumed.history,
            resumed.token_info,
            resumed.approved_commands,
        );
        // A recording cut off mid-turn can end with tool calls that never got their output;
        // answer them now, in history and in the recording, so every request stays well formed.
        let closing = state.close_open_calls(|_| UNFINISHED_CALL_OUTPUT.to_owned());
        if !closing.is_empty() {
            services
                .recorder
                .record(
                    closing
                        .into_iter()
                        .map(session_services::RolloutItem::ResponseItem)
                        .collect(),
                )
                .await?;
        }
        Ok(Self::assemble(
            id,
            config,
            services,
            resumed.path,
            state,
            Some(resumed.events),
            Extras {
                tools,
                reporter,
                spawn_turn,
            },
        ))
    }

    fn assemble(
        id: String,
        config: SessionConfig,
        services: SessionServices,
        path: PathBuf,
        state: SessionState,
        replayed: Option<Vec<EventMsg>>,
        extras: Extras,
    ) -> Self {
        let Extras {
            tools,
            reporter,
            spawn_turn,
        } = extras;
        let (tx_event, events) = mpsc::unbounded_channel();
        reporter.connect(tx_event.clone());
        let (tx_sub, rx_sub) = mpsc::channel(config.submission_queue_capacity.max(1));
        let model = config.model.clone();
        let context = state.context().clone();
        let id_for_handle = id.clone();
        let path_for_handle = path.clone();
        // A new session recorded its environment context already; a resumed one tells the
        // model its current context before its first new turn, unless the recording's last
        // environment context already says exactly that.
        let announced = match &replayed {
            None => Some(context.clone()),
            Some(_) => {
                let current = policy::environment_context(
                    &context,
                    &services.shell.user_shell().path,
                    &config.protected_paths,
                )
                .message_text();
                let history = state.history_snapshot();
                // Only messages are parsed, newest first, until the last environment context.
                let last = history
                    .items()
                    .iter()
                    .rev()
                    .filter(|h| h.kind() == ItemKind::Message)
                    .find_map(|h| {
                        h.item()
                            .message_text()
                            .filter(|t| t.starts_with(crate::markers::ENVIRONMENT_TAG))
                    });
                (last.is_some() && last == current).then(|| context.clone())
            }
        };
        // First, before anything a port may report (MCP servers starting, say).
        let _ = tx_event.send(Event {
            id: String::new(),
            msg: crate::redact::event(EventMsg::SessionConfigured {
                session_id: id.clone(),
                model,
                rollout_path: path.clone(),
                approval_policy: context.approval_policy,
                sandbox_policy: context.sandbox_policy.clone(),
                initial_messages: replayed.clone(),
            }),
        });
        #[cfg(feature = "mcp")]
        let mcp = start_mcp(&config, &reporter);
        let inner = Arc::new(SessionInner::new(Parts {
            id: id.clone(),
            config,
            services,
            rollout_path: path.clone(),
            tools,
            state,
            tx_event,
            announced,
            spawn_turn,
            reporter,
            #[cfg(feature = "mcp")]
            mcp,
        }));
        let loop_task = tokio::spawn(submission_loop(inner, rx_sub));
        Self {
            id: id_for_handle,
            rollout_path: path_for_handle,
            submitter: Submitter {
                tx: tx_sub,
                next_id: Arc::new(AtomicU64::new(1)),
            },
            events,
            loop_task: Some(loop_task),
        }
    }

    /// The session's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the session is recorded.
    pub fn rollout_path(&self) -> &Path {
        &self.rollout_path
    }

    /// A handle for submitting from elsewhere.
    pub fn submitter(&self) -> Submitter {
        self.submitter.clone()
    }

    /// Submit an operation under a fresh id; returns the id.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn submit(&self, op: Op) -> Result<String, SessionError> {
        self.submitter.submit(op).await
    }

    /// Submit with a client-chosen id.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn submit_with_id(&self, submission: Submission) -> Result<(), SessionError> {
        self.submitter.submit_with_id(submission).await
    }

    /// Send text from the user.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn user_input(&self, text: impl Into<String>) -> Result<String, SessionError> {
        self.submitter.user_input(text).await
    }

    /// Answer a command approval request.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn approve_exec(
        &self,
        call_id: impl Into<String>,
        decision: ReviewDecision,
    ) -> Result<String, SessionError> {
        self.submitter.approve_exec(call_id, decision).await
    }

    /// Answer a patch approval request.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn approve_patch(
        &self,
        call_id: impl Into<String>,
        decision: ReviewDecision,
    ) -> Result<String, SessionError> {
        self.submitter.approve_patch(call_id, decision).await
    }

    /// Interrupt the running turn, if any.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session has ended.
    pub async fn interrupt(&self) -> Result<String, SessionError> {
        self.submitter.interrupt().await
    }

    /// The next event; `None` once the session has ended and every event was read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: no event is lost if the future is dropped.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Whether events are waiting to be read, so a front-end can batch its output and flush
    /// only when it has caught up.
    pub fn has_buffered_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The events as a stream (borrowing the session).
    pub fn events(&mut self) -> impl Stream<Item = Event> + '_ {
        futures_util::stream::poll_fn(move |cx| self.events.poll_recv(cx))
    }

    /// Shut down: abort any turn, make the recording durable, and wait for the session to end.
    /// Events up to `shutdown_complete` stay readable.
    ///
    /// # Errors
    ///
    /// [`SessionError::Closed`] when the session had already ended.
    pub async fn shutdown(&mut self) -> Result<(), SessionError> {
        self.submitter.submit(Op::Shutdown).await?;
        if let Some(task) = self.loop_task.take()
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "submission loop failed");
        }
        Ok(())
    }
}

/// Start the configured MCP servers; their startup is reported as `mcp_startup_update`.
#[cfg(feature = "mcp")]
fn start_mcp(
    config: &SessionConfig,
    reporter: &Reporter,
) -> Option<Arc<session_services::mcp::McpManager>> {
    use session_services::mcp::{McpManager, McpStatus};
    use session_state::McpStartupStatus;
    if config.mcp_servers.values().all(|s| !s.enabled) {
        return None;
    }
    let reporter = reporter.clone();
    let on_status = Arc::new(move |server: &str, status: &McpStatus| {
        let status = match status {
            McpStatus::Ready { tools } => McpStartupStatus::Ready {
                tools: tools.clone(),
            },
            McpStatus::Failed { error } => McpStartupStatus::Failed {
                error: error.clone(),
            },
            _ => McpStartupStatus::Starting,
        };
        reporter.send(EventMsg::McpStartupUpdate {
            server: server.to_owned(),
            status,
        });
    });
    Some(McpManager::start(config.mcp_servers.clone(), on_status))
}

/// What a session is started with besides its configuration and services.
struct Extras {
    tools: Tools,
    reporter: Reporter,
    /// Starts a turn's task: [`spawn_turn`], unless a test starts them its own way.
    spawn_turn: SpawnTurn,
}

/// Start the task of a turn.
fn spawn_turn(
    inner: Arc<SessionInner>,
    turn: session_state::ActiveTurn,
    input: Vec<InputItem>,
) -> JoinHandle<()> {
    tokio::spawn(crate::turn::run_turn(inner, turn, input))
}

/// What the model sees for a call a resumed recording left without output.
const UNFINISHED_CALL_OUTPUT: &str =
    "aborted: the session ended before this call finished; it may or may not have run";

/// The session's starting context, with the policies it runs under.
fn context_of(
    config: &SessionConfig,
    services: &SessionServices,
) -> Result<TurnContext, SessionError> {
    let (approval_policy, sandbox_policy) = policy::effective(config, &services.sandbox.support())?;
    Ok(TurnContext {
        cwd: config.cwd.clone(),
        model: config.model.clone(),
        approval_policy,
        sandbox_policy,
        effort: config.effort,
        summary: config.summary,
    })
}

/// Handle submissions in order until shutdown or until every submitter is gone.
async fn submission_loop(inner: Arc<SessionInner>, mut rx: mpsc::Receiver<Submission>) {
    let mut shutdown_id = String::new();
    while let Some(sub) = rx.recv().await {
        if let Op::Shutdown = sub.op {
            shutdown_id = sub.id;
            break;
        }
        let id = sub.id.clone();
        let handled = std::panic::AssertUnwindSafe(handle_submission(&inner, sub))
            .catch_unwind()
            .await;
        if let Err(payload) = handled {
            // Nothing can be trusted after this: end the session, durably, and close the
            // event stream.
            let message = format!(
                "the session's submission loop panicked handling submission {id}: {}; the session has ended",
                crate::guard::panic_text(payload.as_ref())
            );
            inner.emit(&id, EventMsg::Error { message }).await;
            inner.begin_shutdown();
            inner.abort_turn(TurnAbortReason::Interrupted).await;
            inner.wait_for_idle_task().await;
            let _ = inner.services.recorder.shutdown().await;
            return;
        }
    }
    inner.begin_shutdown();
    inner.abort_turn(TurnAbortReason::Interrupted).await;
    inner.wait_for_idle_task().await;
    #[cfg(feature = "mcp")]
    if let Some(mcp) = &inner.mcp {
        mcp.shutdown().await;
    }
    if let Err(e) = inner.services.recorder.shutdown().await {
        inner
            .emit(
                &shutdown_id,
                EventMsg::Error {
                    message: format!("could not make the recording durable: {e}"),
                },
            )
            .await;
    }
    inner.emit_now(&shutdown_id, EventMsg::ShutdownComplete);
}

async fn handle_submission(inner: &Arc<SessionInner>, sub: Submission) {
    let Submission { id, op } = sub;
    match op {
        Op::UserInput { items } => start_or_queue(inner, id, items).await,
        Op::UserTurn {
            items,
            cwd,
            approval_policy,
            sandbox_policy,
            model,
            effort,
            summary,
        } => {
            let support = inner.services.sandbox.support();
            if let Err(e) = policy::check_enforceable(&sandbox_policy, &support) {
                return error(inner, &id, e.to_string()).await;
            }
            inner.set_context(TurnContext {
                cwd,
                model,
                approval_policy,
                sandbox_policy,
                effort,
                summary,
            });
            start_or_queue(inner, id, items).await;
        }
        Op::OverrideTurnContext(o) => {
            if let Some(sandbox) = &o.sandbox_policy
                && let Err(e) =
                    policy::check_enforceable(sandbox, &inner.services.sandbox.support())
            {
                return error(inner, &id, e.to_string()).await;
            }
            inner.override_context(&o);
        }
        Op::Interrupt => {
            inner.abort_turn(TurnAbortReason::Interrupted).await;
        }
        Op::ExecApproval {
            id: call_id,
            decision,
        } => {
            approval(inner, &id, &call_id, ApprovalKind::Exec, decision).await;
        }
        Op::PatchApproval {
            id: call_id,
            decision,
        } => {
            approval(inner, &id, &call_id, ApprovalKind::Patch, decision).await;
        }
        Op::Compact => {
            inner.wait_for_idle_task().await;
            if inner.has_active_turn() {
                return error(
                    inner,
                    &id,
                    "cannot compact while a turn is running".to_owned(),
                )
                .await;
            }
            inner.start_turn(id, TaskKind::Compact, Vec::new());
        }
        Op::GetPath => {
            inner.emit_now(
                &id,
                EventMsg::ConversationPath {
                    conversation_id: inner.id.clone(),
                    path: inner.rollout_path.clone(),
                },
            );
        }
        Op::Shutdown => {}
        _ => error(inner, &id, "unsupported operation".to_owned()).await,
    }
}

async fn start_or_queue(inner: &Arc<SessionInner>, id: String, items: Vec<InputItem>) {
    if items.is_empty() || items.iter().all(InputItem::is_blank) {
        return error(inner, &id, "input is empty".to_owned()).await;
    }
    let items = match inner.queue_input(&id, items) {
        Ok(()) => return,
        Err(items) => items,
    };
    // A turn that just ended may still be finalizing (and may start the next turn with input
    // queued during its last request): let it finish first so turns never interleave.
    inner.wait_for_idle_task().await;
    if let Err(items) = inner.queue_input(&id, items) {
        inner.start_turn(id, TaskKind::Regular, items);
    }
}

async fn approval(
    inner: &SessionInner,
    sub_id: &str,
    call_id: &str,
    kind: ApprovalKind,
    decision: ReviewDecision,
) {
    if let Err(e) = inner.resolve_approval(call_id, kind, decision) {
        error(inner, sub_id, e.to_string()).await;
    }
}

async fn error(inner: &SessionInner, sub_id: &str, message: String) {
    inner.emit(sub_id, EventMsg::Error { message }).await;
}

#[cfg(test)]
mod tests;
