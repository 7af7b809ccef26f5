//! MCP servers through the façade, on the workspace's test server: startup reported per server
//! (one that crashes does not stop the session), tools offered as `mcp__<server>__<tool>`, calls
//! reported as `mcp_tool_call_begin` / `_end` with the result sent to the model, approval by
//! annotation and policy, and an interrupt that cancels a running call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use session_core::services::mcp::McpServerConfig;
use session_core::services::{
    FakeSandbox, MemoryFileSystem, MemoryRecorder, ScriptedModel, ScriptedResponse, SessionServices,
};
use session_core::{
    AskForApproval, Event, EventMsg, McpStartupStatus, ReviewDecision, Session, SessionConfig,
    TurnAbortReason,
};
use session_testkit::{FakeShell, mcp_test_server};

use crate::support::{check_invariants, tool_outputs};

fn server(mode: &str) -> McpServerConfig {
    let mut config = McpServerConfig::stdio(mcp_test_server().to_string_lossy(), [mode, "basic"]);
    config.startup_timeout = Duration::from_secs(10);
    config
}

async fn start(
    responses: Vec<ScriptedResponse>,
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
    config.mcp_servers = BTreeMap::from([
        ("t".to_owned(), server("serve")),
        ("broken".to_owned(), server("crash")),
    ]);
    (Session::spawn(config, services).await.unwrap(), model)
}

async fn next(session: &mut Session, all: &mut Vec<Event>) -> Event {
    let e = tokio::time::timeout(Duration::from_secs(20), session.next_event())
        .await
        .expect("timed out")
        .expect("the session ended");
    all.push(e.clone());
    e
}

async fn finish(mut session: Session, mut all: Vec<Event>) {
    session.shutdown().await.unwrap();
    while let Some(e) = session.next_event().await {
        all.push(e);
    }
    check_invariants(&all);
}

#[tokio::test]
async fn mcp_tools_are_offered_called_and_reported_and_a_crashed_server_is_only_reported() {
    let (mut session, model) = start(
        vec![
            ScriptedResponse::new()
                .tool_call("c1", "mcp__t__echo", json!({"text": "hello mcp"}))
                .tool_call("c2", "mcp__t__fail", json!({})),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::OnRequest,
    )
    .await;
    let mut all = Vec::new();
    let id = session.user_input("use the tools").await.unwrap();
    let mut asked = Vec::new();
    loop {
        let e = next(&mut session, &mut all).await;
        if let EventMsg::McpApprovalRequest { call_id, tool, .. } = &e.msg {
            asked.push(tool.clone());
            session
                .approve_exec(call_id.clone(), ReviewDecision::Approved)
                .await
                .unwrap();
        }
        if e.id == id && e.msg.is_turn_terminal() {
            break;
        }
    }
    // The read-only echo ran unasked; the other asked under on-request.
    assert_eq!(asked, ["fail"]);
    let startups: Vec<(&str, &McpStartupStatus)> = all
        .iter()
        .filter_map(|e| match &e.msg {
            EventMsg::McpStartupUpdate { server, status } => Some((server.as_str(), status)),
            _ => None,
        })
        .collect();
    assert!(startups.iter().any(|(s, st)| *s == "t" && matches!(st, McpStartupStatus::Ready { tools } if tools.contains(&"echo".to_owned()))), "{startups:?}");
    assert!(
        startups
            .iter()
            .any(|(s, st)| *s == "broken" && matches!(st, McpStartupStatus::Failed { .. })),
        "{startups:?}"
    );
    let ends: Vec<&EventMsg> = all
        .iter()
        .map(|e| &e.msg)
        .filter(|m| matches!(m, EventMsg::McpToolCallEnd { .. }))
        .collect();
    assert_eq!(ends.len(), 2, "{all:#?}");
    let requests = model.requests();
    assert!(requests[0].tools.iter().any(|t| t.name == "mcp__t__echo"));
    assert!(
        !requests[0]
            .tools
            .iter()
            .any(|t| t.name.starts_with("mcp__broken__"))
    );
    let outputs = tool_outputs(&requests[1]);
    assert!(outputs[0].contains("hello mcp"), "{outputs:?}");
    finish(session, all).await;
}

#[tokio::test]
async fn an_interrupt_cancels_a_running_mcp_call_and_the_turn_ends_at_once() {
    let (mut session, _model) = start(
        vec![
            ScriptedResponse::new().tool_call("s1", "mcp__t__sleep", json!({"ms": 30_000})),
            ScriptedResponse::new().text("unreached", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    let mut all = Vec::new();
    let id = session.user_input("sleep").await.unwrap();
    loop {
        let e = next(&mut session, &mut all).await;
        if matches!(e.msg, EventMsg::McpToolCallBegin { .. }) {
            break;
        }
    }
    let interrupted = Instant::now();
    session.interrupt().await.unwrap();
    loop {
        let e = next(&mut session, &mut all).await;
        if e.id == id && e.msg.is_turn_terminal() {
            assert_eq!(
                e.msg,
                EventMsg::TurnAborted {
                    reason: TurnAbortReason::Interrupted
                }
            );
            break;
        }
    }
    assert!(interrupted.elapsed() < Duration::from_secs(5));
    finish(session, all).await;
}

#[tokio::test]
async fn an_mcp_image_reaches_the_model_as_an_image() {
    let (mut session, model) = start(
        vec![
            ScriptedResponse::new().tool_call("m1", "mcp__t__media", json!({})),
            ScriptedResponse::new().text("seen", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    let mut all = Vec::new();
    let id = session.user_input("show me").await.unwrap();
    loop {
        let e = next(&mut session, &mut all).await;
        if e.id == id && e.msg.is_turn_terminal() {
            break;
        }
    }
    let request = &model.requests()[1];
    let image = request.input.parsed().find_map(|item| match item {
        session_core::ResponseItem::Message { role, content, .. } if role == "user" => {
            content.into_iter().find_map(|c| match c {
                session_core::ContentItem::InputImage { image_url } => Some(image_url),
                _ => None,
            })
        }
        _ => None,
    });
    let image = image.expect("an image in the next request");
    assert!(image.starts_with("data:image/"), "{image}");
    finish(session, all).await;
}
