//! The connection: one [`Host`] per client, its sessions, and the handlers of each method.
//!
//! Handlers run in the SDK's dispatch loop, so they only look things up, submit, and hand
//! anything slow (starting a session, a prompt's answer, a permission request) to a task:
//! the loop must stay free to route the client's answers to our own requests. Each session
//! has one pump task that owns its event stream, turns events into `session/update`s in order,
//! and answers the prompt when its turn ends, after every update of that turn.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, AuthenticateRequest, AuthenticateResponse, CancelNotification,
    ClientCapabilities, ContentBlock, EmbeddedResourceResource, Implementation, InitializeRequest,
    InitializeResponse, LoadSessionRequest, LoadSessionResponse, McpCapabilities, McpServer,
    NewSessionRequest, NewSessionResponse, PermissionOption, PermissionOptionKind,
    PromptCapabilities, PromptRequest, PromptResponse, RequestPermissionOutcome,
    RequestPermissionRequest, SessionConfigOptionValue, SessionNotification, SessionUpdate,
    SetSessionConfigOptionRequest, SetSessionConfigOptionResponse, SetSessionModeRequest,
    SetSessionModeResponse, StopReason, ToolCallUpdate, ToolCallUpdateFields,
};
use agent_client_protocol::v1::{ConnectionTo, Responder};
use agent_client_protocol::{Agent, Client, ConnectTo, Error};
use session_core::services::mcp::McpServerConfig;
use session_core::services::{FileSystem, RealFileSystem};
use session_core::{
    AskForApproval, EventMsg, InputItem, Op, ReviewDecision, SandboxPolicy, Session, Submission,
    Submitter, TurnAbortReason, TurnContextOverride,
};

use crate::fs::ClientFs;
use crate::modes::{self, Preset};
use crate::translate::{self, Translator};
use crate::{AgentInfo, LoadError, SessionFactory, SessionSetup};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One client connection and its sessions.
struct Host {
    factory: Arc<dyn SessionFactory>,
    info: AgentInfo,
    client: Mutex<ClientCapabilities>,
    sessions: Mutex<HashMap<String, Arc<Live>>>,
    /// Each session's pump; awaited at the end so every recording is durable.
    pumps: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Sessions being started or loaded: awaited at the end before the pumps, so a session
    /// still opening when the input ends is shut down too.
    opening: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Ids being loaded, so two loads of one id cannot both open it.
    loading: Mutex<HashSet<String>>,
}

/// One running session.
struct Live {
    id: String,
    cwd: PathBuf,
    submitter: Submitter,
    /// Numbers the submissions the host makes, so their answers can be told apart.
    next: std::sync::atomic::AtomicU64,
    /// Where a patch's files are read from for their old text.
    fs: Arc<dyn FileSystem>,
    state: Mutex<LiveState>,
}

struct LiveState {
    /// Prompts whose turns have not ended, oldest first; a turn ends the oldest.
    prompts: VecDeque<Prompt>,
    mode: &'static str,
    /// The configured policy, described, when it is none of the presets.
    configured: Option<String>,
    /// That policy, to go back to.
    configured_policy: Option<(AskForApproval, SandboxPolicy)>,
    /// The submission id of the running turn (its `task_started`), whose `error`s are its own.
    turn: Option<String>,
    /// Context changes waiting to be confirmed, by the id of the barrier submitted after them.
    confirms: HashMap<String, Confirm>,
    model: String,
    /// Approval requests waiting for the client, by call id.
    waiting: HashSet<String>,
    /// What the user rejected for the whole session ("reject always").
    rejected: HashSet<String>,
    /// An `error` of the running turn: how its prompt is answered.
    error: Option<String>,
    /// Set once the session's event stream has ended.
    ended: bool,
}

struct Prompt {
    responder: Responder<PromptResponse>,
    cancelled: bool,
    /// Cancelled while another turn was still ending: its own turn must be interrupted when
    /// it starts (the cancel's interrupt went to the turn before).
    owes_interrupt: bool,
}

/// A context change in flight: the core answers a refused one with an `error` under its id,
/// and the barrier after it (a `get_path`) says it was handled.
struct Confirm {
    change_id: String,
    refused: Option<String>,
    done: tokio::sync::oneshot::Sender<Option<String>>,
}

impl Live {
    fn state(&self) -> MutexGuard<'_, LiveState> {
        lock(&self.state)
    }
}

