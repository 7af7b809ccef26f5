//! The ACP host in process, over in-memory line pipes, against a model that answers at once:
//! the time from `session/prompt` to the first `agent_message_chunk` (all of it ours, as the
//! model adds nothing), the heap of 1,000 idle sessions on one connection, and the heap while
//! 100 sessions prompt at once.
//!
//! `cargo bench -p session-acp --bench acp` prints divan's table; `cargo xtask bench` runs it
//! with `SESSION_BENCH_JSON=1` for the report. Numbers only: nothing here asserts on speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../session-state/benches/support/harness.rs"]
mod harness;
#[path = "../tests/acp/pipe.rs"]
mod pipe;

use std::sync::Arc;
use std::time::Instant;

use harness::{CountingAlloc, Figure, HeapWindow, Unit};
use pipe::pipe;
use session_acp::acp::schema::ProtocolVersion;
use session_acp::acp::v1::ConnectionTo;
use session_acp::acp::v1::schema::{
    ContentBlock, InitializeRequest, NewSessionRequest, PromptRequest, SessionNotification,
    SessionUpdate, TextContent,
};
use session_acp::acp::{Agent, Client, Lines};
use session_acp::{AgentInfo, LoadError, SessionFactory, SessionSetup};
use session_core::services::{
    JsonlRecorder, ModelClient, ModelError, ModelRequest, ModelStream, NoSandbox, ProcessShell,
    SessionServices, text_response,
};
use session_core::{AskForApproval, SandboxPolicy, Session, SessionConfig};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const IDLE: usize = 1_000;
const BUSY: usize = 100;

fn main() {
    if harness::json_mode() {
        report();
    } else {
        divan::main();
    }
}

/// Answers every request at once with one short text.
struct Instant0;

#[session_core::async_trait]
impl ModelClient for Instant0 {
    async fn stream(&self, _request: ModelRequest) -> Result<ModelStream, ModelError> {
        Ok(text_response("ok"))
    }
}

struct Factory {
    home: std::path::PathBuf,
}

#[session_core::async_trait]
impl SessionFactory for Factory {
    async fn start(&self, setup: SessionSetup) -> Result<Session, String> {
        let mut config = SessionConfig::new("bench", setup.cwd);
        config.session_id = Some(setup.session_id);
        config.approval_policy = Some(AskForApproval::Never);
        config.sandbox_policy = Some(SandboxPolicy::DangerFullAccess);
        let services = SessionServices::builder(Arc::new(Instant0))
            .recorder(Arc::new(JsonlRecorder::new(self.home.clone())))
            .shell(Arc::new(ProcessShell::new()))
            .sandbox(Arc::new(NoSandbox::new("bench")))
            .build();
        Session::spawn(config, services)
            .await
            .map_err(|e| e.to_string())
    }

    async fn load(&self, setup: SessionSetup) -> Result<Session, LoadError> {
        Err(LoadError::NotFound(setup.session_id))
    }
}

/// A connected, initialized client and the agent serving it.
struct Connection {
    cx: ConnectionTo<Agent>,
    first_chunks: mpsc::UnboundedReceiver<(String, Instant)>,
    done: Option<oneshot::Sender<()>>,
    agent: tokio::task::JoinHandle<Result<(), session_acp::acp::Error>>,
    _home: tempfile::TempDir,
    workspace: tempfile::TempDir,
}

impl Connection {
    async fn open() -> Self {
        let home = tempfile::tempdir().unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let factory = Arc::new(Factory {
            home: home.path().to_path_buf(),
        });
        let (agent_out, client_in) = pipe();
        let (client_out, agent_in) = pipe();
        let agent = tokio::spawn(session_acp::serve(
            factory,
            AgentInfo::default(),
            Lines::new(agent_out, agent_in),
        ));
        let (chunks_tx, first_chunks) = mpsc::unbounded_channel();
        let (cx_tx, cx_rx) = oneshot::channel();
        let (done, done_rx) = oneshot::channel::<()>();
        let client = Client
            .v1()
            .on_receive_notification(
                async move |note: SessionNotification, _cx| {
                    if matches!(note.update, SessionUpdate::AgentMessageChunk(_)) {
                        let _ = chunks_tx.send((note.session_id.0.to_string(), Instant::now()));
                    }
                    Ok(())
                },
                session_acp::acp::on_receive_notification!(),
            )
            .connect_with(Lines::new(client_out, client_in), async move |cx| {
                let _ = cx_tx.send(cx);
                let _ = done_rx.await;
                Ok(())
            });
        tokio::spawn(async move {
            let _ = client.await;
        });
        let cx = cx_rx.await.unwrap();
        cx.send_request(InitializeRequest::new(ProtocolVersion::V1))
            .block_task()
            .await
            .unwrap();
        Self {
            cx,
            first_chunks,
            done: Some(done),
            agent,
            _home: home,
            workspace,
        }
    }

