//! Tests of the handle model: each request reaches the test, every kind of answer comes out of
//! the stream as the port's contract says, and withdrawn requests and dropped streams are seen by
//! the test without waiting on a clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use session_services::{ModelClient, ModelError, ModelEvent, ModelRequest, ScriptedResponse};
use session_state::{ConversationHistory, ResponseItem};

use super::HandleModel;

fn request(text: &str) -> ModelRequest {
    ModelRequest {
        model: "handle".into(),
        instructions: String::new(),
        input: ConversationHistory::from_items([ResponseItem::user_text(text)]).snapshot(),
        tools: Vec::new().into(),
        reasoning: None,
        prompt_cache_key: None,
    }
}

fn completed() -> ModelEvent {
    ModelEvent::Completed {
        response_id: "r".into(),
        usage: None,
    }
}

async fn collect(model: &HandleModel, text: &str) -> Vec<Result<ModelEvent, ModelError>> {
    model.stream(request(text)).await.unwrap().collect().await
}

#[tokio::test]
async fn each_request_reaches_the_test_which_answers_with_events() {
    let (model, mut handle) = HandleModel::new();
    let client = tokio::spawn(async move { collect(&model, "hello").await });
    let pending = handle.next_request().await.unwrap();
    assert_eq!(
        pending.request().input.parsed().last(),
        Some(ResponseItem::user_text("hello"))
    );
    pending.respond([ModelEvent::OutputTextDelta("hi".into()), completed()]);
    assert_eq!(
        client.await.unwrap(),
        vec![
            Ok(ModelEvent::OutputTextDelta("hi".into())),
            Ok(completed())
        ]
    );
}

#[tokio::test]
async fn events_without_completed_end_as_a_closed_stream() {
    let (model, mut handle) = HandleModel::new();
    let client = tokio::spawn(async move { collect(&model, "x").await });
    handle
        .next_request()
        .await
        .unwrap()
        .respond([ModelEvent::Created]);
    assert_eq!(
        client.await.unwrap(),
        vec![Ok(ModelEvent::Created), Err(ModelError::StreamClosed)]
    );
}

#[tokio::test]
async fn nothing_after_completed_or_an_error_is_streamed() {
    let (model, mut handle) = HandleModel::new();
    let client = tokio::spawn(async move {
        let first = collect(&model, "one").await;
        let second = collect(&model, "two").await;
        (first, second)
    });
    handle
        .next_request()
        .await
        .unwrap()
        .respond([completed(), ModelEvent::Created]);
    handle
        .next_request()
        .await
        .unwrap()
        .respond_with([Err(ModelError::Transport("reset".into())), Ok(completed())]);
    let (first, second) = client.await.unwrap();
    assert_eq!(first, vec![Ok(completed())]);
    assert_eq!(second, vec![Err(ModelError::Transport("reset".into()))]);
}

#[tokio::test]
async fn a_failed_request_is_an_error_of_stream_itself() {
    let (model, mut handle) = HandleModel::new();
    let client = tokio::spawn(async move { model.stream(request("x")).await.err() });
    handle
        .next_request()
        .await
        .unwrap()
        .fail(ModelError::Config("no key".into()));
    assert_eq!(
        client.await.unwrap(),
        Some(ModelError::Config("no key".into()))
    );
}

#[tokio::test]
async fn a_script_plays_as_the_scripted_model_would() {
    let (model, mut handle) = HandleModel::new();
    let client = tokio::spawn(async move { collect(&model, "x").await });
    let seen = handle
        .play_next(ScriptedResponse::new().text("ab", 2))
        .await
        .unwrap();
    assert_eq!(seen.model, "handle");
    let events: Vec<ModelEvent> = client
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        events[..4],
        [
            ModelEvent::Created,
            ModelEvent::OutputTextDelta("a".into()),
            ModelEvent::OutputTextDelta("b".into()),
            ModelEvent::OutputItemDone(ResponseItem::assistant_text("ab")),
        ]
    );
    assert!(matches!(events[4], ModelEvent::Completed { .. }));
}