fn not_found(id: &str) -> Error {
    error(
        Error::invalid_params(),
        format!("unknown session id `{id}`"),
    )
}

fn error(code: Error, message: impl Into<String>) -> Error {
    let message = message.into();
    Error::new(code.code, message)
}

pub(crate) async fn serve(
    factory: Arc<dyn SessionFactory>,
    info: AgentInfo,
    transport: impl ConnectTo<Agent> + 'static,
) -> Result<(), Error> {
    let host = Arc::new(Host {
        factory,
        info,
        client: Mutex::new(ClientCapabilities::default()),
        sessions: Mutex::new(HashMap::new()),
        pumps: Mutex::new(Vec::new()),
        opening: Mutex::new(Vec::new()),
        loading: Mutex::new(HashSet::new()),
    });
    let result = {
        // Each handler holds the host (the builder takes them by value).
        let [h1, h3, h4, h5, h6, h7, h8] = std::array::from_fn(|_| host.clone());
        Agent
            .v1()
            .name("session")
            .on_receive_request(
                async move |req: InitializeRequest, responder, _cx| {
                    responder.respond(h1.initialize(req))
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                // No authentication methods are offered; a client asking anyway is let in.
                async move |_req: AuthenticateRequest, responder, _cx| {
                    responder.respond(AuthenticateResponse::default())
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |req: NewSessionRequest, responder, cx| {
                    let host = h3.clone();
                    h3.track_opening(tokio::spawn(async move {
                        host.new_session(req, responder, cx).await;
                    }));
                    Ok(())
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |req: LoadSessionRequest, responder, cx| {
                    let host = h4.clone();
                    h4.track_opening(tokio::spawn(async move {
                        host.load_session(req, responder, cx).await;
                    }));
                    Ok(())
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |req: PromptRequest, responder, _cx| {
                    h5.prompt(req, responder).await;
                    Ok(())
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_notification(
                async move |note: CancelNotification, _cx| {
                    h6.cancel(&note.session_id.0).await;
                    Ok(())
                },
                agent_client_protocol::on_receive_notification!(),
            )
            .on_receive_request(
                async move |req: SetSessionModeRequest, responder, cx| {
                    // Waits for the session to confirm: not in the dispatch loop.
                    let host = h7.clone();
                    tokio::spawn(async move {
                        let _ = match host.set_mode(&req.session_id.0, &req.mode_id.0, &cx).await {
                            Ok(()) => responder.respond(SetSessionModeResponse::default()),
                            Err(e) => responder.respond_with_error(e),
                        };
                    });
                    Ok(())
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |req: SetSessionConfigOptionRequest, responder, cx| {
                    let host = h8.clone();
                    tokio::spawn(async move {
                        let _ = match host.set_config_option(&req, &cx).await {
                            Ok(response) => responder.respond(response),
                            Err(e) => responder.respond_with_error(e),
                        };
                    });
                    Ok(())
                },
                agent_client_protocol::on_receive_request!(),
            )
            .connect_to(transport)
            .await
    };
    host.shutdown_all().await;
    result
}

impl Host {
    /// Keep a session-opening task, to be awaited at the end of input.
    fn track_opening(&self, task: tokio::task::JoinHandle<()>) {
        let mut opening = lock(&self.opening);
        opening.retain(|t| !t.is_finished());
        opening.push(task);
    }

    fn initialize(&self, req: InitializeRequest) -> InitializeResponse {
        *lock(&self.client) = req.client_capabilities.clone();
        // We speak v1 only: a client asking for another version gets ours and decides.
        InitializeResponse::new(ProtocolVersion::V1)
            .agent_capabilities(
                AgentCapabilities::new()
                    .load_session(true)
                    .prompt_capabilities(
                        PromptCapabilities::new().image(true).embedded_context(true),
                    )
                    .mcp_capabilities(McpCapabilities::new().http(true)),
            )
            .agent_info(
                Implementation::new(&self.info.name, &self.info.version)
                    .title("Session".to_owned()),
            )
    }

    fn live(&self, id: &str) -> Result<Arc<Live>, Error> {
        lock(&self.sessions)
            .get(id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    /// The setup of a session the client asked for, and the file system its patches use.
    fn setup(
        &self,
        session_id: String,
        cwd: PathBuf,
        servers: Vec<McpServer>,
        cx: &ConnectionTo<Client>,
    ) -> Result<(SessionSetup, Arc<dyn FileSystem>), Error> {
        if !cwd.is_absolute() {
            return Err(error(
                Error::invalid_params(),
                format!("cwd must be an absolute path, got `{}`", cwd.display()),
            ));
        }
        let mcp_servers = mcp_servers(servers)?;
        let fs_caps = lock(&self.client).fs.clone();
        let client_fs: Option<Arc<dyn FileSystem>> =
            (fs_caps.read_text_file || fs_caps.write_text_file).then(|| {
                Arc::new(ClientFs::new(
                    cx.clone(),
                    session_id.clone(),
                    fs_caps.read_text_file,
                    fs_caps.write_text_file,
                )) as Arc<dyn FileSystem>
            });
        let fs = client_fs
            .clone()
            .unwrap_or_else(|| Arc::new(RealFileSystem) as Arc<dyn FileSystem>);
        Ok((
            SessionSetup {
                session_id,
                cwd,
                mcp_servers,
                fs: client_fs,
            },
            fs,
        ))
    }

    async fn new_session(
        self: Arc<Self>,
        req: NewSessionRequest,
        responder: Responder<NewSessionResponse>,
        cx: ConnectionTo<Client>,
    ) {
        let id = uuid::Uuid::now_v7().to_string();
        let opened = self
            .start_or_load(Opening::New, id, req.cwd, req.mcp_servers, &cx)
            .await;
        let (live, session, _replay) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                let _ = responder.respond_with_error(e);
                return;
            }
        };
        let (modes, options) = self.describe(&live);
        let answered = responder.respond(
            NewSessionResponse::new(live.id.clone())
                .modes(modes)
                .config_options(options),
        );
        self.run(live, session, cx, answered.is_ok());
    }

    async fn load_session(
        self: Arc<Self>,
        req: LoadSessionRequest,
        responder: Responder<LoadSessionResponse>,
        cx: ConnectionTo<Client>,
    ) {
        let id = req.session_id.0.to_string();
        let opened = self
            .start_or_load(Opening::Load, id, req.cwd, req.mcp_servers, &cx)
            .await;
        let (live, session, replay) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                let _ = responder.respond_with_error(e);
                return;
            }
        };
        // The conversation so far, before the answer (as the protocol orders it).
        let mut translator = Translator::replay(live.cwd.clone());
        for msg in &replay {
            for update in translator.updates(msg, None).await {
                let _ = cx.send_notification(SessionNotification::new(live.id.clone(), update));
            }
        }
        let (modes, options) = self.describe(&live);
        let answered = responder.respond(
            LoadSessionResponse::new()
                .modes(modes)
                .config_options(options),
        );
        self.run(live, session, cx, answered.is_ok());
    }

    /// Start or resume session `id` through the factory and register it.
    async fn start_or_load(
        &self,
        how: Opening,
        id: String,
        cwd: PathBuf,
        servers: Vec<McpServer>,
        cx: &ConnectionTo<Client>,
    ) -> Result<(Arc<Live>, Session, Vec<EventMsg>), Error> {
        if how == Opening::Load {
            // Reserved until it is open (or failed), so a second load of it is refused.
            let open = lock(&self.sessions).contains_key(&id);
            if open || !lock(&self.loading).insert(id.clone()) {
                return Err(error(
                    Error::invalid_request(),
                    format!("session `{id}` is already open on this connection"),
                ));
            }
        }
        let opened = self.open_reserved(how, id.clone(), cwd, servers, cx).await;
        if how == Opening::Load {
            lock(&self.loading).remove(&id);
        }
        opened
    }

    async fn open_reserved(
        &self,
        how: Opening,
        id: String,
        cwd: PathBuf,
        servers: Vec<McpServer>,
        cx: &ConnectionTo<Client>,
    ) -> Result<(Arc<Live>, Session, Vec<EventMsg>), Error> {
        let (setup, fs) = self.setup(id.clone(), cwd.clone(), servers, cx)?;
        let session = match how {
            Opening::New => self.factory.start(setup).await.map_err(|message| {
                error(
                    Error::internal_error(),
                    format!("cannot start the session: {message}"),
                )
            })?,
            Opening::Load => self.factory.load(setup).await.map_err(|e| match e {
                LoadError::NotFound(what) => error(
                    Error::invalid_params(),
                    format!("no recorded session has id `{what}`"),
                ),
                e => error(
                    Error::internal_error(),
                    format!("cannot load session `{id}`: {e}"),
                ),
            })?,
        };
        self.open(session, cwd, fs).await
    }

    /// Read a started session's `session_configured` and register it.
    async fn open(
        &self,
        mut session: Session,
        cwd: PathBuf,
        fs: Arc<dyn FileSystem>,
    ) -> Result<(Arc<Live>, Session, Vec<EventMsg>), Error> {
        let first = session.next_event().await.map(|e| e.msg);
        let Some(EventMsg::SessionConfigured {
            session_id,
            model,
            approval_policy,
            sandbox_policy,
            initial_messages,
            ..
        }) = first
        else {
            let _ = session.shutdown().await;
            return Err(error(
                Error::internal_error(),
                "the session ended before it was configured",
            ));
        };
        let mode = modes::mode_of(approval_policy, &sandbox_policy);
        let configured =
            (mode == modes::CONFIGURED).then(|| modes::describe(approval_policy, &sandbox_policy));
        let configured_policy =
            (mode == modes::CONFIGURED).then(|| (approval_policy, sandbox_policy.clone()));
        let live = Arc::new(Live {
            id: session_id.clone(),
            cwd,
            submitter: session.submitter(),
            next: std::sync::atomic::AtomicU64::new(1),
            fs,
            state: Mutex::new(LiveState {
                prompts: VecDeque::new(),
                mode,
                configured,
                configured_policy,
                turn: None,
                confirms: HashMap::new(),
                model,
                waiting: HashSet::new(),
                rejected: HashSet::new(),
                error: None,
                ended: false,
            }),
        });
        lock(&self.sessions).insert(session_id, live.clone());
        Ok((live, session, initial_messages.unwrap_or_default()))
    }

    fn describe(
        &self,
        live: &Live,
    ) -> (
        agent_client_protocol::v1::schema::SessionModeState,
        Vec<agent_client_protocol::v1::schema::SessionConfigOption>,
    ) {
        let state = live.state();
        let models = self.factory.models();
        (
            modes::mode_state(state.mode, state.configured.as_deref()),
            modes::config_options(
                state.mode,
                state.configured.as_deref(),
                &state.model,
                &models,
            ),
        )
    }

    /// Start the session's pump (after its `session/new` or `session/load` answer).
    fn run(
        self: &Arc<Self>,
        live: Arc<Live>,
        session: Session,
        cx: ConnectionTo<Client>,
        answered: bool,
    ) {
        let host = self.clone();
        let pump = tokio::spawn(async move {
            host.pump(live.clone(), session, cx, answered).await;
        });
        lock(&self.pumps).push(pump);
    }

    async fn prompt(&self, req: PromptRequest, responder: Responder<PromptResponse>) {
        let live = match self.live(&req.session_id.0) {
            Ok(live) => live,
            Err(e) => {
                let _ = responder.respond_with_error(e);
                return;
            }
        };
        let items = match input_items(req.prompt) {
            Ok(items) => items,
            Err(e) => {
                let _ = responder.respond_with_error(e);
                return;
            }
        };
        {
            let mut state = live.state();
            if state.ended {
                let _ = responder.respond_with_error(error(
                    Error::invalid_request(),
                    format!("session `{}` has ended", live.id),
                ));
                return;
            }
            // One prompt at a time; one sent after a cancel waits for the cancelled turn.
            if state.prompts.iter().any(|p| !p.cancelled) {
                let _ = responder.respond_with_error(error(
                    Error::invalid_request(),
                    format!(
                        "session `{}` is already answering a prompt; wait for its response or \
                         send session/cancel first",
                        live.id
                    ),
                ));
                return;
            }
            state.prompts.push_back(Prompt {
                responder,
                cancelled: false,
                owes_interrupt: false,
            });
        }
        if live
            .submitter
            .submit(Op::UserInput { items })
            .await
            .is_err()
            && let Some(prompt) = live.state().prompts.pop_back()
        {
            let _ = prompt.responder.respond_with_error(error(
                Error::internal_error(),
                format!("session `{}` has ended", live.id),
            ));
        }
    }

    async fn cancel(&self, id: &str) {
        let Ok(live) = self.live(id) else {
            return; // a notification has no answer; nothing to cancel
        };
        let running = {
            let mut state = live.state();
            for (i, prompt) in state.prompts.iter_mut().enumerate() {
                // The interrupt below stops the oldest prompt's turn; a later one (sent after
                // an earlier cancel) has not started yet and is stopped when it does.
                prompt.owes_interrupt = i > 0 && !prompt.cancelled;
                prompt.cancelled = true;
            }
            state.waiting.clear();
            !state.prompts.is_empty()
        };
        if running {
            let _ = live.submitter.interrupt().await;
        }
    }

    async fn set_mode(&self, id: &str, mode: &str, cx: &ConnectionTo<Client>) -> Result<(), Error> {
        let live = self.live(id)?;
        let configured = live.state().configured_policy.clone();
        let (id, (approval, sandbox)) = match (Preset::find(mode), configured) {
            (Some(preset), _) => (preset.id, preset.policies()),
            (None, Some(policy)) if mode == modes::CONFIGURED => (modes::CONFIGURED, policy),
            (None, configured) => {
                let mut known: Vec<&str> = modes::PRESETS.iter().map(|p| p.id).collect();
                if configured.is_some() {
                    known.push(modes::CONFIGURED);
                }
                return Err(error(
                    Error::invalid_params(),
                    format!("unknown mode `{mode}`; the modes are {}", known.join(", ")),
                ));
            }
        };
        self.apply_policy(&live, approval, sandbox).await?;
        live.state().mode = id;
        let (_, options) = self.describe(&live);
        let _ = cx.send_notification(SessionNotification::new(
            live.id.clone(),
            SessionUpdate::ConfigOptionUpdate(
                agent_client_protocol::v1::schema::ConfigOptionUpdate::new(options),
            ),
        ));
        Ok(())
    }

    async fn apply_policy(
        &self,
        live: &Live,
        approval: AskForApproval,
        sandbox: SandboxPolicy,
    ) -> Result<(), Error> {
        let change = TurnContextOverride {
            approval_policy: Some(approval),
            sandbox_policy: Some(sandbox),
            ..TurnContextOverride::default()
        };
        self.change_context(live, change).await
    }

    /// Change the session's context and wait until it has taken (or refused) the change.
    async fn change_context(&self, live: &Live, change: TurnContextOverride) -> Result<(), Error> {
        let n = live.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (change_id, barrier_id) = (format!("acp-change-{n}"), format!("acp-barrier-{n}"));
        let (done, answer) = tokio::sync::oneshot::channel();
        live.state().confirms.insert(
            barrier_id.clone(),
            Confirm {
                change_id: change_id.clone(),
                refused: None,
                done,
            },
        );
        let ended = || error(Error::internal_error(), "the session has ended");
        let submit = |id: String, op: Op| live.submitter.submit_with_id(Submission { id, op });
        submit(change_id, Op::OverrideTurnContext(change))
            .await
            .map_err(|_| ended())?;
        submit(barrier_id, Op::GetPath).await.map_err(|_| ended())?;
        match answer.await {
            Ok(None) => Ok(()),
            Ok(Some(refused)) => Err(error(Error::invalid_request(), refused)),
            Err(_) => Err(ended()),
        }
    }

    async fn set_config_option(
        &self,
        req: &SetSessionConfigOptionRequest,
        cx: &ConnectionTo<Client>,
    ) -> Result<SetSessionConfigOptionResponse, Error> {
        let live = self.live(&req.session_id.0)?;
        let SessionConfigOptionValue::ValueId { value } = &req.value else {
            return Err(error(
                Error::invalid_params(),
                format!("option `{}` takes one of its values", req.config_id.0),
            ));
        };
        match &*req.config_id.0 {
            "mode" => self.set_mode(&req.session_id.0, &value.0, cx).await?,
            "model" => {
                let model = value.0.to_string();
                let offered = self.factory.models().contains(&model) || live.state().model == model;
                if !offered {
                    return Err(error(
                        Error::invalid_params(),
                        format!("model `{model}` is not offered for this session"),
                    ));
                }
                let change = TurnContextOverride {
                    model: Some(model.clone()),
                    ..TurnContextOverride::default()
                };
                self.change_context(&live, change).await?;
                live.state().model = model;
            }
            other => {
                return Err(error(
                    Error::invalid_params(),
                    format!("unknown config option `{other}`; the options are mode and model"),
                ));
            }
        }
        let (_, options) = self.describe(&live);
        Ok(SetSessionConfigOptionResponse::new(options))
    }

    /// Turn one session's events into updates until it ends.
    async fn pump(
        self: Arc<Self>,
        live: Arc<Live>,
        mut session: Session,
        cx: ConnectionTo<Client>,
        connected: bool,
    ) {
        let mut translator = Translator::live(live.cwd.clone());
        let send = |update: SessionUpdate| {
            let _ = cx.send_notification(SessionNotification::new(live.id.clone(), update));
        };
        if !connected {
            let _ = live.submitter.submit(Op::Shutdown).await;
        }
        while let Some(event) = session.next_event().await {
            let event_id = event.id;
            let msg = event.msg;
            let updates = translator.updates(&msg, Some(live.fs.as_ref())).await;
            // What a permission request shows: the call as the client was just told it.
            let shown = updates.iter().find_map(|u| match u {
                SessionUpdate::ToolCall(call) => Some(translate::as_update(call)),
                SessionUpdate::ToolCallUpdate(update) => Some(update.clone()),
                _ => None,
            });
            for update in updates {
                send(update);
            }
            match msg {
                EventMsg::ExecApprovalRequest {
                    call_id, command, ..
                } => {
                    let key = format!("exec\0{}", command.join("\0"));
                    self.ask(&live, &cx, (call_id, shown), key, ApprovalOp::Exec)
                        .await;
                }
                EventMsg::McpApprovalRequest {
                    call_id,
                    server,
                    tool,
                    ..
                } => {
                    let key = format!("mcp\0{server}\0{tool}");
                    self.ask(&live, &cx, (call_id, shown), key, ApprovalOp::Exec)
                        .await;
                }
                EventMsg::ApplyPatchApprovalRequest {
                    call_id, changes, ..
                } => {
                    let paths: Vec<String> =
                        changes.keys().map(|p| p.display().to_string()).collect();
                    let key = format!("patch\0{}", paths.join("\0"));
                    self.ask(&live, &cx, (call_id, shown), key, ApprovalOp::Patch)
                        .await;
                }
                EventMsg::TaskStarted { .. } => {
                    let owed = {
                        let mut state = live.state();
                        state.turn = Some(event_id.clone());
                        state.error = None;
                        state
                            .prompts
                            .front_mut()
                            .is_some_and(|p| std::mem::take(&mut p.owes_interrupt))
                    };
                    if owed {
                        let _ = live.submitter.interrupt().await;
                    }
                }
                EventMsg::Error { message } => {
                    let mut state = live.state();
                    if let Some(confirm) = state
                        .confirms
                        .values_mut()
                        .find(|c| c.change_id == event_id)
                    {
                        confirm.refused = Some(message);
                    } else if state.turn.as_deref() == Some(event_id.as_str()) {
                        state.error = Some(message);
                    } else {
                        // Not about a turn (a recording that failed, a refused answer): the
                        // client sees it, and no prompt fails for it.
                        drop(state);
                        send(notice(
                            agent_client_protocol::v1::schema::NoticeSeverity::Error,
                            message,
                        ));
                    }
                }
                EventMsg::ConversationPath { .. } => {
                    let confirm = live.state().confirms.remove(&event_id);
                    if let Some(confirm) = confirm {
                        let _ = confirm.done.send(confirm.refused);
                    }
                }
                EventMsg::StreamError { message } => send(notice(
                    agent_client_protocol::v1::schema::NoticeSeverity::Warning,
                    message,
                )),
                EventMsg::McpStartupUpdate {
                    server,
                    status: session_core::McpStartupStatus::Failed { error },
                } => send(notice(
                    agent_client_protocol::v1::schema::NoticeSeverity::Warning,
                    format!("MCP server `{server}` failed to start: {error}"),
                )),
                EventMsg::TaskComplete { .. } => live.finish(None),
                EventMsg::TurnAborted { reason } => live.finish(Some(reason)),
                EventMsg::ShutdownComplete => break,
                _ => {}
            }
        }
        let orphans: Vec<Prompt> = {
            let mut state = live.state();
            state.ended = true;
            // Changes still waiting for their barrier are answered "the session has ended".
            state.confirms.clear();
            state.prompts.drain(..).collect()
        };
        for prompt in orphans {
            let _ = prompt.responder.respond_with_error(error(
                Error::internal_error(),
                "the session ended before answering",
            ));
        }
        lock(&self.sessions).remove(&live.id);
        // The loop task has flushed the recording by `shutdown_complete`; wait for it to end.
        let _ = session.shutdown().await;
    }

    /// Ask the client about an approval request, in a task of its own (the turn waits, the
    /// session's other events do not).
    async fn ask(
        &self,
        live: &Arc<Live>,
        cx: &ConnectionTo<Client>,
        (call_id, shown): (String, Option<ToolCallUpdate>),
        key: String,
        op: ApprovalOp,
    ) {
        if live.state().rejected.contains(&key) {
            let _ = live
                .submitter
                .submit(op.answer(call_id, ReviewDecision::Denied))
                .await;
            return;
        }
        live.state().waiting.insert(call_id.clone());
        let call = shown
            .unwrap_or_else(|| ToolCallUpdate::new(call_id.clone(), ToolCallUpdateFields::new()));
        let request = RequestPermissionRequest::new(live.id.clone(), call, permission_options());
        let live = live.clone();
        let cx = cx.clone();
        tokio::spawn(async move {
            let answer = cx.send_request(request).block_task().await;
            let decision = match answer.map(|r| r.outcome) {
                Ok(RequestPermissionOutcome::Selected(selected)) => {
                    match &*selected.option_id.0 {
                        ALLOW_ONCE => ReviewDecision::Approved,
                        ALLOW_ALWAYS => ReviewDecision::ApprovedForSession,
                        REJECT_ALWAYS => {
                            live.state().rejected.insert(key);
                            ReviewDecision::Denied
                        }
                        REJECT_ONCE => ReviewDecision::Denied,
                        // An option we never offered: the safe answer.
                        _ => ReviewDecision::Abort,
                    }
                }
                // Cancelled, or the client failed or went away.
                Ok(_) | Err(_) => ReviewDecision::Abort,
            };
            // Answered only while still asked: an interrupt already answered it.
            let still_waiting = live.state().waiting.remove(&call_id);
            if still_waiting {
                let _ = live.submitter.submit(op.answer(call_id, decision)).await;
            }
        });
    }

    async fn shutdown_all(&self) {
        // Sessions still opening finish opening (their answers fail: the client is gone) and
        // register their pumps first.
        loop {
            let opening: Vec<_> = lock(&self.opening).drain(..).collect();
            if opening.is_empty() {
                break;
            }
            for task in opening {
                let _ = task.await;
            }
        }
        let sessions: Vec<Arc<Live>> = lock(&self.sessions).values().cloned().collect();
        for live in sessions {
            let _ = live.submitter.submit(Op::Shutdown).await;
        }
        let pumps: Vec<_> = lock(&self.pumps).drain(..).collect();
        for pump in pumps {
            let _ = pump.await;
        }
    }
}

impl Live {
    /// The oldest prompt's turn ended: answer it.
    fn finish(&self, aborted: Option<TurnAbortReason>) {
        let (prompt, failure) = {
            let mut state = self.state();
            state.waiting.clear();
            state.turn = None;
            (state.prompts.pop_front(), state.error.take())
        };
        let Some(prompt) = prompt else {
            return;
        };
        let stop = if prompt.cancelled || aborted.is_some() {
            Ok(StopReason::Cancelled)
        } else {
            match failure {
                None => Ok(StopReason::EndTurn),
                Some(message) => stop_for(&message).ok_or(message),
            }
        };
        let _ = match stop {
            Ok(stop) => prompt.responder.respond(PromptResponse::new(stop)),
            Err(message) => prompt
                .responder
                .respond_with_error(error(Error::internal_error(), message)),
        };
    }
}

/// The stop reason an error stands for, when it is one the protocol names.
fn stop_for(message: &str) -> Option<StopReason> {
    let incomplete = message.split("response incomplete: ").nth(1)?;
    if incomplete.starts_with("max_") {
        Some(StopReason::MaxTokens)
    } else if incomplete.starts_with("refusal") || incomplete.starts_with("content_filter") {
        Some(StopReason::Refusal)
    } else {
        None
    }
}

fn notice(
    severity: agent_client_protocol::v1::schema::NoticeSeverity,
    title: String,
) -> SessionUpdate {
    SessionUpdate::Notice(agent_client_protocol::v1::schema::Notice::new(
        severity, title,
    ))
}

const ALLOW_ONCE: &str = "allow_once";
const ALLOW_ALWAYS: &str = "allow_always";
const REJECT_ONCE: &str = "reject_once";
const REJECT_ALWAYS: &str = "reject_always";

fn permission_options() -> Vec<PermissionOption> {
    vec![
        PermissionOption::new(ALLOW_ONCE, "Allow", PermissionOptionKind::AllowOnce),
        PermissionOption::new(
            ALLOW_ALWAYS,
            "Allow for this session",
            PermissionOptionKind::AllowAlways,
        ),
        PermissionOption::new(REJECT_ONCE, "Reject", PermissionOptionKind::RejectOnce),
        PermissionOption::new(
            REJECT_ALWAYS,
            "Reject for this session",
            PermissionOptionKind::RejectAlways,
        ),
    ]
}

/// Whether a session is new or loaded from its recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    New,
    Load,
}

#[derive(Debug, Clone, Copy)]
enum ApprovalOp {
    Exec,
    Patch,
}

impl ApprovalOp {
    fn answer(self, id: String, decision: ReviewDecision) -> Op {
        match self {
            ApprovalOp::Exec => Op::ExecApproval { id, decision },
            ApprovalOp::Patch => Op::PatchApproval { id, decision },
        }
    }
}

/// The client's MCP servers as our configuration (stdio and streamable HTTP).
fn mcp_servers(servers: Vec<McpServer>) -> Result<BTreeMap<String, McpServerConfig>, Error> {
    let mut out = BTreeMap::new();
    for server in servers {
        let (name, config) = match server {
            McpServer::Stdio(stdio) => {
                let mut config = McpServerConfig::stdio(
                    stdio.command.to_string_lossy().into_owned(),
                    stdio.args,
                );
                config.env = stdio.env.into_iter().map(|v| (v.name, v.value)).collect();
                (stdio.name, config)
            }
            McpServer::Http(http) => {
                let mut config = McpServerConfig::http(http.url);
                config.http_headers = http
                    .headers
                    .into_iter()
                    .map(|h| (h.name, h.value))
                    .collect();
                (http.name, config)
            }
            _ => {
                return Err(error(
                    Error::invalid_params(),
                    "only stdio and HTTP MCP servers are supported (the agent does not offer SSE)",
                ));
            }
        };
        if out.insert(name.clone(), config).is_some() {
            return Err(error(
                Error::invalid_params(),
                format!("two MCP servers are named `{name}`"),
            ));
        }
    }
    Ok(out)
}

/// A prompt's content blocks as our input.
fn input_items(blocks: Vec<ContentBlock>) -> Result<Vec<InputItem>, Error> {
    let mut items = Vec::with_capacity(blocks.len());
    for block in blocks {
        match block {
            ContentBlock::Text(t) => items.push(InputItem::Text { text: t.text }),
            ContentBlock::Image(image) => {
                let url = match (image.data.is_empty(), image.uri) {
                    (false, _) => format!("data:{};base64,{}", image.mime_type, image.data),
                    (true, Some(uri)) if !uri.is_empty() => uri,
                    (true, _) => {
                        return Err(error(
                            Error::invalid_params(),
                            "an image needs its data or a uri",
                        ));
                    }
                };
                items.push(InputItem::Image { image_url: url });
            }
            ContentBlock::ResourceLink(link) => items.push(InputItem::Text {
                text: format!("[@{}]({})", link.name, link.uri),
            }),
            ContentBlock::Resource(resource) => match resource.resource {
                EmbeddedResourceResource::TextResourceContents(r) => {
                    items.push(InputItem::Text {
                        text: format!("<context ref=\"{}\">\n{}\n</context>", r.uri, r.text),
                    });
                }
                EmbeddedResourceResource::BlobResourceContents(r) => {
                    let mime = r.mime_type.unwrap_or_default();
                    if mime.starts_with("image/") {
                        items.push(InputItem::Image {
                            image_url: format!("data:{mime};base64,{}", r.blob),
                        });
                    } else {
                        items.push(InputItem::Text {
                            text: format!("[@{}]({}) (binary, {mime})", r.uri, r.uri),
                        });
                    }
                }
                _ => {
                    return Err(error(
                        Error::invalid_params(),
                        "unsupported embedded resource",
                    ));
                }
            },
            ContentBlock::Audio(_) => {
                return Err(error(
                    Error::invalid_params(),
                    "audio prompts are not supported (see the prompt capabilities)",
                ));
            }
            _ => {
                return Err(error(Error::invalid_params(), "unsupported content block"));
            }
        }
    }
    if items.iter().all(InputItem::is_blank) {
        return Err(error(Error::invalid_params(), "the prompt is empty"));
    }
    Ok(items)
}