    async fn new_session(&self) -> String {
        self.cx
            .send_request(NewSessionRequest::new(self.workspace.path()))
            .block_task()
            .await
            .unwrap()
            .session_id
            .0
            .to_string()
    }

    fn prompt(&self, session: &str) -> oneshot::Receiver<()> {
        let request = PromptRequest::new(
            session.to_owned(),
            vec![ContentBlock::Text(TextContent::new("hello"))],
        );
        let sent = self.cx.send_request(request);
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            sent.block_task().await.unwrap();
            let _ = tx.send(());
        });
        rx
    }

    /// Prompt and return the time to the first chunk.
    async fn first_chunk(&mut self, session: &str) -> f64 {
        let started = Instant::now();
        let answered = self.prompt(session);
        let (_, at) = self.first_chunks.recv().await.unwrap();
        answered.await.unwrap();
        at.duration_since(started).as_secs_f64()
    }

    async fn close(mut self) {
        drop(self.done.take());
        self.agent.await.unwrap().unwrap();
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[divan::bench(sample_count = 50)]
fn prompt_to_first_chunk(bencher: divan::Bencher<'_, '_>) {
    let rt = runtime();
    let mut conn = rt.block_on(Connection::open());
    let session = rt.block_on(conn.new_session());
    bencher.bench_local(|| rt.block_on(conn.first_chunk(&session)));
    rt.block_on(conn.close());
}

fn report() {
    let rt = runtime();
    rt.block_on(async {
        // Latency: one session, prompted again and again.
        let mut conn = Connection::open().await;
        let session = conn.new_session().await;
        let mut latencies = Vec::new();
        for _ in 0..harness::samples(100, 400) {
            latencies.push(conn.first_chunk(&session).await);
        }
        Figure::times("acp.first_chunk", "1 session", &latencies)
            .note("session/prompt sent → first agent_message_chunk received; the model answers at once")
            .emit();
        conn.close().await;

        // Idle sessions: the heap that 1,000 of them keep on one connection.
        let conn = Connection::open().await;
        let window = HeapWindow::open();
        let mut ids = Vec::with_capacity(IDLE);
        for _ in 0..IDLE {
            ids.push(conn.new_session().await);
        }
        // Let every pump settle into waiting.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let heap = window.close();
        Figure::value(
            "acp.idle_session_bytes",
            format!("{} sessions", harness::short(IDLE)),
            Unit::Bytes,
            heap.net as f64 / IDLE as f64,
        )
        .note(format!(
            "heap kept after session/new × {IDLE} ÷ {IDLE} (agent and client in one process; \
             {:.1} MB in all)",
            heap.net as f64 / 1e6
        ))
        .emit();
        drop(ids);
        conn.close().await;

        // Busy sessions: 100 prompting at once.
        let conn = Connection::open().await;
        let mut ids = Vec::with_capacity(BUSY);
        for _ in 0..BUSY {
            ids.push(conn.new_session().await);
        }
        let window = HeapWindow::open();
        let started = Instant::now();
        let answers: Vec<_> = ids.iter().map(|id| conn.prompt(id)).collect();
        for answer in answers {
            answer.await.unwrap();
        }
        let wall = started.elapsed().as_secs_f64();
        let heap = window.close();
        Figure::value(
            "acp.busy_session_peak_bytes",
            format!("{BUSY} sessions"),
            Unit::Bytes,
            heap.peak as f64 / BUSY as f64,
        )
        .note(format!(
            "peak heap while {BUSY} sessions answer one prompt each at once ÷ {BUSY}; all \
             answered in {:.1} ms",
            wall * 1e3
        ))
        .emit();
        conn.close().await;
    });
}