#[tokio::test]
async fn a_streamed_answer_arrives_event_by_event() {
    let (model, mut handle) = HandleModel::new();
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let client = tokio::spawn(async move {
        let mut stream = model.stream(request("x")).await.unwrap();
        while let Some(event) = stream.next().await {
            seen_tx.send(event).unwrap();
        }
    });
    let sender = handle.next_request().await.unwrap().stream();
    assert!(sender.send(ModelEvent::OutputTextDelta("one".into())));
    // The client has the first event while the test still holds the rest back.
    assert_eq!(
        seen_rx.recv().await.unwrap(),
        Ok(ModelEvent::OutputTextDelta("one".into()))
    );
    assert!(sender.send_all([ModelEvent::OutputTextDelta("two".into())]));
    sender.complete();
    client.await.unwrap();
    let rest: Vec<_> = std::iter::from_fn(|| seen_rx.try_recv().ok()).collect();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0], Ok(ModelEvent::OutputTextDelta("two".into())));
    assert!(matches!(rest[1], Ok(ModelEvent::Completed { .. })));
}

#[tokio::test]
async fn a_streamed_answer_can_break_mid_stream() {
    let (model, mut handle) = HandleModel::new();
    let client = tokio::spawn(async move { collect(&model, "x").await });
    let sender = handle.next_request().await.unwrap().stream();
    sender.send(ModelEvent::Created);
    sender.fail(ModelError::IdleTimeout(std::time::Duration::from_secs(1)));
    assert_eq!(
        client.await.unwrap(),
        vec![
            Ok(ModelEvent::Created),
            Err(ModelError::IdleTimeout(std::time::Duration::from_secs(1)))
        ]
    );
}

#[tokio::test]
async fn the_test_sees_when_the_client_drops_the_stream() {
    let (model, mut handle) = HandleModel::new();
    let (took_tx, took_rx) = tokio::sync::oneshot::channel();
    let client = tokio::spawn(async move {
        let mut stream = model.stream(request("x")).await.unwrap();
        let first = stream.next().await;
        took_tx.send(first).unwrap();
        // The stream is dropped here, as an interrupted turn drops it.
    });
    let sender = handle.next_request().await.unwrap().stream();
    sender.send(ModelEvent::Created);
    assert_eq!(took_rx.await.unwrap(), Some(Ok(ModelEvent::Created)));
    sender.closed().await;
    assert!(sender.is_closed());
    assert!(!sender.send(ModelEvent::Created));
    client.await.unwrap();
}

#[tokio::test]
async fn the_test_sees_when_the_client_withdraws_a_request() {
    let (model, mut handle) = HandleModel::new();
    let client = tokio::spawn(async move { model.stream(request("x")).await.err() });
    let mut pending = handle.next_request().await.unwrap();
    assert!(!pending.is_cancelled());
    client.abort();
    pending.cancelled().await;
    assert!(pending.is_cancelled());
    // An answer after the withdrawal goes nowhere and does not fail.
    pending.respond([completed()]);
}

#[tokio::test]
async fn a_request_dropped_unanswered_fails() {
    let (model, mut handle) = HandleModel::new();
    let client = tokio::spawn(async move { model.stream(request("x")).await.err() });
    drop(handle.next_request().await.unwrap());
    assert!(matches!(
        client.await.unwrap(),
        Some(ModelError::Scripted(message)) if message.contains("without answering")
    ));
}

#[tokio::test]
async fn without_a_handle_every_request_fails_at_once() {
    let (model, handle) = HandleModel::new();
    drop(handle);
    assert!(matches!(
        model.stream(request("x")).await.err(),
        Some(ModelError::Scripted(_))
    ));
}

#[tokio::test]
async fn the_handle_knows_when_no_request_waits_and_when_the_model_is_gone() {
    let (model, mut handle) = HandleModel::new();
    assert!(handle.try_next_request().is_none());
    let clone = model.clone();
    drop(model);
    let client = tokio::spawn(async move { clone.stream(request("x")).await.err() });
    let pending = handle.next_request().await.unwrap();
    pending.respond([completed()]);
    assert_eq!(client.await.unwrap(), None);
    assert!(handle.next_request().await.is_none());
}
