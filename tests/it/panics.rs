//! Panic safety: a panic in any port during a turn becomes an `error` event naming the port,
//! the turn is finalized like any other (one terminal event, open calls closed), and the session
//! takes the next input. One test per port, with mockall mocks whose expectations are violated
//! and with hand-written ports that panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use session_core::mocks::{MockFileSystem, MockModelClient, MockNotifier, MockRecorder, MockShell};
use session_core::services::{
    FakeSandbox, FileSystem, FsError, MemoryFileSystem, MemoryRecorder, ModelClient, ModelError,
    ModelEvent, ModelRequest, ModelStream, Notification, Notifier, ScriptedModel, ScriptedResponse,
    SessionServices, SessionServicesBuilder, model_stream, text_response,
};
use session_core::{AskForApproval, Event, EventMsg, Session, SessionConfig};
use session_testkit::FakeShell;

use crate::support::check_invariants;

fn config() -> SessionConfig {
    let mut c = SessionConfig::new("mock-model", "/work/project");
    c.approval_policy = Some(AskForApproval::Never);
    c.request_max_retries = 0;
    c.stream_max_retries = 0;
    c
}

/// Read to the end of the turn `id` started; its events.
async fn turn(session: &mut Session, all: &mut Vec<Event>, text: &str) -> Vec<EventMsg> {
    let id = session.user_input(text).await.unwrap();
    let mut out = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), session.next_event())
            .await
            .expect("the session hung after a panic")
            .expect("the session ended");
        all.push(e.clone());
        let end = e.id == id && e.msg.is_turn_terminal();
        if e.id == id || e.id.is_empty() {
            out.push(e.msg);
        }
        if end {
            return out;
        }
    }
}

fn errors(events: &[EventMsg]) -> Vec<String> {
    events
        .iter()
        .filter_map(|m| match m {
            EventMsg::Error { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// Start a session on `services`, run a turn that hits the panic and one after it; check the
/// first reports `needle` and completes, and the second answers `after`.
async fn survives(services: SessionServicesBuilder, needle: &str, after: &str) {
    let mut session = Session::spawn(config(), services.build()).await.unwrap();
    let mut all = Vec::new();
    let first = turn(&mut session, &mut all, "trip").await;
    assert!(
        matches!(first.last(), Some(EventMsg::TaskComplete { .. })),
        "{first:#?}"
    );
    let second = turn(&mut session, &mut all, "again").await;
    // A notifier's panic comes after the terminal event it was told of.
    let seen: Vec<EventMsg> = first.iter().chain(&second).cloned().collect();
    assert!(
        errors(&seen).iter().any(|e| e.contains(needle)),
        "no error naming {needle:?}: {seen:#?}"
    );
    assert_eq!(
        second.last(),
        Some(&EventMsg::TaskComplete {
            last_agent_message: Some(after.to_owned())
        }),
        "{second:#?}"
    );
    session.shutdown().await.unwrap();
    while let Some(e) = session.next_event().await {
        all.push(e);
    }
    check_invariants(&all);
}

/// A model that panics on its first request and answers `text` after.
struct PanicsOnce {
    calls: AtomicUsize,
    in_stream: bool,
}

#[session_core::async_trait]
impl ModelClient for PanicsOnce {
    async fn stream(&self, _request: ModelRequest) -> Result<ModelStream, ModelError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) > 0 {
            return Ok(text_response("fine now"));
        }
        if !self.in_stream {
            panic!("model bug in stream");
        }
        let events = (0..3).map(|i| {
            assert!(i < 1, "model bug while streaming");
            Ok(ModelEvent::OutputTextDelta("par".into()))
        });
        Ok(model_stream(events.collect::<Vec<_>>()))
    }
}

fn base(model: Arc<dyn ModelClient>) -> SessionServicesBuilder {
    SessionServices::builder(model)
        .recorder(Arc::new(MemoryRecorder::new()))
        .shell(FakeShell::with(&[]))
        .sandbox(Arc::new(FakeSandbox::unavailable("tests")))
        .fs(Arc::new(MemoryFileSystem::new()))
}

#[tokio::test]
async fn a_panic_in_the_model_clients_stream_call_ends_the_turn_with_an_error() {
    let model = PanicsOnce {
        calls: AtomicUsize::new(0),
        in_stream: false,
    };
    survives(
        base(Arc::new(model)),
        "model client panicked in `stream`: model bug",
        "fine now",
    )
    .await;
}

/// A stream whose polling panics (the iterator it is made of panics while collected is not
/// enough: this one panics inside `poll_next`).
struct PanickyStream;

impl futures_util::Stream for PanickyStream {
    type Item = Result<ModelEvent, ModelError>;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        panic!("stream bug in poll_next")
    }
}

struct StreamPanicsOnce(AtomicUsize);

#[session_core::async_trait]
impl ModelClient for StreamPanicsOnce {
    async fn stream(&self, _request: ModelRequest) -> Result<ModelStream, ModelError> {
        if self.0.fetch_add(1, Ordering::SeqCst) > 0 {
            return Ok(text_response("fine now"));
        }
        Ok(Box::pin(PanickyStream))
    }
}

#[tokio::test]
async fn a_panic_while_the_model_stream_is_polled_ends_the_turn_with_an_error() {
    survives(
        base(Arc::new(StreamPanicsOnce(AtomicUsize::new(0)))),
        "model stream panicked in `poll_next`: stream bug",
        "fine now",
    )
    .await;
}

#[tokio::test]
async fn a_violated_mock_expectation_in_the_model_is_an_error_not_a_hang() {
    let mut model = MockModelClient::new();
    model
        .expect_stream()
        .times(1)
        .returning(|_| Ok(text_response("once")));
    let services = base(Arc::new(model));
    let mut session = Session::spawn(config(), services.build()).await.unwrap();
    let mut all = Vec::new();
    let first = turn(&mut session, &mut all, "one").await;
    assert!(errors(&first).is_empty(), "{first:#?}");
    // A second request breaks `times(1)`: mockall panics inside the port.
    let second = turn(&mut session, &mut all, "two").await;
    let errors = errors(&second);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("model client panicked in `stream`")),
        "{second:#?}"
    );
    assert!(matches!(second.last(), Some(EventMsg::TaskComplete { .. })));
    session.shutdown().await.unwrap();
    while let Some(e) = session.next_event().await {
        all.push(e);
    }
    check_invariants(&all);
}

