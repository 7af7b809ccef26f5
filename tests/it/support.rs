//! Test support: a session wired to a scripted model (or one the test answers by hand) and
//! fakes, an event reader with timeouts, the "shape" renderer for snapshots, and the one checker
//! of DESIGN.md's invariants that every scenario runs on its events and recording. The fakes
//! other crates' tests could share live in `session-testkit`, not here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use session_core::services::{
    FileSystem, MemoryFileSystem, MemoryRecorder, ModelClient, Notifier, Recorder, RolloutItem,
    Sandbox, ScriptedModel, ScriptedResponse, SessionServices, Shell,
};
use session_core::{AskForApproval, AutoCompact, Event, EventMsg, Session, SessionConfig};
use session_state::ConversationHistory;
use session_testkit::{FakeShell, HandleModel, ModelHandle, PendingRequest};

/// How long any single wait may take before the test fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(20);

/// A session with its fakes and every event read so far.
pub struct Harness {
    pub session: Session,
    pub model: Arc<ScriptedModel>,
    pub recorder: Arc<MemoryRecorder>,
    pub shell: Arc<FakeShell>,
    #[allow(dead_code)]
    pub fs: Arc<MemoryFileSystem>,
    pub events: Vec<Event>,
    /// Whether `recorder` is the recorder in use (not replaced through [`Ports`]).
    pub records_in_memory: bool,
}

/// Ports that replace the harness's fakes; `None` keeps the fake.
#[derive(Default)]
pub struct Ports {
    /// A model in place of the scripted one (whose requests then stay empty).
    pub model: Option<Arc<dyn ModelClient>>,
    pub recorder: Option<Arc<dyn Recorder>>,
    pub shell: Option<Arc<dyn Shell>>,
    pub fs: Option<Arc<dyn FileSystem>>,
    pub notifier: Option<Arc<dyn Notifier>>,
    pub sandbox: Option<Arc<dyn Sandbox>>,
}

/// Whether a harness starts a new session or resumes a recording.
enum Start<'a> {
    Spawn,
    Resume(&'a std::path::Path),
}

pub fn config(policy: AskForApproval) -> SessionConfig {
    let mut c = SessionConfig::new("test-model", "/work/project");
    c.approval_policy = Some(policy);
    c.session_id = Some("session-1".into());
    c.auto_compact = AutoCompact::Off;
    c.stream_max_retries = 2;
    c
}

impl Harness {
    pub async fn start(responses: Vec<ScriptedResponse>, policy: AskForApproval) -> Self {
        Self::start_with(responses, config(policy), FakeShell::with(&[])).await
    }

    pub async fn start_with(
        responses: Vec<ScriptedResponse>,
        config: SessionConfig,
        shell: Arc<FakeShell>,
    ) -> Self {
        let ports = Ports {
            shell: Some(shell.clone()),
            ..Ports::default()
        };
        Self::open(responses, config, shell, ports, Start::Spawn).await
    }

    /// A new session whose ports are the harness's fakes except those given in `ports`.
    pub async fn start_with_services(
        responses: Vec<ScriptedResponse>,
        config: SessionConfig,
        ports: Ports,
    ) -> Self {
        Self::open(responses, config, FakeShell::with(&[]), ports, Start::Spawn).await
    }

    /// A new session whose model the test answers by hand through the returned handle.
    pub async fn start_by_hand(
        config: SessionConfig,
        shell: Arc<FakeShell>,
    ) -> (Self, ModelHandle) {
        let (model, handle) = HandleModel::new();
        let ports = Ports {
            model: Some(Arc::new(model)),
            shell: Some(shell.clone()),
            ..Ports::default()
        };
        let h = Self::open(Vec::new(), config, shell, ports, Start::Spawn).await;
        (h, handle)
    }

