//! Running one generated case: a session on its own multi-threaded runtime, a driver task that
//! submits the case's operations with small pauses, and a reader that consumes every event and
//! answers approval requests as the case says. Everything is bounded by timeouts; the outcome
//! (events, the submission log, the fakes) goes to `check.rs`. It asserts nothing itself apart
//! from what can only be seen while running (the recording at the moment a turn ends).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use session_core::services::{
    MemoryFileSystem, MemoryRecorder, ProcessShell, RolloutItem, ScriptStep, ScriptedModel,
    ScriptedResponse, SessionServices, Shell,
};
use session_core::{
    AutoCompact, Event, EventMsg, InputItem, Op, ReviewDecision, SandboxPolicy, Session,
    SessionConfig, Submitter, TurnContextOverride,
};
use tokio::task::JoinSet;

use super::fake::{self, FakeShell};
use super::plan::{Answer, Case, Cmd, PatchKind, Reply, Step, UserOp, WORDS};
use super::procs::reported_pids;

/// Longest wait for any one event.
const EVENT_WAIT: Duration = Duration::from_secs(20);
/// Longest a whole case may run.
const CASE_WAIT: Duration = Duration::from_secs(60);
/// Auto-compaction threshold of the cases that compact automatically.
const AUTO_COMPACT_TOKENS: u64 = 150;

/// Which kind of approval a request or decision is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Exec,
    Patch,
}

impl Kind {
    fn other(self) -> Self {
        match self {
            Kind::Exec => Kind::Patch,
            Kind::Patch => Kind::Exec,
        }
    }
}

/// What a logged submission was.
#[derive(Debug, Clone)]
pub(crate) enum Sent {
    Input(String),
    /// Refused with exactly one `error`; the input it carried (if any) must go nowhere.
    Rejected(Option<String>),
    Interrupt,
    Compact,
    Override,
    PathQuery,
    Decision {
        call_id: String,
        kind: Kind,
        decision: ReviewDecision,
    },
    Shutdown,
}

/// One submission, in the order the session received them.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) sent: Sent,
}

/// Everything a case produced.
pub(crate) struct Run {
    pub(crate) events: Vec<Event>,
    pub(crate) log: Vec<Entry>,
    /// Violations seen while running, and timeouts.
    pub(crate) problems: Vec<String>,
    /// Whether `next_event` returned `None` (the session and all its tasks are gone).
    pub(crate) stream_ended: bool,
    /// Process ids real commands reported.
    pub(crate) pids: Vec<i32>,
    pub(crate) model: Arc<ScriptedModel>,
    pub(crate) recorder: Arc<MemoryRecorder>,
    pub(crate) fake: Option<Arc<FakeShell>>,
}

/// Submits for the driver and the reader in one order, logging each submission.
struct Client {
    inner: tokio::sync::Mutex<(Submitter, Vec<Entry>)>,
}

impl Client {
    async fn send(&self, op: Op, sent: Sent) {
        let mut guard = self.inner.lock().await;
        // After shutdown the session is closed; such submissions are simply not logged.
        if let Ok(id) = guard.0.submit(op).await {
            guard.1.push(Entry { id, sent });
        }
    }

    async fn decide(&self, call_id: &str, kind: Kind, decision: ReviewDecision) {
        let id = call_id.to_owned();
        let op = match kind {
            Kind::Exec => Op::ExecApproval { id, decision },
            Kind::Patch => Op::PatchApproval { id, decision },
        };
        let sent = Sent::Decision {
            call_id: call_id.to_owned(),
            kind,
            decision,
        };
        self.send(op, sent).await;
    }
}

/// What the reader has seen, for the driver.
#[derive(Debug, Default)]
struct Tracker {
    requests: Vec<(String, Kind)>,
    running: bool,
}