fn call_then_text() -> ScriptedModel {
    ScriptedModel::new(vec![
        ScriptedResponse::new().shell_call("c1", &["echo", "hi"]),
        ScriptedResponse::new().text("unreached", 1),
        ScriptedResponse::new().text("fine now", 1),
    ])
}

#[tokio::test]
async fn a_panic_in_the_shell_ends_the_turn_and_closes_its_call() {
    // A mock shell with no expectation for `run` panics when the call runs.
    let shell = MockShell::new();
    let services = base(Arc::new(call_then_text())).shell(Arc::new(shell));
    survives(services, "shell panicked in `run`", "unreached").await;
}

#[tokio::test]
async fn a_mock_shell_needs_no_expectation_for_the_users_shell() {
    let mut shell = MockShell::new();
    shell.expect_run().never();
    let services = base(Arc::new(ScriptedModel::new(vec![
        ScriptedResponse::new().text("one", 1),
        ScriptedResponse::new().text("two", 1),
    ])))
    .shell(Arc::new(shell));
    let mut session = Session::spawn(config(), services.build()).await.unwrap();
    let mut all = Vec::new();
    let events = turn(&mut session, &mut all, "hi").await;
    assert!(errors(&events).is_empty(), "{events:#?}");
    session.shutdown().await.unwrap();
}

struct PanickyFs(MemoryFileSystem);

#[session_core::async_trait]
impl FileSystem for PanickyFs {
    async fn read_to_string(&self, path: &Path) -> Result<String, FsError> {
        self.0.read_to_string(path).await
    }
    async fn write(&self, _path: &Path, _contents: &str) -> Result<(), FsError> {
        panic!("disk bug in write")
    }
    async fn remove(&self, path: &Path) -> Result<(), FsError> {
        self.0.remove(path).await
    }
    async fn rename(&self, from: &Path, to: &Path) -> Result<(), FsError> {
        self.0.rename(from, to).await
    }
    async fn resolve(&self, path: &Path) -> Result<PathBuf, FsError> {
        self.0.resolve(path).await
    }
}

#[tokio::test]
async fn a_panic_in_the_file_system_ends_the_patch_turn() {
    let patch = "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** End Patch";
    let model = ScriptedModel::new(vec![
        ScriptedResponse::new().tool_call("p1", "apply_patch", serde_json::json!({"input": patch})),
        ScriptedResponse::new().text("unreached", 1),
        ScriptedResponse::new().text("fine now", 1),
    ]);
    let services = base(Arc::new(model)).fs(Arc::new(PanickyFs(MemoryFileSystem::new())));
    survives(
        services,
        "file system panicked in `write`: disk bug",
        "unreached",
    )
    .await;
    // The mocked file system panics the same way when nothing was expected.
    let model = ScriptedModel::new(vec![
        ScriptedResponse::new().tool_call("p1", "apply_patch", serde_json::json!({"input": patch})),
        ScriptedResponse::new().text("unreached", 1),
        ScriptedResponse::new().text("fine now", 1),
    ]);
    let services = base(Arc::new(model)).fs(Arc::new(MockFileSystem::new()));
    survives(services, "file system panicked", "unreached").await;
}

struct PanickyNotifier;

