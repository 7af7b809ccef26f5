//! Tests of the submission loop's own safety net, which no port can reach: a panic while
//! handling a submission ends the session with an `error` naming it, shuts the recorder down
//! and closes the event stream.
//!
//! Every port is guarded (`guard.rs` turns their panics into errors), so the panic comes from
//! what `handle_submission` calls itself: starting a turn's task, through the session's
//! `spawn_turn` seam.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use session_services::{MemoryRecorder, ScriptedModel};
use session_state::ActiveTurn;

use super::*;

/// Long enough for any event of this test; the stream must close well before.
const WAIT: Duration = Duration::from_secs(10);

/// A turn spawner that panics, as starting a task can (no runtime, a bug in the turn's setup).
fn panicking_spawn(_: Arc<SessionInner>, _: ActiveTurn, _: Vec<InputItem>) -> JoinHandle<()> {
    panic!("starting the turn's task failed")
}

#[tokio::test]
async fn a_panic_in_the_submission_loop_ends_the_session_with_an_error_and_closes_the_stream() {
    let recorder = Arc::new(MemoryRecorder::new());
    let services = SessionServices::builder(Arc::new(ScriptedModel::new([])))
        .recorder(Arc::clone(&recorder) as Arc<dyn session_services::Recorder>)
        .build();
    let config = SessionConfig::new("test-model", std::env::temp_dir());
    let mut session = Session::spawn_with(config, services, Tools::builtin(), panicking_spawn)
        .await
        .unwrap();
    let first = session.next_event().await.unwrap();
    assert!(matches!(first.msg, EventMsg::SessionConfigured { .. }));

    session
        .submit_with_id(Submission {
            id: "sub-7".to_owned(),
            op: Op::UserInput {
                items: vec![InputItem::Text {
                    text: "hello".to_owned(),
                }],
            },
        })
        .await
        .unwrap();

    // Everything up to the end of the stream: the stream must end (`None`), not hang.
    let mut events = Vec::new();
    while let Some(event) = tokio::time::timeout(WAIT, session.next_event())
        .await
        .expect("the event stream stays open after the submission loop panicked")
    {
        events.push(event);
    }
    let [event] = events.as_slice() else {
        panic!("one error and nothing else, got {events:?}");
    };
    assert_eq!(event.id, "sub-7");
    let EventMsg::Error { message } = &event.msg else {
        panic!("an error, got {event:?}");
    };
    assert_eq!(
        message,
        "the session's submission loop panicked handling submission sub-7: starting the turn's \
         task failed; the session has ended"
    );
    assert!(recorder.is_shut_down(), "the recorder was not shut down");
    assert!(matches!(
        session.user_input("anyone there?").await,
        Err(SessionError::Closed)
    ));
}
