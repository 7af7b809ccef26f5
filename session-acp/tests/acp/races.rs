//! Races an editor causes: prompt right after cancel, refused mode changes, end of input while
//! a session opens, two loads of one id, and going back to the configured mode.

use std::time::Duration;

use session_acp::acp::v1::schema::{
    CancelNotification, LoadSessionRequest, NewSessionRequest, SessionConfigKind, SessionUpdate,
    SetSessionConfigOptionRequest, SetSessionModeRequest, StopReason,
};
use session_core::AskForApproval;
use session_core::services::ScriptedResponse;

use crate::support::{Harness, Offer, PATIENCE};

/// Answer model requests in the background: a request whose newest item says "first" is held until
/// its turn gives up on it (so that turn is surely running when the cancel comes), every other
/// one is answered "ok" at once.
fn answer_everything(h: &mut Harness) -> tokio::task::JoinHandle<()> {
    let mut model = std::mem::replace(&mut h.model, session_testkit::HandleModel::new().1);
    tokio::spawn(async move {
        while let Some(mut request) = model.next_request().await {
            let newest = request.request().input.parsed().last();
            if format!("{newest:?}").contains("first") {
                tokio::spawn(async move { request.cancelled().await });
            } else {
                request.play(ScriptedResponse::new().text("ok", 1));
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_sent_right_after_cancel_runs_to_its_end() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let _model = answer_everything(&mut h);
    for round in 0..10 {
        let first = h.prompt(&id, &format!("first {round}"));
        h.cx.send_notification(CancelNotification::new(id.clone()))
            .unwrap();
        let second = h.prompt(&id, &format!("second {round}"));
        let first = tokio::time::timeout(PATIENCE, first)
            .await
            .unwrap()
            .unwrap();
        let second = tokio::time::timeout(PATIENCE, second)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            first.unwrap().stop_reason,
            StopReason::Cancelled,
            "round {round}"
        );
        assert_eq!(
            second.unwrap().stop_reason,
            StopReason::EndTurn,
            "round {round}"
        );
    }
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mode_the_machine_cannot_enforce_is_refused_and_fails_no_prompt() {
    let mut h = Harness::connect_full(Offer::default(), AskForApproval::Never, true).await;
    h.initialize(Offer::default()).await;
    let id = h.new_session().await.session_id.0.to_string();
    let refused = h
        .request(SetSessionModeRequest::new(id.clone(), "auto"))
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("cannot be enforced"),
        "{refused:?}"
    );
    let answer = h.prompt(&id, "hello");
    h.model
        .play_next(ScriptedResponse::new().text("hi", 1))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    // The mode the client sees did not change.
    let notes = h.drain();
    assert!(
        !notes
            .iter()
            .any(|n| matches!(n.update, SessionUpdate::ConfigOptionUpdate(_))),
        "{notes:#?}"
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_still_opening_at_the_end_of_input_is_shut_down_too() {
    let mut h = Harness::connect(Offer::default()).await;
    h.initialize(Offer::default()).await;
    let sent =
        h.cx.send_request(NewSessionRequest::new(h.workspace.path()));
    let _answer = tokio::spawn(async move { sent.block_task().await });
    h.close().await;
    // `serve` returned: whatever was opened is recorded and closed, and nothing runs on.
    let at_close: Vec<_> = h
        .recordings()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later: Vec<_> = h
        .recordings()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(at_close, later, "a session lived on after serve returned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_loads_of_one_session_open_it_once() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let answer = h.prompt(&id, "remember 42");
    h.model
        .play_next(ScriptedResponse::new().text("ok", 1))
        .await;
    answer.await.unwrap().unwrap();
    h.close().await;
    let mut again = Harness::connect_in(Offer::default(), h.home.path()).await;
    again.initialize(Offer::default()).await;
    let one = again
        .cx
        .send_request(LoadSessionRequest::new(id.clone(), h.workspace.path()));
    let two = again
        .cx
        .send_request(LoadSessionRequest::new(id.clone(), h.workspace.path()));
    let (one, two) = tokio::join!(one.block_task(), two.block_task());
    assert_eq!(
        [one.is_ok(), two.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{one:?} {two:?}"
    );
    let refused = one.err().or(two.err()).unwrap();
    assert!(refused.message.contains("already open"), "{refused:?}");
    again.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_mode_can_be_chosen_again() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    h.request(SetSessionModeRequest::new(id.clone(), "auto"))
        .await
        .unwrap();
    h.request(SetSessionModeRequest::new(id.clone(), "configured"))
        .await
        .unwrap();
    let options = h
        .request(SetSessionConfigOptionRequest::new(
            id.clone(),
            "mode",
            "configured",
        ))
        .await
        .unwrap()
        .config_options;
    let mode = options.iter().find(|o| &*o.id.0 == "mode").unwrap();
    let SessionConfigKind::Select(select) = &mode.kind else {
        panic!("a select")
    };
    assert_eq!(&*select.current_value.0, "configured");
    // Back under `untrusted`: a command asks again.
    let answer = h.prompt(&id, "write");
    h.model
        .play_next(ScriptedResponse::new().shell_call("c1", &["bash", "-lc", "touch x"]))
        .await;
    let asked = h.asked().await;
    assert_eq!(&*asked.request.tool_call.tool_call_id.0, "c1");
    asked
        .responder
        .respond(
            session_acp::acp::v1::schema::RequestPermissionResponse::new(
                session_acp::acp::v1::schema::RequestPermissionOutcome::Cancelled,
            ),
        )
        .unwrap();
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::Cancelled
    );
    h.close().await;
}