fn text(seed: usize, words: u8) -> String {
    (0..usize::from(words))
        .map(|i| WORDS[(seed + i * 3) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn argv(cmd: Cmd, real: bool, marker: &str) -> Vec<String> {
    let sh = |script: &str| vec!["sh".into(), "-c".into(), script.into(), marker.into()];
    match (cmd, real) {
        (Cmd::Safe, _) => vec!["echo".into(), "hi".into()],
        (Cmd::SafeFail, _) => vec!["false".into()],
        (Cmd::Missing, _) => vec![fake::MISSING.into()],
        (Cmd::Unsafe, false) => vec!["make".into(), "build".into()],
        (Cmd::Slow, false) => vec![fake::SLOW.into()],
        (Cmd::Hang, false) => vec![fake::HANG.into()],
        (Cmd::Unsafe, true) => sh("sleep 0.05 & echo pids $$ $!; wait; echo done"),
        (Cmd::Slow, true) => sh("echo pids $$; sleep 0.02; echo slow"),
        (Cmd::Hang, true) => sh("sleep 30 & echo pids $$ $!; wait"),
    }
}

fn patch_text(kind: PatchKind, call_id: &str) -> String {
    match kind {
        PatchKind::AddInside => {
            format!("*** Begin Patch\n*** Add File: notes/{call_id}.txt\n+hello\n*** End Patch")
        }
        PatchKind::AddOutside => {
            format!("*** Begin Patch\n*** Add File: ../outside-{call_id}.txt\n+x\n*** End Patch")
        }
        PatchKind::UpdateMissing => {
            "*** Begin Patch\n*** Update File: missing.txt\n@@\n-a\n+b\n*** End Patch".into()
        }
        PatchKind::Garbage => "this is not a patch".into(),
    }
}

/// The scripted model's responses for a case; call ids are unique (`c<response>_<step>`).
fn script(case: &Case, marker: &str) -> Vec<ScriptedResponse> {
    let mut out = Vec::with_capacity(case.responses.len());
    let mut earlier_call: Option<String> = None;
    for (r, steps) in case.responses.iter().enumerate() {
        if let Some(id) = &last_call_of(&out) {
            earlier_call = Some(id.clone());
        }
        let mut resp = ScriptedResponse::new();
        let mut last_call: Option<String> = None;
        for (k, step) in steps.iter().enumerate() {
            let call_id = format!("c{r}_{k}");
            resp = match *step {
                Step::Text { words, deltas } => resp.text(text(r + k, words), deltas.into()),
                Step::Reasoning { words, deltas } => {
                    resp.reasoning(text(r * 7 + k, words), deltas.into())
                }
                Step::Shell(cmd) => {
                    last_call = Some(call_id.clone());
                    let command = argv(cmd, case.real_shell, marker);
                    resp.tool_call(call_id, "shell", json!({ "command": command }))
                }
                Step::Patch(kind) => {
                    last_call = Some(call_id.clone());
                    let input = patch_text(kind, &call_id);
                    resp.tool_call(call_id, "apply_patch", json!({ "input": input }))
                }
                Step::RepeatCallId => match &last_call {
                    Some(id) => resp.tool_call(
                        id.clone(),
                        "shell",
                        json!({ "command": ["echo", "repeat"] }),
                    ),
                    None => resp,
                },
                Step::ReuseEarlierCallId => match &earlier_call {
                    Some(id) => resp.tool_call(
                        id.clone(),
                        "shell",
                        json!({ "command": ["echo", "reused"] }),
                    ),
                    None => resp,
                },
                Step::UnknownTool => resp.tool_call(call_id, "teleport", json!({ "to": "mars" })),
                Step::BadShellArgs => resp.tool_call(call_id, "shell", json!({ "command": "ls" })),
                Step::Delay(ms) => resp.delay(Duration::from_millis(ms.into())),
                Step::Usage(i, o) => resp.usage(i.into(), o.into()),
                Step::Error { retryable } => resp.error("injected failure", retryable),
                Step::Disconnect => resp.disconnect(),
            };
        }
        out.push(resp);
    }
    out
}

/// The call id of the last tool call of the last response built so far.
fn last_call_of(responses: &[ScriptedResponse]) -> Option<String> {
    responses.last()?.steps.iter().rev().find_map(|s| match s {
        ScriptStep::ToolCall { call_id, .. } => Some(call_id.clone()),
        _ => None,
    })
}

/// Run one case to the end of its event stream (or a timeout).
pub(crate) fn run_case(case: &Case, marker: &str) -> Run {
    let model = Arc::new(ScriptedModel::new(script(case, marker)));
    let recorder = Arc::new(MemoryRecorder::new());
    let fake = (!case.real_shell).then(|| Arc::new(FakeShell::default()));
    let shell: Arc<dyn Shell> = match &fake {
        Some(f) => f.clone(),
        None => Arc::new(ProcessShell::new()),
    };
    let dir = tempfile::tempdir().unwrap();
    let cwd: PathBuf = if case.real_shell {
        dir.path().to_path_buf()
    } else {
        "/stateful/project".into()
    };
    let services = SessionServices::builder(model.clone())
        .recorder(recorder.clone())
        .shell(shell)
        .fs(Arc::new(MemoryFileSystem::new()))
        .build();
    let mut config = SessionConfig::new("test-model", cwd);
    config.approval_policy = Some(case.policy.ask());
    config.session_id = Some("stateful".into());
    config.auto_compact = if case.auto_compact {
        AutoCompact::Tokens(AUTO_COMPACT_TOKENS)
    } else {
        AutoCompact::Off
    };
    config.stream_max_retries = 1;

    let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcome = rt.block_on(async {
        tokio::time::timeout(
            CASE_WAIT,
            drive_and_read(case, config, services, recorder.clone(), seen.clone()),
        )
        .await
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    drop(dir);
    let events = std::mem::take(&mut *seen.lock().unwrap());
    let (log, problems, stream_ended, pids) = match outcome {
        Ok(o) => o,
        Err(_) => (
            Vec::new(),
            vec![format!("the case did not end within {CASE_WAIT:?}")],
            false,
            Vec::new(),
        ),
    };
    Run {
        events,
        log,
        problems,
        stream_ended,
        pids,
        model,
        recorder,
        fake,
    }
}

type Outcome = (Vec<Entry>, Vec<String>, bool, Vec<i32>);

async fn drive_and_read(
    case: &Case,
    config: SessionConfig,
    services: SessionServices,
    recorder: Arc<MemoryRecorder>,
    seen: Arc<Mutex<Vec<Event>>>,
) -> Outcome {
    let cwd = config.cwd.clone();
    let session = match Session::spawn(config, services).await {
        Ok(s) => s,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!("spawn failed: {e}")],
                false,
                vec![],
            );
        }
    };
    let client = Arc::new(Client {
        inner: tokio::sync::Mutex::new((session.submitter(), Vec::new())),
    });
    let tracker: Arc<Mutex<Tracker>> = Arc::default();
    let driver = tokio::spawn(drive(
        case.ops.clone(),
        cwd,
        Arc::clone(&client),
        Arc::clone(&tracker),
    ));
    let reader = Reader {
        client: Arc::clone(&client),
        tracker,
        replies: case.replies.clone(),
        recorder,
        seen,
    };
    let (mut problems, ended, pids) = reader.read(session).await;
    match tokio::time::timeout(EVENT_WAIT, driver).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => problems.push(format!("the driver failed: {e}")),
        Err(_) => problems.push("the driver did not finish".into()),
    }
    let log = std::mem::take(&mut client.inner.lock().await.1);
    (log, problems, ended, pids)
}

/// Submit the case's operations, then `shutdown`.
async fn drive(
    ops: Vec<(u8, UserOp)>,
    cwd: PathBuf,
    client: Arc<Client>,
    tracker: Arc<Mutex<Tracker>>,
) {
    for (i, (pause, op)) in ops.into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(pause.into())).await;
        match op {
            UserOp::Input(words) => {
                let text = format!("in{i}z {}", text(i, words));
                let items = vec![InputItem::Text { text: text.clone() }];
                client
                    .send(Op::UserInput { items }, Sent::Input(text))
                    .await;
            }
            UserOp::EmptyInput => {
                let items = if i % 2 == 0 {
                    Vec::new()
                } else {
                    vec![InputItem::Text { text: " \n".into() }]
                };
                client
                    .send(Op::UserInput { items }, Sent::Rejected(None))
                    .await;
            }
            UserOp::UserTurn {
                words,
                policy,
                bad_sandbox,
            } => {
                let text = format!("in{i}z {}", text(i + 1, words));
                let items = vec![InputItem::Text { text: text.clone() }];
                let (sandbox_policy, sent) = if bad_sandbox {
                    (SandboxPolicy::ReadOnly, Sent::Rejected(Some(text)))
                } else {
                    (SandboxPolicy::DangerFullAccess, Sent::Input(text))
                };
                let op = Op::UserTurn {
                    items,
                    cwd: cwd.clone(),
                    approval_policy: policy.ask(),
                    sandbox_policy,
                    model: "test-model".into(),
                    effort: None,
                    summary: None,
                };
                client.send(op, sent).await;
            }
            UserOp::GetPath => client.send(Op::GetPath, Sent::PathQuery).await,
            UserOp::Interrupt => client.send(Op::Interrupt, Sent::Interrupt).await,
            UserOp::Compact => client.send(Op::Compact, Sent::Compact).await,
            UserOp::Override(policy) => {
                let o = TurnContextOverride {
                    approval_policy: Some(policy.ask()),
                    ..TurnContextOverride::default()
                };
                client
                    .send(Op::OverrideTurnContext(o), Sent::Override)
                    .await;
            }
            UserOp::BadSandbox => {
                let o = TurnContextOverride {
                    sandbox_policy: Some(SandboxPolicy::ReadOnly),
                    ..TurnContextOverride::default()
                };
                client
                    .send(Op::OverrideTurnContext(o), Sent::Rejected(None))
                    .await;
            }
            UserOp::DecideSeen {
                pick,
                decision,
                other_kind,
            } => {
                let target = {
                    let t = tracker.lock().unwrap();
                    let n = t.requests.len();
                    (n > 0).then(|| t.requests[usize::from(pick) % n].clone())
                };
                let (call_id, kind) = target.unwrap_or((format!("never-{i}"), Kind::Exec));
                let kind = if other_kind { kind.other() } else { kind };
                client.decide(&call_id, kind, decision).await;
            }
            UserOp::DecideUnknown(decision) => {
                let kind = if i % 2 == 0 { Kind::Exec } else { Kind::Patch };
                client.decide(&format!("unknown-{i}"), kind, decision).await;
            }
            UserOp::Settle => {
                for _ in 0..60 {
                    if !tracker.lock().unwrap().running {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
    client.send(Op::Shutdown, Sent::Shutdown).await;
}

struct Reader {
    client: Arc<Client>,
    tracker: Arc<Mutex<Tracker>>,
    replies: Vec<Reply>,
    recorder: Arc<MemoryRecorder>,
    seen: Arc<Mutex<Vec<Event>>>,
}

impl Reader {
    /// Read every event until the stream ends; returns problems, whether it ended, and pids.
    async fn read(self, mut session: Session) -> (Vec<String>, bool, Vec<i32>) {
        let mut problems = Vec::new();
        let mut pids = Vec::new();
        let mut answers = JoinSet::new();
        let mut terminals = 0;
        let ended = loop {
            let event = match tokio::time::timeout(EVENT_WAIT, session.next_event()).await {
                Err(_) => {
                    problems.push(format!("no event for {EVENT_WAIT:?}"));
                    break false;
                }
                Ok(None) => break true,
                Ok(Some(e)) => e,
            };
            match &event.msg {
                EventMsg::TaskStarted { .. } => self.tracker.lock().unwrap().running = true,
                m if m.is_turn_terminal() => {
                    self.tracker.lock().unwrap().running = false;
                    terminals += 1;
                    let recorded = self
                        .recorder
                        .lines()
                        .iter()
                        .filter(|l| matches!(l, RolloutItem::Event(m) if m.is_turn_terminal()))
                        .count();
                    if recorded < terminals {
                        problems.push(format!(
                            "invariant 7: terminal event {terminals} ({}) was emitted before it was recorded",
                            event.id
                        ));
                    }
                }
                EventMsg::ExecApprovalRequest { call_id, .. } => {
                    answers.spawn(self.answer(call_id, Kind::Exec));
                }
                EventMsg::ApplyPatchApprovalRequest { call_id, .. } => {
                    answers.spawn(self.answer(call_id, Kind::Patch));
                }
                EventMsg::ExecCommandEnd { stdout, .. } => pids.extend(reported_pids(stdout)),
                _ => {}
            }
            self.seen.lock().unwrap().push(event);
        };
        drop(session);
        let joined = tokio::time::timeout(EVENT_WAIT, async {
            while let Some(r) = answers.join_next().await {
                if let Err(e) = r {
                    return Err(e.to_string());
                }
            }
            Ok(())
        })
        .await;
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => problems.push(format!("an answer task failed: {e}")),
            Err(_) => problems.push("answer tasks did not finish".into()),
        }
        (problems, ended, pids)
    }

    /// The task answering one request as the case's replies say.
    fn answer(&self, call_id: &str, kind: Kind) -> impl Future<Output = ()> + Send + 'static {
        let n = {
            let mut t = self.tracker.lock().unwrap();
            t.requests.push((call_id.to_owned(), kind));
            t.requests.len() - 1
        };
        let reply = self.replies[n % self.replies.len()].clone();
        let client = Arc::clone(&self.client);
        let call_id = call_id.to_owned();
        async move {
            tokio::time::sleep(Duration::from_millis(reply.delay_ms.into())).await;
            match reply.answer {
                Answer::Decide(d) => client.decide(&call_id, kind, d).await,
                Answer::Ignore => {}
                Answer::Twice(a, b) => {
                    client.decide(&call_id, kind, a).await;
                    client.decide(&call_id, kind, b).await;
                }
                Answer::WrongKindFirst(d) => {
                    client.decide(&call_id, kind.other(), d).await;
                    client.decide(&call_id, kind, d).await;
                }
            }
        }
    }
}
