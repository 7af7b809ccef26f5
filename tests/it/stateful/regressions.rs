//! Deterministic replays of failures the state-machine test found, one test per bug, so each
//! stays covered without depending on a random schedule. Each test names the invariant it
//! guards; it must not loosen a check to pass.

use std::time::Duration;

use session_core::services::ScriptedResponse;
use session_core::{AskForApproval, EventMsg, Op};

use crate::support::{Harness, WAIT, check_invariants, shape};

/// Found by the state-machine test: input queued in a turn that the shutdown aborts is reported
/// with a `background_event` carrying the aborted turn's id, emitted after that turn's
/// `turn_aborted` (session-core/src/inner.rs, `finalize`) — an event of the turn after its
/// terminal event, against invariant 2.
#[tokio::test]
async fn shutdown_with_queued_input_emits_nothing_of_the_turn_after_its_terminal_event() {
    let mut h = Harness::start(
        vec![ScriptedResponse::new().delay(Duration::from_secs(600))],
        AskForApproval::Untrusted,
    )
    .await;
    let first = h.session.user_input("first").await.unwrap();
    h.until("task_started").await;
    h.session.user_input("queued").await.unwrap();
    h.session.shutdown().await.unwrap();
    while let Some(e) = h.session.next_event().await {
        h.events.push(e);
    }
    // The user is told the queued input was not sent (invariant 6)…
    assert!(
        h.events.iter().any(|e| matches!(&e.msg,
            EventMsg::BackgroundEvent { message } if message.contains("not sent"))),
        "{:#?}",
        h.events
    );
    // …but not as an event of the turn that already ended.
    let end = h
        .events
        .iter()
        .position(|e| e.id == first && e.msg.is_turn_terminal())
        .expect("the turn ended");
    let after: Vec<&str> = h.events[end + 1..]
        .iter()
        .filter(|e| e.id == first)
        .map(|e| e.msg.kind())
        .collect();
    assert!(
        after.is_empty(),
        "events of turn {first} after its terminal event: {after:?}"
    );
    check_invariants(&h.events);
}

/// Found by the state-machine test: a call id the model reuses from an earlier response (already
/// answered) is taken as a new call. It runs (a second `exec_command_begin` under the same id)
/// and history gets the id twice, so the next request is malformed, against invariant 5. The
/// core drops repeats only within one response and among open calls
/// (session-core/src/turn.rs, `sample_once`: `begin_call` and `dedupe_calls`).
#[tokio::test]
async fn a_call_id_reused_from_an_earlier_response_keeps_history_well_formed() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new().shell_call("c1", &["echo", "one"]),
            ScriptedResponse::new().shell_call("c1", &["echo", "two"]),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("go").await.unwrap();
    h.until_turn_ends().await;
    for (i, req) in h.model.requests().iter().enumerate() {
        if let Err(e) = req.input.check_well_formed() {
            panic!("invariant 5: request {i} is malformed: {e}");
        }
    }
    // The second call runs too, under a fresh id: both are answered, nothing shares an id.
    let begins: Vec<String> = h
        .seen("exec_command_begin")
        .iter()
        .map(|e| match &e.msg {
            EventMsg::ExecCommandBegin { call_id, .. } => call_id.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(begins.len(), 2, "{begins:?}");
    assert_eq!(begins[0], "c1");
    assert_ne!(begins[1], "c1", "the reused id was renumbered");
    h.finish().await;
}

/// Found by the state-machine test: a shutdown processed while a turn that ends by itself is
/// starting the next turn from input queued during its last request lets that turn start after
/// the shutdown began. In `SessionInner::finalize` (session-core/src/inner.rs) the
/// `shutting_down` check and `start_turn` are not atomic with the submission loop's
/// `begin_shutdown` / `abort_turn` / `wait_for_idle_task` (session-core/src/session.rs): the new
/// turn runs after `shutdown_complete`, its items fail to record ("recorder is not open") and
/// the model is called after shutdown. A thread race, so the test repeats the scenario with
/// varying timing and stops at the first violation; with the bug it fails within a few hundred
/// rounds, with the fix every round passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_racing_the_end_of_a_turn_never_lets_another_turn_start() {
    const ROUNDS: u64 = 1_500;
    for round in 0..ROUNDS {
        let mut h = Harness::start(
            vec![
                ScriptedResponse::new()
                    .text("a", 1)
                    .delay(Duration::from_millis(3)),
                ScriptedResponse::new().text("b", 1),
            ],
            AskForApproval::Never,
        )
        .await;
        h.session.user_input("first").await.unwrap();
        h.until("agent_message_delta").await;
        // Queued during the turn's last request: the turn's end starts a new turn with it.
        h.session.user_input("second").await.unwrap();
        // Aim the shutdown at the moment the first turn ends (3 ms after the delta).
        tokio::time::sleep(Duration::from_micros(2_000 + (round * 7_919) % 2_000)).await;
        h.session.submit(Op::Shutdown).await.unwrap();
        while let Some(e) = tokio::time::timeout(WAIT, h.session.next_event())
            .await
            .expect("timed out waiting for the session to end")
        {
            h.events.push(e);
        }
        let last = h.events.last().map(|e| &e.msg);
        assert!(
            matches!(last, Some(EventMsg::ShutdownComplete)),
            "round {round}: events after shutdown_complete:\n{}",
            shape(&h.events)
        );
    }
}