impl Notifier for PanickyNotifier {
    fn notify(&self, _notification: &Notification) {
        panic!("notifier bug")
    }
}

#[tokio::test]
async fn a_panic_in_the_notifier_is_reported_and_the_session_goes_on() {
    let model = ScriptedModel::new(vec![
        ScriptedResponse::new().text("one", 1),
        ScriptedResponse::new().text("fine now", 1),
    ]);
    survives(
        base(Arc::new(model)).notifier(Arc::new(PanickyNotifier)),
        "notifier panicked in `notify`: notifier bug",
        "fine now",
    )
    .await;
    let model = ScriptedModel::new(vec![
        ScriptedResponse::new().text("one", 1),
        ScriptedResponse::new().text("fine now", 1),
    ]);
    survives(
        base(Arc::new(model)).notifier(Arc::new(MockNotifier::new())),
        "notifier panicked",
        "fine now",
    )
    .await;
}

#[tokio::test]
async fn a_panic_in_the_recorder_is_reported_and_the_turn_still_ends() {
    let mut recorder = MockRecorder::new();
    recorder
        .expect_start()
        .returning(|_| Ok(PathBuf::from("/mem/rec.jsonl")));
    // `record` has no expectation: every write panics.
    recorder.expect_flush().returning(|| Ok(()));
    recorder.expect_shutdown().returning(|| Ok(()));
    let model = ScriptedModel::new(vec![
        ScriptedResponse::new().text("one", 1),
        ScriptedResponse::new().text("fine now", 1),
    ]);
    let services = SessionServices::builder(Arc::new(model))
        .recorder(Arc::new(recorder))
        .shell(FakeShell::with(&[]))
        .sandbox(Arc::new(FakeSandbox::unavailable("tests")))
        .fs(Arc::new(MemoryFileSystem::new()));
    // Recording the initial context already panics: the session says so and refuses to start.
    let err = Session::spawn(config(), services.build())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("recorder panicked in `record`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_recorder_that_panics_mid_session_reports_it_and_the_turn_ends() {
    struct FlakyRecorder {
        inner: MemoryRecorder,
        writes: AtomicUsize,
    }
    #[session_core::async_trait]
    impl session_core::services::Recorder for FlakyRecorder {
        async fn start(
            &self,
            meta: session_core::services::SessionMeta,
        ) -> Result<PathBuf, session_core::services::RecorderError> {
            self.inner.start(meta).await
        }
        async fn resume(
            &self,
            path: &Path,
        ) -> Result<session_core::services::ResumedSession, session_core::services::RecorderError>
        {
            self.inner.resume(path).await
        }
        async fn record(
            &self,
            items: Vec<session_core::services::RolloutItem>,
        ) -> Result<(), session_core::services::RecorderError> {
            assert!(
                self.writes.fetch_add(1, Ordering::SeqCst) != 1,
                "recorder bug"
            );
            self.inner.record(items).await
        }
        async fn flush(&self) -> Result<(), session_core::services::RecorderError> {
            self.inner.flush().await
        }
        async fn shutdown(&self) -> Result<(), session_core::services::RecorderError> {
            self.inner.shutdown().await
        }
        async fn list(
            &self,
            filter: session_core::services::ListFilter,
        ) -> Result<
            Vec<session_core::services::SessionSummary>,
            session_core::services::RecorderError,
        > {
            self.inner.list(filter).await
        }
        async fn find(&self, id: &str) -> Result<PathBuf, session_core::services::RecorderError> {
            self.inner.find(id).await
        }
    }
    let model = ScriptedModel::new(vec![
        ScriptedResponse::new().text("one", 1),
        ScriptedResponse::new().text("fine now", 1),
    ]);
    let recorder = FlakyRecorder {
        inner: MemoryRecorder::new(),
        writes: AtomicUsize::new(0),
    };
    let services = base(Arc::new(model)).recorder(Arc::new(recorder));
    survives(
        services,
        "recorder panicked in `record`: recorder bug",
        "fine now",
    )
    .await;
}

#[tokio::test]
async fn a_panic_in_the_sandbox_is_reported_and_nothing_counts_as_confined() {
    let model = ScriptedModel::new(vec![ScriptedResponse::new().text("one", 1)]);
    let services = base(Arc::new(model)).sandbox(Arc::new(session_core::mocks::MockSandbox::new()));
    // Without a policy asked for, the session falls back to what needs no sandbox.
    let mut session = Session::spawn(config(), services.build()).await.unwrap();
    let first = session.next_event().await.unwrap();
    let EventMsg::SessionConfigured { sandbox_policy, .. } = first.msg else {
        panic!("{first:?}")
    };
    assert_eq!(
        sandbox_policy,
        session_core::SandboxPolicy::DangerFullAccess
    );
    session.shutdown().await.unwrap();
}