    /// Resume the recording at `path` with these ports (a recorder that can read it must be
    /// among them).
    pub async fn resume_with_services(
        responses: Vec<ScriptedResponse>,
        config: SessionConfig,
        ports: Ports,
        path: &std::path::Path,
    ) -> Self {
        Self::open(
            responses,
            config,
            FakeShell::with(&[]),
            ports,
            Start::Resume(path),
        )
        .await
    }

    async fn open(
        responses: Vec<ScriptedResponse>,
        config: SessionConfig,
        shell: Arc<FakeShell>,
        ports: Ports,
        start: Start<'_>,
    ) -> Self {
        let model = Arc::new(ScriptedModel::new(responses));
        let recorder = Arc::new(MemoryRecorder::new());
        let fs = Arc::new(MemoryFileSystem::new());
        let records_in_memory = ports.recorder.is_none();
        let mut builder = SessionServices::builder(ports.model.unwrap_or_else(|| model.clone()))
            .recorder(ports.recorder.unwrap_or_else(|| recorder.clone()))
            .shell(ports.shell.unwrap_or_else(|| shell.clone()))
            .fs(ports.fs.unwrap_or_else(|| fs.clone()));
        if let Some(notifier) = ports.notifier {
            builder = builder.notifier(notifier);
        }
        if let Some(sandbox) = ports.sandbox {
            builder = builder.sandbox(sandbox);
        }
        let services = builder.build();
        let session = match start {
            Start::Spawn => Session::spawn(config, services).await.unwrap(),
            Start::Resume(path) => Session::resume(config, services, path).await.unwrap(),
        };
        let mut h = Self {
            session,
            model,
            recorder,
            shell,
            fs,
            events: Vec::new(),
            records_in_memory,
        };
        let first = h.next().await;
        assert!(matches!(first.msg, EventMsg::SessionConfigured { .. }));
        h
    }

    /// The next event; fails the test after [`WAIT`].
    pub async fn next(&mut self) -> Event {
        let e = tokio::time::timeout(WAIT, self.session.next_event())
            .await
            .expect("timed out waiting for an event")
            .expect("the session ended");
        self.events.push(e.clone());
        e
    }

    /// Read events until one of this kind; returns it.
    pub async fn until(&mut self, kind: &str) -> Event {
        loop {
            let e = self.next().await;
            if e.msg.kind() == kind {
                return e;
            }
        }
    }

    /// Events read so far of this kind.
    pub fn seen(&self, kind: &str) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| e.msg.kind() == kind)
            .collect()
    }

    /// Index of the first event read so far that matches.
    pub fn position(&self, f: impl Fn(&EventMsg) -> bool) -> Option<usize> {
        self.events.iter().position(|e| f(&e.msg))
    }

    /// Read events until the terminal event of a turn.
    pub async fn until_turn_ends(&mut self) -> Event {
        loop {
            let e = self.next().await;
            if e.msg.is_turn_terminal() {
                return e;
            }
        }
    }

    /// Shut down, read every remaining event, check the invariants, and return the shape.
    pub async fn finish(mut self) -> String {
        let events = &mut self.events;
        let session = &mut self.session;
        tokio::time::timeout(WAIT, async {
            session.shutdown().await.unwrap();
            while let Some(e) = session.next_event().await {
                events.push(e);
            }
        })
        .await
        .expect("timed out waiting for the session to shut down");
        check_invariants(&self.events);
        if self.records_in_memory {
            check_recording(&self.recorder.lines(), &self.events);
            assert!(self.recorder.is_shut_down());
        }
        for req in self.model.requests() {
            req.input.check_well_formed().unwrap();
        }
        shape(&self.events)
    }
}

