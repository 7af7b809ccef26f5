//! A client of the crate's own SDK connected to [`session_acp::serve`] over in-memory line
//! pipes (JSON text, as on stdio), with sessions on the hand-played model, real processes in
//! the real sandbox and real recordings in a temp dir.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use session_acp::acp::schema::ProtocolVersion;
use session_acp::acp::v1::schema::{
    ClientCapabilities, FileSystemCapabilities, InitializeRequest, InitializeResponse,
    NewSessionRequest, NewSessionResponse, PromptRequest, PromptResponse, ReadTextFileRequest,
    ReadTextFileResponse, RequestPermissionRequest, RequestPermissionResponse, SessionNotification,
    SessionUpdate, WriteTextFileRequest, WriteTextFileResponse,
};
use session_acp::acp::v1::{ConnectionTo, Responder};
use session_acp::acp::{Agent, Client, Lines};
use session_acp::{AgentInfo, LoadError, SessionFactory, SessionSetup};
use session_core::services::{
    JsonlRecorder, LinuxSandbox, ListFilter, NoSandbox, ProcessShell, Recorder, SessionServices,
};
use session_core::{AskForApproval, SandboxPolicy, Session, SessionConfig};
use session_testkit::{HandleModel, ModelHandle};
use tokio::sync::{mpsc, oneshot};

use crate::pipe::pipe;

/// How long a test waits for anything before it fails (never a pass condition).
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// Sessions on one shared hand-played model, recorded under `home`.
pub(crate) struct TestFactory {
    pub(crate) model: HandleModel,
    pub(crate) home: PathBuf,
    pub(crate) approval: AskForApproval,
    /// Run without a sandbox that can enforce anything (as on a machine without Landlock).
    pub(crate) unconfined: bool,
}

impl TestFactory {
    fn config(&self, setup: &SessionSetup) -> SessionConfig {
        let mut config = SessionConfig::new("test-model", setup.cwd.clone());
        config.session_id = Some(setup.session_id.clone());
        config.approval_policy = Some(self.approval);
        config.sandbox_policy = Some(if self.unconfined {
            SandboxPolicy::DangerFullAccess
        } else {
            SandboxPolicy::WorkspaceWrite {
                writable_roots: Vec::new(),
                network_access: false,
                exclude_tmp: false,
            }
        });
        config.mcp_servers = setup.mcp_servers.clone();
        config.request_max_retries = 0;
        config.stream_max_retries = 0;
        config
    }

    fn services(&self, setup: &SessionSetup) -> SessionServices {
        let mut builder = SessionServices::builder(Arc::new(self.model.clone()))
            .recorder(Arc::new(JsonlRecorder::new(self.home.clone())))
            .shell(Arc::new(ProcessShell::new()));
        builder = if self.unconfined {
            builder.sandbox(Arc::new(NoSandbox::new("no sandbox in this test")))
        } else {
            builder.sandbox(Arc::new(LinuxSandbox::new()))
        };
        if let Some(fs) = &setup.fs {
            builder = builder.fs(fs.clone());
        }
        builder.build()
    }
}

#[session_core::async_trait]
impl SessionFactory for TestFactory {
    async fn start(&self, setup: SessionSetup) -> Result<Session, String> {
        Session::spawn(self.config(&setup), self.services(&setup))
            .await
            .map_err(|e| e.to_string())
    }

    async fn load(&self, setup: SessionSetup) -> Result<Session, LoadError> {
        let found = JsonlRecorder::new(self.home.clone())
            .list(ListFilter::default())
            .await
            .map_err(|e| LoadError::Failed(e.to_string()))?
            .into_iter()
            .find(|s| s.id == setup.session_id)
            .ok_or_else(|| LoadError::NotFound(setup.session_id.clone()))?;
        Session::resume(self.config(&setup), self.services(&setup), &found.path)
            .await
            .map_err(|e| LoadError::Failed(e.to_string()))
    }

    fn models(&self) -> Vec<String> {
        vec!["test-model".to_owned(), "other-model".to_owned()]
    }
}

/// A permission request the test answers.
pub(crate) struct Asked {
    pub(crate) request: RequestPermissionRequest,
    pub(crate) responder: Responder<RequestPermissionResponse>,
}

