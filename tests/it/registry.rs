//! The tool registry through the façade: an embedder's tool end to end (spec sent, call run,
//! output returned, progress events), its approval, a panicking tool, unknown tools and bad
//! argument JSON, and `update_plan`'s event.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use session_core::services::{
    FakeSandbox, MemoryFileSystem, MemoryRecorder, ScriptedModel, ScriptedResponse,
    SessionServices, ToolSpec,
};
use session_core::{
    AskForApproval, Event, EventMsg, ReviewDecision, Session, SessionConfig, StepStatus, Tool,
    ToolApproval, ToolCallContext, ToolError, ToolPolicy, Tools,
};
use session_testkit::FakeShell;

use crate::support::check_invariants;

/// Adds two numbers; asks first when `ask` is set.
struct Add {
    ask: bool,
}

#[session_core::async_trait]
impl Tool for Add {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "add".into(),
            description: "Add a and b.".into(),
            parameters: json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}),
        }
    }

    fn approval(&self, _arguments: &serde_json::Value, _policy: &ToolPolicy) -> ToolApproval {
        if self.ask {
            ToolApproval::Ask {
                reason: Some("adds things".into()),
            }
        } else {
            ToolApproval::Run
        }
    }

    async fn call(&self, call: ToolCallContext<'_>) -> Result<String, ToolError> {
        let a = call.arguments()["a"].as_f64().unwrap_or(0.0);
        let b = call.arguments()["b"].as_f64().unwrap_or(0.0);
        call.emit(EventMsg::BackgroundEvent {
            message: format!("adding {a} and {b}"),
        });
        Ok(format!("{}", a + b))
    }
}

struct Panics;

#[session_core::async_trait]
impl Tool for Panics {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "boom".into(),
            description: "Panics.".into(),
            parameters: json!({"type": "object"}),
        }
    }

    async fn call(&self, _call: ToolCallContext<'_>) -> Result<String, ToolError> {
        panic!("tool bug")
    }
}

async fn start(
    responses: Vec<ScriptedResponse>,
    tools: Tools,
    policy: AskForApproval,
) -> (Session, Arc<ScriptedModel>) {
    let model = Arc::new(ScriptedModel::new(responses));
    let services = SessionServices::builder(model.clone())
        .recorder(Arc::new(MemoryRecorder::new()))
        .shell(FakeShell::with(&[]))
        .sandbox(Arc::new(FakeSandbox::unavailable("tests")))
        .fs(Arc::new(MemoryFileSystem::new()))
        .build();
    let mut config = SessionConfig::new("m", "/work/project");
    config.approval_policy = Some(policy);
    let session = Session::spawn_with_tools(config, services, tools)
        .await
        .unwrap();
    (session, model)
}

/// Run one turn, answering approval requests with `decision`; every event of it.
async fn turn(
    session: &mut Session,
    decision: ReviewDecision,
    all: &mut Vec<Event>,
) -> Vec<EventMsg> {
    let id = session.user_input("go").await.unwrap();
    let mut out = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), session.next_event())
            .await
            .unwrap()
            .unwrap();
        all.push(e.clone());
        if let EventMsg::ExecApprovalRequest { call_id, .. } = &e.msg {
            session
                .approve_exec(call_id.clone(), decision)
                .await
                .unwrap();
        }
        let end = e.id == id && e.msg.is_turn_terminal();
        out.push(e.msg);
        if end {
            return out;
        }
    }
}

async fn finish(mut session: Session, mut all: Vec<Event>) {
    session.shutdown().await.unwrap();
    while let Some(e) = session.next_event().await {
        all.push(e);
    }
    check_invariants(&all);
}

