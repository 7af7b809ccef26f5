//! The recorder at the boundary, played by a mockall mock: which calls a turn makes, in which
//! order, and that all of them happened before the front-end hears the turn ended.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use mockall::Sequence;
use session_core::services::mocks::MockRecorder;
use session_core::services::{RolloutItem, ScriptedModel, ScriptedResponse, SessionServices};
use session_core::{AskForApproval, EventMsg, ResponseItem, Session};
use session_testkit::FakeShell;

use crate::support::{WAIT, config};

type Log = Arc<Mutex<Vec<String>>>;

/// One readable line per recorder call (per line for `record`).
fn describe(item: &RolloutItem) -> String {
    match item {
        RolloutItem::SessionMeta(m) => format!("meta {}", m.id),
        RolloutItem::ResponseItem(i) => match i.item() {
            ResponseItem::Message { role, .. } => {
                let text = i.item().message_text().unwrap_or_default();
                let first = text.lines().next().unwrap_or_default().to_owned();
                format!("item {role} {first}")
            }
            ResponseItem::FunctionCall { call_id, .. } => format!("item call {call_id}"),
            ResponseItem::FunctionCallOutput { call_id, .. } => format!("item output {call_id}"),
            _ => "item other".to_owned(),
        },
        RolloutItem::Event(e) => format!("event {}", e.kind()),
        RolloutItem::Compacted(_) => "compacted".to_owned(),
        RolloutItem::ApprovedCommand(c) => format!("approved {c:?}"),
        _ => "other".to_owned(),
    }
}

/// A recorder mock expecting exactly the calls of one plain-text turn, in order.
fn expect_one_turn(log: &Log) -> MockRecorder {
    let mut rec = MockRecorder::new();
    let mut seq = Sequence::new();
    let l = log.clone();
    rec.expect_start()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |meta| {
            l.lock().unwrap().push(format!("start {}", meta.id));
            Ok(PathBuf::from("/recordings/session-1.jsonl"))
        });
    let records: [fn(&Vec<RolloutItem>) -> bool; 6] = [
        |items| matches!(items.as_slice(), [RolloutItem::ResponseItem(i)] if i.item().message_text().is_some_and(|t| t.starts_with("<environment_context>"))),
        |items| matches!(items.as_slice(), [RolloutItem::ResponseItem(i)] if i.item().role() == Some("user")),
        |items| {
            matches!(
                items.as_slice(),
                [RolloutItem::Event(EventMsg::UserMessage { .. })]
            )
        },
        |items| matches!(items.as_slice(), [RolloutItem::ResponseItem(i)] if i.item().role() == Some("assistant")),
        |items| {
            matches!(
                items.as_slice(),
                [RolloutItem::Event(EventMsg::AgentMessage { .. })]
            )
        },
        |items| {
            matches!(
                items.as_slice(),
                [RolloutItem::Event(EventMsg::TaskComplete { .. })]
            )
        },
    ];
    for matcher in records {
        let l = log.clone();
        rec.expect_record()
            .withf(matcher)
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |items| {
                l.lock().unwrap().extend(items.iter().map(describe));
                Ok(())
            });
    }
    let l = log.clone();
    rec.expect_flush()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move || {
            l.lock().unwrap().push("flush".to_owned());
            Ok(())
        });
    let l = log.clone();
    rec.expect_shutdown()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move || {
            l.lock().unwrap().push("shutdown".to_owned());
            Ok(())
        });
    rec
}