/// The client's side of a running connection.
pub(crate) struct Harness {
    pub(crate) cx: ConnectionTo<Agent>,
    pub(crate) model: ModelHandle,
    pub(crate) home: tempfile::TempDir,
    pub(crate) workspace: tempfile::TempDir,
    updates: mpsc::UnboundedReceiver<SessionNotification>,
    pub(crate) seen: VecDeque<SessionNotification>,
    asked: mpsc::UnboundedReceiver<Asked>,
    pub(crate) reads: mpsc::UnboundedReceiver<ReadTextFileRequest>,
    pub(crate) writes: mpsc::UnboundedReceiver<WriteTextFileRequest>,
    done: Option<oneshot::Sender<()>>,
    client: Option<tokio::task::JoinHandle<()>>,
    agent: Option<tokio::task::JoinHandle<Result<(), session_acp::acp::Error>>>,
}

/// What the test client offers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Offer {
    /// Advertise `fs.readTextFile` / `fs.writeTextFile` and serve them from the disk.
    pub(crate) fs: bool,
}

impl Harness {
    /// Connect a client (approval policy `untrusted`), without initializing.
    pub(crate) async fn connect(offer: Offer) -> Self {
        Self::connect_with(offer, AskForApproval::Untrusted).await
    }

    /// Connect a client whose sessions are recorded under `home` (a copy of it: the
    /// connection's own temp dir holds the recordings).
    pub(crate) async fn connect_in(offer: Offer, home: &Path) -> Self {
        let h = Self::connect_with(offer, AskForApproval::Untrusted).await;
        copy_tree(home, h.home.path());
        h
    }

    pub(crate) async fn connect_with(offer: Offer, approval: AskForApproval) -> Self {
        Self::connect_full(offer, approval, false).await
    }

    /// Connect with sessions that have no enforcing sandbox when `unconfined`.
    pub(crate) async fn connect_full(
        offer: Offer,
        approval: AskForApproval,
        unconfined: bool,
    ) -> Self {
        require_sandbox();
        let (model, handle) = HandleModel::new();
        let home = tempfile::tempdir().unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let factory = Arc::new(TestFactory {
            model,
            home: home.path().to_path_buf(),
            approval,
            unconfined,
        });
        let (agent_out, client_in) = pipe();
        let (client_out, agent_in) = pipe();
        let agent = tokio::spawn(session_acp::serve(
            factory,
            AgentInfo::default(),
            Lines::new(agent_out, agent_in),
        ));
        let (updates_tx, updates) = mpsc::unbounded_channel();
        let (asked_tx, asked) = mpsc::unbounded_channel();
        let (reads_tx, reads) = mpsc::unbounded_channel();
        let (writes_tx, writes) = mpsc::unbounded_channel();
        let (cx_tx, cx_rx) = oneshot::channel();
        let (done, done_rx) = oneshot::channel::<()>();
        let client = Client
            .v1()
            .name("test-client")
            .on_receive_notification(
                async move |note: SessionNotification, _cx| {
                    let _ = updates_tx.send(note);
                    Ok(())
                },
                session_acp::acp::on_receive_notification!(),
            )
            .on_receive_request(
                async move |request: RequestPermissionRequest, responder, _cx| {
                    let _ = asked_tx.send(Asked { request, responder });
                    Ok(())
                },
                session_acp::acp::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: ReadTextFileRequest, responder, _cx| {
                    let _ = reads_tx.send(request.clone());
                    match std::fs::read_to_string(&request.path) {
                        Ok(text) => responder.respond(ReadTextFileResponse::new(text)),
                        Err(e) => responder.respond_with_error(session_acp::acp::Error::new(
                            -32002,
                            format!("cannot read: {e}"),
                        )),
                    }
                },
                session_acp::acp::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: WriteTextFileRequest, responder, _cx| {
                    let _ = writes_tx.send(request.clone());
                    // The "editor" saves what it was given.
                    std::fs::write(&request.path, &request.content).unwrap();
                    responder.respond(WriteTextFileResponse::default())
                },
                session_acp::acp::on_receive_request!(),
            )
            .connect_with(Lines::new(client_out, client_in), async move |cx| {
                let _ = cx_tx.send(cx);
                let _ = done_rx.await;
                Ok(())
            });
        let client = tokio::spawn(async move {
            let _ = client.await;
        });
        let cx = tokio::time::timeout(PATIENCE, cx_rx)
            .await
            .unwrap()
            .unwrap();
        let _ = offer;
        Self {
            cx,
            model: handle,
            home,
            workspace,
            updates,
            seen: VecDeque::new(),
            asked,
            reads,
            writes,
            done: Some(done),
            client: Some(client),
            agent: Some(agent),
        }
    }