#[tokio::test]
async fn an_embedders_tool_is_offered_run_and_its_output_sent_back() {
    let (mut session, model) = start(
        vec![
            ScriptedResponse::new().tool_call("c1", "add", json!({"a": 2, "b": 3})),
            ScriptedResponse::new().text("five", 1),
        ],
        Tools::builtin().with(Arc::new(Add { ask: false })),
        AskForApproval::Never,
    )
    .await;
    let mut all = Vec::new();
    let events = turn(&mut session, ReviewDecision::Approved, &mut all).await;
    assert!(events.iter().any(
        |m| matches!(m, EventMsg::BackgroundEvent { message } if message == "adding 2 and 3")
    ));
    let requests = model.requests();
    let names: Vec<&str> = requests[0].tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["shell", "apply_patch", "update_plan", "add"]);
    let output = requests[1]
        .input
        .parsed()
        .find_map(|i| match i {
            session_core::ResponseItem::FunctionCallOutput { call_id, output }
                if call_id == "c1" =>
            {
                Some(output)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(output, "5");
    finish(session, all).await;
}

#[tokio::test]
async fn a_tool_that_asks_runs_only_when_approved_and_for_session_covers_later_calls() {
    let (mut session, model) = start(
        vec![
            ScriptedResponse::new().tool_call("c1", "add", json!({"a": 1, "b": 1})),
            ScriptedResponse::new().text("denied", 1),
            ScriptedResponse::new().tool_call("c2", "add", json!({"a": 1, "b": 2})),
            ScriptedResponse::new().text("approved", 1),
            ScriptedResponse::new().tool_call("c3", "add", json!({"a": 1, "b": 3})),
            ScriptedResponse::new().text("remembered", 1),
        ],
        Tools::builtin().with(Arc::new(Add { ask: true })),
        AskForApproval::OnRequest,
    )
    .await;
    let mut all = Vec::new();
    let first = turn(&mut session, ReviewDecision::Denied, &mut all).await;
    let asked = first
        .iter()
        .find_map(|m| match m {
            EventMsg::ExecApprovalRequest {
                command, reason, ..
            } => Some((command.clone(), reason.clone())),
            _ => None,
        })
        .unwrap();
    assert_eq!(asked.0[0], "add");
    assert_eq!(asked.1.as_deref(), Some("adds things"));
    turn(&mut session, ReviewDecision::ApprovedForSession, &mut all).await;
    let third = turn(&mut session, ReviewDecision::Denied, &mut all).await;
    assert!(
        !third
            .iter()
            .any(|m| matches!(m, EventMsg::ExecApprovalRequest { .. })),
        "approved for the session: {third:#?}"
    );
    let outputs: Vec<String> = model
        .requests()
        .iter()
        .flat_map(crate::support::tool_outputs)
        .collect();
    assert!(
        outputs.iter().any(|o| o.contains("rejected")),
        "{outputs:?}"
    );
    assert!(
        outputs.contains(&"3".to_owned()) && outputs.contains(&"4".to_owned()),
        "{outputs:?}"
    );
    finish(session, all).await;
}

#[tokio::test]
async fn unknown_tools_and_bad_json_get_clear_errors_and_a_panicking_tool_ends_the_turn() {
    let (mut session, model) = start(
        vec![
            ScriptedResponse::new()
                .tool_call("c1", "nope", json!({}))
                .tool_call("c2", "add", json!("not an object")),
            ScriptedResponse::new().text("next", 1),
            ScriptedResponse::new().tool_call("c3", "boom", json!({})),
            ScriptedResponse::new().text("unreached", 1),
            ScriptedResponse::new().text("after", 1),
        ],
        Tools::builtin()
            .with(Arc::new(Add { ask: false }))
            .with(Arc::new(Panics)),
        AskForApproval::Never,
    )
    .await;
    let mut all = Vec::new();
    turn(&mut session, ReviewDecision::Approved, &mut all).await;
    let outputs = crate::support::tool_outputs(&model.requests()[1]);
    assert!(
        outputs[0].starts_with("unknown tool `nope`; the tools are `shell`"),
        "{outputs:?}"
    );
    let second = turn(&mut session, ReviewDecision::Approved, &mut all).await;
    assert!(
        second.iter().any(|m| matches!(m, EventMsg::Error { message } if message.contains("the tool `boom` panicked: tool bug"))),
        "{second:#?}"
    );
    let third = turn(&mut session, ReviewDecision::Approved, &mut all).await;
    assert_eq!(
        third.last(),
        Some(&EventMsg::TaskComplete {
            last_agent_message: Some("unreached".into())
        })
    );
    finish(session, all).await;
}

#[tokio::test]
async fn update_plan_emits_the_plan() {
    let plan = json!({"explanation": "start", "plan": [
        {"step": "read", "status": "completed"},
        {"step": "write", "status": "in_progress"}
    ]});
    let (mut session, model) = start(
        vec![
            ScriptedResponse::new().tool_call("p1", "update_plan", plan),
            ScriptedResponse::new().tool_call("p2", "update_plan", json!({"plan": "bad"})),
            ScriptedResponse::new().text("done", 1),
        ],
        Tools::builtin(),
        AskForApproval::Never,
    )
    .await;
    let mut all = Vec::new();
    let events = turn(&mut session, ReviewDecision::Approved, &mut all).await;
    let plans: Vec<&EventMsg> = events
        .iter()
        .filter(|m| matches!(m, EventMsg::PlanUpdate { .. }))
        .collect();
    assert_eq!(plans.len(), 1, "{events:#?}");
    let EventMsg::PlanUpdate { explanation, plan } = plans[0] else {
        unreachable!()
    };
    assert_eq!(explanation.as_deref(), Some("start"));
    assert_eq!(plan[1].status, StepStatus::InProgress);
    let outputs = crate::support::tool_outputs(&model.requests()[2]);
    assert!(outputs.iter().any(|o| o == "Plan updated"), "{outputs:?}");
    assert!(
        outputs
            .iter()
            .any(|o| o.starts_with("invalid arguments for `update_plan`")),
        "{outputs:?}"
    );
    finish(session, all).await;
}

#[tokio::test]
async fn project_instructions_come_first_in_the_initial_context_and_survive_compaction() {
    let model = Arc::new(ScriptedModel::new(vec![
        ScriptedResponse::new().text("hi", 1),
        ScriptedResponse::new().text("SUMMARY", 1),
        ScriptedResponse::new().text("after", 1),
    ]));
    let services = SessionServices::builder(model.clone())
        .recorder(Arc::new(MemoryRecorder::new()))
        .shell(FakeShell::with(&[]))
        .sandbox(Arc::new(FakeSandbox::unavailable("tests")))
        .fs(Arc::new(MemoryFileSystem::new()))
        .build();
    let mut config = SessionConfig::new("m", "/work/project");
    config.approval_policy = Some(AskForApproval::Never);
    config.user_instructions = Some("Run `make check` before you finish.".into());
    let mut session = Session::spawn(config, services).await.unwrap();
    let mut all = Vec::new();
    turn(&mut session, ReviewDecision::Approved, &mut all).await;
    let id = session.submit(session_core::Op::Compact).await.unwrap();
    loop {
        let e = session.next_event().await.unwrap();
        all.push(e.clone());
        if e.id == id && e.msg.is_turn_terminal() {
            break;
        }
    }
    turn(&mut session, ReviewDecision::Approved, &mut all).await;
    let requests = model.requests();
    for request in [&requests[0], &requests[2]] {
        let texts = crate::support::user_texts(request);
        assert!(
            texts[0].starts_with("<user_instructions>\nRun `make check`"),
            "{texts:?}"
        );
        assert!(texts[1].starts_with("<environment_context>"), "{texts:?}");
    }
    finish(session, all).await;
}
