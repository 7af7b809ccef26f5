//! Tests of the demo model, through a real session in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use session_core::services::{MemoryRecorder, SessionServices};
use session_core::{EventMsg, Session, SessionConfig};

use super::{COMMAND, DemoModel, INTRO};

/// Run one turn of `text` and return its events, up to the terminal one.
async fn turn(session: &mut Session, text: &str) -> Vec<EventMsg> {
    session.user_input(text).await.unwrap();
    let mut events = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), session.next_event())
            .await
            .expect("the turn did not end in time")
            .expect("the session ended");
        let done = event.msg.is_turn_terminal();
        events.push(event.msg);
        if done {
            return events;
        }
    }
}

fn messages(events: &[EventMsg]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            EventMsg::AgentMessage { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_looks_around_summarizes_and_then_answers_plainly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("marker-file.txt"), "x").unwrap();
    let services = SessionServices::builder(Arc::new(DemoModel))
        .recorder(Arc::new(MemoryRecorder::new()))
        .build();
    let mut config = SessionConfig::new("demo", dir.path());
    config.context_window = Some(super::CONTEXT_WINDOW);
    let mut session = Session::spawn(config, services).await.unwrap();

    let first = turn(&mut session, "what is here?").await;
    assert!(matches!(first.last(), Some(EventMsg::TaskComplete { .. })));
    let begin = first
        .iter()
        .find_map(|e| match e {
            EventMsg::ExecCommandBegin { command, .. } => Some(command.clone()),
            _ => None,
        })
        .expect("the demo ran a command");
    assert_eq!(begin, COMMAND.map(str::to_owned).to_vec());
    assert!(
        !first
            .iter()
            .any(|e| matches!(e, EventMsg::ExecApprovalRequest { .. })),
        "ls -la is read-only and must not ask"
    );
    let deltas = first
        .iter()
        .filter(|e| matches!(e, EventMsg::AgentMessageDelta { .. }))
        .count();
    assert!(deltas > 3, "the reply streams in several deltas");
    assert!(
        matches!(first.last(), Some(EventMsg::TaskComplete { last_agent_message: Some(m) }) if m.contains("The command printed")),
        "the summary is the turn's last message: {:?}",
        first.last()
    );
    let said = messages(&first);
    assert_eq!(said[0], INTRO);
    assert!(said[1].contains("The command printed"), "{said:?}");
    assert!(
        said[1].contains("marker-file.txt") || said[1].contains("more"),
        "{said:?}"
    );
    assert!(
        first
            .iter()
            .any(|e| matches!(e, EventMsg::TokenCount { info, .. } if info.total_token_usage.output_tokens > 0)),
        "the demo reports usage"
    );

    let second = turn(&mut session, "and now?").await;
    assert!(matches!(second.last(), Some(EventMsg::TaskComplete { .. })));
    assert!(
        !second
            .iter()
            .any(|e| matches!(e, EventMsg::ExecCommandBegin { .. })),
        "a continued session answers without running ls again"
    );
    assert!(messages(&second)[0].contains("offline demo model"));
    session.shutdown().await.unwrap();
}