/// One line per event; runs of the same delta collapse into one line with a count.
pub fn shape(events: &[Event]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut last_delta: Option<(String, usize)> = None;
    let flush = |lines: &mut Vec<String>, last: &mut Option<(String, usize)>| {
        if let Some((l, n)) = last.take() {
            lines.push(if n > 1 { format!("{l} x{n}") } else { l });
        }
    };
    for e in events {
        let id = if e.id.is_empty() { "-" } else { &e.id };
        let detail = match &e.msg {
            EventMsg::AgentMessageDelta { .. }
            | EventMsg::AgentReasoningDelta { .. }
            | EventMsg::ExecCommandOutputDelta { .. } => {
                let line = format!("{id} {}", e.msg.kind());
                match &mut last_delta {
                    Some((l, n)) if *l == line => *n += 1,
                    _ => {
                        flush(&mut lines, &mut last_delta);
                        last_delta = Some((line, 1));
                    }
                }
                continue;
            }
            EventMsg::SessionConfigured { model, .. } => format!(" model={model}"),
            EventMsg::AgentMessage { message } => format!(" {message:?}"),
            EventMsg::UserMessage { message } => format!(" {message:?}"),
            EventMsg::Error { message } => format!(" {message:?}"),
            EventMsg::ExecApprovalRequest {
                call_id, command, ..
            } => {
                format!(" {call_id} {command:?}")
            }
            EventMsg::ApplyPatchApprovalRequest {
                call_id, changes, ..
            } => {
                format!(" {call_id} {:?}", changes.keys().collect::<Vec<_>>())
            }
            EventMsg::ExecCommandBegin {
                call_id, command, ..
            } => format!(" {call_id} {command:?}"),
            EventMsg::ExecCommandEnd {
                call_id, exit_code, ..
            } => format!(" {call_id} exit={exit_code}"),
            EventMsg::PatchApplyEnd {
                call_id, success, ..
            } => format!(" {call_id} success={success}"),
            EventMsg::TurnAborted { reason } => format!(" {reason:?}"),
            EventMsg::PatchApplyBegin {
                call_id,
                auto_approved,
                changes,
            } => format!(
                " {call_id} auto_approved={auto_approved} {:?}",
                changes.keys().collect::<Vec<_>>()
            ),
            EventMsg::StreamError { message } => {
                // The wait has jitter: keep the words, not the milliseconds.
                let steady = match message.rsplit_once(" in ") {
                    Some((head, tail)) if tail.ends_with("ms") => format!("{head} in <wait>"),
                    _ => message.clone(),
                };
                format!(" {steady:?}")
            }
            EventMsg::BackgroundEvent { message } => format!(" {message:?}"),
            EventMsg::ConversationPath {
                conversation_id,
                path,
            } => format!(" {conversation_id} {}", path.display()),
            EventMsg::TaskComplete { last_agent_message } => {
                format!(" last={last_agent_message:?}")
            }
            EventMsg::TokenCount { info, .. } => format!(
                " total={} last={}",
                info.total_token_usage.total_tokens, info.last_token_usage.total_tokens
            ),
            _ => String::new(),
        };
        flush(&mut lines, &mut last_delta);
        lines.push(format!("{id} {}{detail}", e.msg.kind()));
    }
    flush(&mut lines, &mut last_delta);
    lines.join("\n")
}