#[tokio::test]
async fn the_recorder_gets_every_item_in_order_and_a_flush_before_the_turn_ends() {
    let log: Log = Arc::default();
    let recorder = expect_one_turn(&log);
    let model = Arc::new(ScriptedModel::new([
        ScriptedResponse::new().text("hello", 2)
    ]));
    let services = SessionServices::builder(model)
        .recorder(Arc::new(recorder))
        .shell(FakeShell::with(&[]))
        .build();
    let mut session = Session::spawn(config(AskForApproval::Never), services)
        .await
        .unwrap();
    assert_eq!(
        session.rollout_path(),
        std::path::Path::new("/recordings/session-1.jsonl")
    );
    session.user_input("hi").await.unwrap();

    // Read up to the terminal event; what the recorder had by then is what counts.
    let at_terminal = tokio::time::timeout(WAIT, async {
        loop {
            let e = session.next_event().await.expect("the session ended");
            if e.msg.is_turn_terminal() {
                return log.lock().unwrap().clone();
            }
        }
    })
    .await
    .expect("timed out waiting for the turn to end");
    assert_eq!(
        at_terminal,
        [
            "start session-1",
            "item user <environment_context>",
            "item user hi",
            "event user_message",
            "item assistant hello",
            "event agent_message",
            "event task_complete",
            "flush",
        ]
        .map(String::from)
    );

    let last = tokio::time::timeout(WAIT, async {
        session.shutdown().await.unwrap();
        let mut last = None;
        while let Some(e) = session.next_event().await {
            last = Some(e.msg);
        }
        last
    })
    .await
    .expect("timed out shutting down");
    assert_eq!(last, Some(EventMsg::ShutdownComplete));
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log.iter().filter(|l| *l == "shutdown").count(),
        1,
        "shutdown makes the recording durable exactly once: {log:?}"
    );
    assert_eq!(log.last().map(String::as_str), Some("shutdown"));
    assert_eq!(
        log.len(),
        at_terminal.len() + 1,
        "nothing else after the turn: {log:?}"
    );
}

#[tokio::test]
async fn an_interrupted_turn_records_the_closed_call_and_the_note_before_turn_aborted() {
    let log: Log = Arc::default();
    let mut rec = MockRecorder::new();
    let l = log.clone();
    rec.expect_start().times(1).returning(move |_| {
        l.lock().unwrap().push("start".to_owned());
        Ok(PathBuf::from("/recordings/x.jsonl"))
    });
    let l = log.clone();
    rec.expect_record().returning(move |items| {
        l.lock().unwrap().extend(items.iter().map(describe));
        Ok(())
    });
    let l = log.clone();
    rec.expect_flush().returning(move || {
        l.lock().unwrap().push("flush".to_owned());
        Ok(())
    });
    let l = log.clone();
    rec.expect_shutdown().times(1).returning(move || {
        l.lock().unwrap().push("shutdown".to_owned());
        Ok(())
    });
    let shell = FakeShell::with(&[("make", session_testkit::FakeRun::Hang("working\n".into()))]);
    let model = Arc::new(ScriptedModel::new([
        ScriptedResponse::new().shell_call("c1", &["make"])
    ]));
    let services = SessionServices::builder(model)
        .recorder(Arc::new(rec))
        .shell(shell)
        .build();
    let mut session = Session::spawn(config(AskForApproval::Never), services)
        .await
        .unwrap();
    session.user_input("build").await.unwrap();
    let at_terminal = tokio::time::timeout(WAIT, async {
        loop {
            let e = session.next_event().await.expect("the session ended");
            if matches!(e.msg, EventMsg::ExecCommandOutputDelta { .. }) {
                session.interrupt().await.unwrap();
            }
            if e.msg.is_turn_terminal() {
                assert!(matches!(e.msg, EventMsg::TurnAborted { .. }));
                return log.lock().unwrap().clone();
            }
        }
    })
    .await
    .expect("timed out waiting for the turn to end");
    assert_eq!(
        at_terminal,
        [
            "start",
            "item user <environment_context>",
            "item user build",
            "event user_message",
            "item call c1",
            "item output c1",
            "item user <turn_aborted>The user interrupted the previous turn; its unfinished tool calls were stopped.</turn_aborted>",
            "event turn_aborted",
            "flush",
        ]
        .map(String::from)
    );
    tokio::time::timeout(WAIT, async {
        session.shutdown().await.unwrap();
        while session.next_event().await.is_some() {}
    })
    .await
    .expect("timed out shutting down");
    assert_eq!(
        log.lock()
            .unwrap()
            .iter()
            .filter(|l| *l == "shutdown")
            .count(),
        1
    );
}
