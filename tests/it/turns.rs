//! Turns: plain text, tool calls with every approval decision, interrupts, queued input.

use std::time::Duration;

use session_core::services::{ModelEvent, ScriptedResponse};
use session_core::{AskForApproval, EventMsg, Op, ResponseItem, ReviewDecision, TurnAbortReason};
use session_testkit::{FakeRun, FakeShell};

use crate::support::{Harness, config, next_request, tool_outputs, user_texts};

#[tokio::test]
async fn plain_text_turn_streams_deltas_and_completes() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new()
                .text("Hello there, friend", 3)
                .usage(10, 5),
        ],
        AskForApproval::Untrusted,
    )
    .await;
    h.session.user_input("hi").await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("Hello there, friend".into())
        }
    );
    insta::assert_snapshot!("plain_text_turn", h.finish().await);
}

#[tokio::test]
async fn approved_command_runs_and_its_output_reaches_the_model() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new().shell_call("c1", &["touch", "x"]),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::Untrusted,
    )
    .await;
    h.session.user_input("make x").await.unwrap();
    let req = h.until("exec_approval_request").await;
    assert!(h.shell.runs().is_empty(), "nothing runs before approval");
    h.session
        .approve_exec("c1", ReviewDecision::Approved)
        .await
        .unwrap();
    h.until_turn_ends().await;
    assert_eq!(
        h.shell.runs(),
        vec![vec!["touch".to_owned(), "x".to_owned()]]
    );
    let second = &h.model.requests()[1];
    assert!(tool_outputs(second)[0].contains("ran touch x"));
    let _ = req;
    insta::assert_snapshot!("approved_command", h.finish().await);
}

#[tokio::test]
async fn denied_command_does_not_run_and_the_turn_goes_on() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new().shell_call("c1", &["rm", "-rf", "build"]),
            ScriptedResponse::new().text("ok, I will not", 1),
        ],
        AskForApproval::Untrusted,
    )
    .await;
    h.session.user_input("clean").await.unwrap();
    h.until("exec_approval_request").await;
    h.session
        .approve_exec("c1", ReviewDecision::Denied)
        .await
        .unwrap();
    let end = h.until_turn_ends().await;
    assert!(matches!(end.msg, EventMsg::TaskComplete { .. }));
    assert!(h.shell.runs().is_empty());
    assert!(tool_outputs(&h.model.requests()[1])[0].contains("rejected"));
    insta::assert_snapshot!("denied_command", h.finish().await);
}

#[tokio::test]
async fn approved_for_session_runs_the_same_argv_unasked_but_asks_for_another() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new().shell_call("c1", &["make", "test"]),
            ScriptedResponse::new().shell_call("c2", &["make", "test"]),
            ScriptedResponse::new().shell_call("c3", &["make", "install"]),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::Untrusted,
    )
    .await;
    h.session.user_input("build").await.unwrap();
    let first = h.until("exec_approval_request").await;
    assert!(
        matches!(first.msg, EventMsg::ExecApprovalRequest { ref call_id, .. } if call_id == "c1")
    );
    h.session
        .approve_exec("c1", ReviewDecision::ApprovedForSession)
        .await
        .unwrap();
    let next = h.until("exec_approval_request").await;
    assert!(
        matches!(next.msg, EventMsg::ExecApprovalRequest { ref call_id, .. } if call_id == "c3"),
        "c2 repeats an approved argv and must not ask; c3 differs and must"
    );
    h.session
        .approve_exec("c3", ReviewDecision::Denied)
        .await
        .unwrap();
    h.until_turn_ends().await;
    assert_eq!(h.shell.runs().len(), 2);
    insta::assert_snapshot!("approved_for_session", h.finish().await);
}

#[tokio::test]
async fn abort_decision_interrupts_the_turn_and_closes_the_call() {
    let mut h = Harness::start(
        vec![ScriptedResponse::new().shell_call("c1", &["rm", "x"])],
        AskForApproval::Untrusted,
    )
    .await;
    h.session.user_input("go").await.unwrap();
    h.until("exec_approval_request").await;
    h.session
        .approve_exec("c1", ReviewDecision::Abort)
        .await
        .unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TurnAborted {
            reason: TurnAbortReason::Interrupted
        }
    );
    assert!(h.shell.runs().is_empty());
    insta::assert_snapshot!("abort_decision", h.finish().await);
}

#[tokio::test]
async fn interrupt_while_streaming_aborts_once_and_the_next_input_starts_a_normal_turn() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new()
                .text("partial ", 1)
                .delay(Duration::from_secs(600))
                .text("never", 1),
            ScriptedResponse::new().text("fresh", 1),
        ],
        AskForApproval::Untrusted,
    )
    .await;
    h.session.user_input("talk").await.unwrap();
    h.until("agent_message_delta").await;
    h.session.interrupt().await.unwrap();
    let end = h.until_turn_ends().await;
    assert!(matches!(end.msg, EventMsg::TurnAborted { .. }));
    h.session.user_input("again").await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("fresh".into())
        }
    );
    let texts = user_texts(&h.model.requests()[1]);
    assert!(
        texts.iter().any(|t| t.contains("interrupted")),
        "the model is told: {texts:?}"
    );
    insta::assert_snapshot!("interrupt_while_streaming", h.finish().await);
}