    /// Connected, initialized, with one new session: the harness and the session's id.
    pub(crate) async fn with_session(offer: Offer) -> (Self, String) {
        let h = Self::connect(offer).await;
        h.initialize(offer).await;
        let id = h.new_session().await.session_id.0.to_string();
        (h, id)
    }

    /// `initialize` with the capabilities of `offer`.
    pub(crate) async fn initialize(&self, offer: Offer) -> InitializeResponse {
        let fs = FileSystemCapabilities::new()
            .read_text_file(offer.fs)
            .write_text_file(offer.fs);
        let request = InitializeRequest::new(ProtocolVersion::V1)
            .client_capabilities(ClientCapabilities::new().fs(fs));
        self.request(request).await.unwrap()
    }

    /// Send a request and wait for its answer.
    pub(crate) async fn request<R: session_acp::acp::JsonRpcRequest>(
        &self,
        request: R,
    ) -> Result<R::Response, session_acp::acp::Error>
    where
        R::Response: Send,
    {
        tokio::time::timeout(PATIENCE, self.cx.send_request(request).block_task())
            .await
            .expect("no answer in time")
    }

    /// A new session in the workspace.
    pub(crate) async fn new_session(&self) -> NewSessionResponse {
        self.request(NewSessionRequest::new(self.workspace.path()))
            .await
            .unwrap()
    }

    /// Send a text prompt; its answer arrives on the returned receiver.
    pub(crate) fn prompt(
        &self,
        session: &str,
        text: &str,
    ) -> oneshot::Receiver<Result<PromptResponse, session_acp::acp::Error>> {
        let request = PromptRequest::new(
            session.to_owned(),
            vec![session_acp::acp::v1::schema::ContentBlock::Text(
                session_acp::acp::v1::schema::TextContent::new(text),
            )],
        );
        let (tx, rx) = oneshot::channel();
        let sent = self.cx.send_request(request);
        tokio::spawn(async move {
            let _ = tx.send(sent.block_task().await);
        });
        rx
    }

    /// Updates until one matches; returns it.
    pub(crate) async fn until(
        &mut self,
        what: &str,
        wanted: impl Fn(&SessionNotification) -> bool,
    ) -> SessionNotification {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let note = tokio::time::timeout(left, self.updates.recv())
                .await
                .unwrap_or_else(|_| panic!("no {what} in time; seen {:#?}", self.seen))
                .expect("the connection closed");
            self.seen.push_back(note.clone());
            if wanted(&note) {
                return note;
            }
        }
    }

    /// Every update that arrived so far, without waiting.
    pub(crate) fn drain(&mut self) -> Vec<SessionNotification> {
        let mut out = Vec::new();
        while let Ok(note) = self.updates.try_recv() {
            self.seen.push_back(note.clone());
            out.push(note);
        }
        out
    }

    /// The next permission request.
    pub(crate) async fn asked(&mut self) -> Asked {
        tokio::time::timeout(PATIENCE, self.asked.recv())
            .await
            .expect("no permission request in time")
            .expect("the connection closed")
    }

    /// Close the connection (the client's end of stdin) and wait for the agent to finish.
    pub(crate) async fn close(&mut self) {
        drop(self.done.take());
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(PATIENCE, client).await;
        }
        if let Some(agent) = self.agent.take() {
            tokio::time::timeout(PATIENCE, agent)
                .await
                .expect("the agent did not finish after the connection closed")
                .expect("the agent panicked")
                .unwrap_or_else(|e| panic!("serve failed: {e:?}"));
        }
    }

    /// The recordings under the home.
    pub(crate) fn recordings(&self) -> Vec<PathBuf> {
        let mut found = Vec::new();
        collect(self.home.path(), &mut found);
        found.sort();
        found
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            out.push(path);
        }
    }
}

/// The text of a message or thought chunk.
pub(crate) fn chunk_text(update: &SessionUpdate) -> Option<&str> {
    let chunk = match update {
        SessionUpdate::AgentMessageChunk(c)
        | SessionUpdate::AgentThoughtChunk(c)
        | SessionUpdate::UserMessageChunk(c) => c,
        _ => return None,
    };
    match &chunk.content {
        session_acp::acp::v1::schema::ContentBlock::Text(t) => Some(&t.text),
        _ => None,
    }
}

/// The tests run real commands in the real sandbox; under `CI=true` its absence fails them.
fn require_sandbox() {
    use session_core::services::Sandbox;
    let support = LinuxSandbox::new().support();
    if !support.is_enforced() {
        panic!("these tests need Landlock and seccomp: {support:?}");
    }
}