/// DESIGN.md's invariants on one session's events (1, 2, 3, and the shutdown rule).
pub fn check_invariants(events: &[Event]) {
    assert!(
        matches!(
            events.first().map(|e| &e.msg),
            Some(EventMsg::SessionConfigured { .. })
        ),
        "invariant 1: the first event must be session_configured"
    );
    let configured = events
        .iter()
        .filter(|e| matches!(e.msg, EventMsg::SessionConfigured { .. }))
        .count();
    assert_eq!(configured, 1, "session_configured must appear once");
    if let Some(pos) = events
        .iter()
        .position(|e| e.msg == EventMsg::ShutdownComplete)
    {
        assert_eq!(
            pos,
            events.len() - 1,
            "shutdown_complete must be the last event"
        );
    }
    // Turns: by submission id.
    let mut started: HashSet<&str> = HashSet::new();
    let mut ended: HashSet<&str> = HashSet::new();
    let mut open_execs: HashMap<&str, &str> = HashMap::new();
    let mut running: Option<&str> = None;
    for e in events {
        let id = e.id.as_str();
        match &e.msg {
            EventMsg::TaskStarted { .. } => {
                assert!(started.insert(id), "invariant 2: turn {id} started twice");
                assert!(
                    running.is_none(),
                    "invariant 2: turn {id} started while {running:?} runs"
                );
                running = Some(id);
            }
            m if m.is_turn_terminal() => {
                assert!(
                    started.contains(id),
                    "invariant 2: turn {id} ended without starting"
                );
                assert!(ended.insert(id), "invariant 2: turn {id} ended twice");
                assert_eq!(
                    running,
                    Some(id),
                    "invariant 2: {id} ended but was not running"
                );
                let open: Vec<_> = open_execs.iter().filter(|(_, t)| **t == id).collect();
                assert!(
                    open.is_empty(),
                    "invariant 3: commands {open:?} had no end before the turn ended"
                );
                running = None;
            }
            EventMsg::ExecCommandBegin { call_id, .. } => {
                assert!(
                    open_execs.insert(call_id, id).is_none(),
                    "exec {call_id} began twice"
                );
            }
            EventMsg::ExecCommandEnd { call_id, .. } => {
                assert!(
                    open_execs.remove(call_id.as_str()).is_some(),
                    "invariant 3: exec {call_id} ended without a begin"
                );
            }
            _ => {
                if ended.contains(id) && !matches!(e.msg, EventMsg::Error { .. }) {
                    panic!(
                        "invariant 2: {} of turn {id} after its terminal event",
                        e.msg.kind()
                    );
                }
            }
        }
    }
    assert_eq!(started, ended, "invariant 2: every started turn must end");
    assert!(
        open_execs.is_empty(),
        "invariant 3: commands without end: {open_execs:?}"
    );
}

/// Invariants 5 and 7 on a memory recording: history well formed, and each terminal event
/// recorded after everything of its turn.
pub fn check_recording(lines: &[RolloutItem], events: &[Event]) {
    let mut history = ConversationHistory::new();
    let mut terminals = 0;
    for line in lines {
        match line {
            RolloutItem::ResponseItem(item) => history.record_shared([item.clone()]),
            RolloutItem::Compacted(_) => history = ConversationHistory::new(),
            RolloutItem::Event(e) if e.is_turn_terminal() => {
                terminals += 1;
                history
                    .check_well_formed()
                    .expect("invariant 5/7: history at a terminal event must be well formed");
            }
            _ => {}
        }
    }
    history
        .check_well_formed()
        .expect("invariant 5: recorded history is well formed");
    let emitted = events.iter().filter(|e| e.msg.is_turn_terminal()).count();
    assert_eq!(
        terminals, emitted,
        "invariant 7: every terminal event is recorded"
    );
}

/// Text of every user message in a request's input.
pub fn user_texts(req: &session_core::services::ModelRequest) -> Vec<String> {
    req.input
        .parsed()
        .filter(|i| i.role() == Some("user"))
        .filter_map(|i| i.message_text())
        .collect()
}

/// Outputs of tool calls in a request's input.
pub fn tool_outputs(req: &session_core::services::ModelRequest) -> Vec<String> {
    req.input
        .parsed()
        .filter_map(|i| match i {
            session_core::ResponseItem::FunctionCallOutput { output, .. } => Some(output),
            _ => None,
        })
        .collect()
}

/// The next request of a model answered by hand; fails the test after [`WAIT`].
pub async fn next_request(handle: &mut ModelHandle) -> PendingRequest {
    tokio::time::timeout(WAIT, handle.next_request())
        .await
        .expect("timed out waiting for a model request")
        .expect("the session dropped its model")
}

/// Poll `done` until it holds; fails the test after [`WAIT`]. For effects that happen on
/// another task just after the event the test saw (never to measure time).
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let polled = tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(polled.is_ok(), "timed out waiting until {what}");
}