#[tokio::test]
async fn interrupt_while_waiting_for_approval_answers_the_request_and_closes_the_call() {
    let mut h = Harness::start(
        vec![
            ScriptedResponse::new().shell_call("c1", &["rm", "x"]),
            ScriptedResponse::new().text("after", 1),
        ],
        AskForApproval::Untrusted,
    )
    .await;
    h.session.user_input("go").await.unwrap();
    h.until("exec_approval_request").await;
    h.session.interrupt().await.unwrap();
    h.until_turn_ends().await;
    // The request is no longer waiting: a late decision is an error and changes nothing.
    h.session
        .approve_exec("c1", ReviewDecision::Approved)
        .await
        .unwrap();
    let err = h.until("error").await;
    assert!(matches!(err.msg, EventMsg::Error { ref message } if message.contains("c1")));
    assert!(h.shell.runs().is_empty());
    h.session.user_input("next").await.unwrap();
    h.until_turn_ends().await;
    let outputs = tool_outputs(&h.model.requests()[1]);
    assert!(outputs[0].starts_with("aborted"), "{outputs:?}");
    insta::assert_snapshot!("interrupt_while_waiting_for_approval", h.finish().await);
}

#[tokio::test]
async fn interrupt_during_a_command_ends_it_and_keeps_its_partial_output() {
    let shell = FakeShell::with(&[("make", FakeRun::Hang("compiling...\n".into()))]);
    let mut h = Harness::start_with(
        vec![
            ScriptedResponse::new().shell_call("c1", &["make"]),
            ScriptedResponse::new().text("ok", 1),
        ],
        config(AskForApproval::Never),
        shell,
    )
    .await;
    h.session.user_input("build").await.unwrap();
    h.until("exec_command_output_delta").await;
    h.session.interrupt().await.unwrap();
    h.until_turn_ends().await;
    h.session.user_input("status?").await.unwrap();
    h.until_turn_ends().await;
    let outputs = tool_outputs(&h.model.requests()[1]);
    assert!(
        outputs[0].starts_with("aborted by user after"),
        "{outputs:?}"
    );
    assert!(outputs[0].contains("compiling..."), "{outputs:?}");
    insta::assert_snapshot!("interrupt_during_command", h.finish().await);
}

#[tokio::test]
async fn input_queued_mid_turn_reaches_the_next_model_request() {
    let (mut h, mut model) =
        Harness::start_by_hand(config(AskForApproval::Untrusted), FakeShell::with(&[])).await;
    h.session.user_input("first").await.unwrap();
    // The first request waits for its answer while the second input is queued.
    let first = next_request(&mut model).await;
    h.session.user_input("second").await.unwrap();
    queued(&mut h).await;
    first.play(ScriptedResponse::new().shell_call("c1", &["ls"]));
    let next = next_request(&mut model).await;
    let texts = user_texts(next.request());
    next.request().input.check_well_formed().unwrap();
    next.play(ScriptedResponse::new().text("saw both", 1));
    h.until_turn_ends().await;
    assert!(texts.contains(&"second".to_owned()), "{texts:?}");
    let shape = h.finish().await;
    assert_eq!(shape.matches("task_started").count(), 1);
}

/// Waits until the session has handled every submission made so far: it handles them in order,
/// so once a `get_path` made after them is answered, queued input is in the turn's state.
async fn queued(h: &mut Harness) {
    let probe = h.session.submit(Op::GetPath).await.unwrap();
    let answered = h.until("conversation_path").await;
    assert_eq!(answered.id, probe);
}

#[tokio::test]
async fn input_queued_during_the_last_request_starts_a_new_turn() {
    let (mut h, mut model) =
        Harness::start_by_hand(config(AskForApproval::Untrusted), FakeShell::with(&[])).await;
    let first = h.session.user_input("first").await.unwrap();
    // The last request of the turn stays open until the second input is queued.
    let answer = next_request(&mut model).await.stream();
    answer.send_all([
        ModelEvent::Created,
        ModelEvent::OutputTextDelta("one".into()),
        ModelEvent::OutputItemDone(ResponseItem::assistant_text("one")),
    ]);
    h.until("agent_message_delta").await;
    let second = h.session.user_input("second").await.unwrap();
    queued(&mut h).await;
    answer.complete();
    let end = h.until_turn_ends().await;
    assert_eq!(end.id, first);
    let started = h.until("task_started").await;
    assert_eq!(
        started.id, second,
        "the queued input's submission owns the new turn"
    );
    let next = model
        .play_next(ScriptedResponse::new().text("two", 1))
        .await
        .unwrap();
    assert!(user_texts(&next).contains(&"second".to_owned()));
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("two".into())
        }
    );
    insta::assert_snapshot!("input_during_last_request", h.finish().await);
}

#[tokio::test]
async fn bad_submissions_get_an_error_and_change_nothing() {
    let mut h = Harness::start(
        vec![ScriptedResponse::new().text("fine", 1)],
        AskForApproval::Untrusted,
    )
    .await;
    h.session
        .submit(Op::UserInput { items: vec![] })
        .await
        .unwrap();
    h.until("error").await;
    h.session
        .approve_exec("nope", ReviewDecision::Approved)
        .await
        .unwrap();
    h.until("error").await;
    h.session.interrupt().await.unwrap();
    h.session.user_input("real").await.unwrap();
    h.until_turn_ends().await;
    insta::assert_snapshot!("bad_submissions", h.finish().await);
}
