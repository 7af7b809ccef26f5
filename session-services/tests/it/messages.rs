//! Tests of the Anthropic Messages client against a loopback mock server: the request's path,
//! headers and body, streamed text, thinking and tool calls, usage with the cache, error bodies
//! and error events, and the API key staying out of errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use session_services::{
    ANTHROPIC_VERSION, MessagesClient, ModelError, ModelEvent, ModelRequest, ModelStream,
    ProviderConfig, ToolSpec, WireApi,
};
use session_state::{ConversationHistory, ResponseItem, TokenUsage};
use session_testkit::{
    MessagesBlock, MockResponse, MockServer, sse_messages, sse_messages_text,
    sse_messages_tool_call,
};

/// Fails the test instead of hanging it.
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("timed out after 10 s")
}

fn provider(server: &MockServer) -> ProviderConfig {
    ProviderConfig::new("mock", format!("{}/v1", server.url()), WireApi::Messages)
}

fn request() -> ModelRequest {
    ModelRequest {
        model: "claude-mock".into(),
        instructions: "You are a test.".into(),
        input: ConversationHistory::from_items([ResponseItem::user_text("hi")]).snapshot(),
        tools: vec![ToolSpec {
            name: "shell".into(),
            description: "Runs a command.".into(),
            parameters: json!({"type": "object"}),
        }]
        .into(),
        reasoning: None,
        prompt_cache_key: Some("sess".into()),
    }
}

async fn run(config: &ProviderConfig) -> Result<Vec<Result<ModelEvent, ModelError>>, ModelError> {
    let client = config.client().unwrap();
    let stream: ModelStream = within(client.stream(request())).await?;
    Ok(within(stream.collect::<Vec<_>>()).await)
}

#[tokio::test]
async fn text_streams_as_deltas_then_the_message_then_usage_counting_the_cache() {
    let usage = TokenUsage {
        input_tokens: 1200,
        cached_input_tokens: 1000,
        output_tokens: 12,
        reasoning_output_tokens: 0,
        total_tokens: 1212,
    };
    let server = MockServer::start(vec![MockResponse::sse(sse_messages_text(
        &["Hel", "lo"],
        Some(usage),
    ))])
    .await
    .unwrap();
    let events: Vec<ModelEvent> = run(&provider(&server))
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        events,
        [
            ModelEvent::Created,
            ModelEvent::OutputTextDelta("Hel".into()),
            ModelEvent::OutputTextDelta("lo".into()),
            ModelEvent::OutputItemDone(ResponseItem::assistant_text("Hello")),
            ModelEvent::Completed {
                response_id: "msg_mock".into(),
                usage: Some(usage),
            },
        ]
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("anthropic-version"), Some(ANTHROPIC_VERSION));
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    let body = sent.body_json();
    assert_eq!(body["model"], "claude-mock");
    assert_eq!(body["max_tokens"], 8192);
    assert_eq!(body["messages"][0]["role"], "user");
}

#[tokio::test]
async fn a_tool_call_is_assembled_from_input_json_deltas() {
    let server = MockServer::start(vec![MockResponse::sse(sse_messages_tool_call(
        "toolu_1",
        "shell",
        &[r#"{"comm"#, r#"and": ["ls"]}"#],
        None,
    ))])
    .await
    .unwrap();
    let events = run(&provider(&server)).await.unwrap();
    assert!(
        events.contains(&Ok(ModelEvent::OutputItemDone(
            ResponseItem::FunctionCall {
                id: None,
                name: "shell".into(),
                arguments: r#"{"command": ["ls"]}"#.into(),
                call_id: "toolu_1".into(),
            }
        ))),
        "{events:?}"
    );
    assert!(matches!(
        events.last(),
        Some(Ok(ModelEvent::Completed { .. }))
    ));
}

#[tokio::test]
async fn thinking_keeps_its_signature() {
    let body = sse_messages(
        &[
            MessagesBlock::Thinking(vec!["think".into()], "SIG".into()),
            MessagesBlock::Text(vec!["done".into()]),
        ],
        "end_turn",
        None,
    );
    let server = MockServer::start(vec![MockResponse::sse(body)])
        .await
        .unwrap();
    let events = run(&provider(&server)).await.unwrap();
    let reasoning = events.iter().find_map(|e| match e {
        Ok(ModelEvent::OutputItemDone(ResponseItem::Reasoning {
            encrypted_content, ..
        })) => encrypted_content.clone(),
        _ => None,
    });
    assert_eq!(reasoning.as_deref(), Some("SIG"));
}

#[tokio::test]
async fn error_bodies_and_error_events_fail_with_the_servers_message() {
    let overloaded =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    let server = MockServer::start(vec![
        MockResponse::json(529, overloaded.to_string()),
        MockResponse::json(
            400,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: too large"}})
                .to_string(),
        ),
        MockResponse::sse(format!(
            "event: message_start\ndata: {}\n\nevent: error\ndata: {overloaded}\n\n",
            json!({"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 1}}})
        )),
    ])
    .await
    .unwrap();
    let config = provider(&server);
    let err = run(&config).await.unwrap_err();
    assert!(
        matches!(&err, ModelError::Http { status: 529, message, .. } if message == "Overloaded"),
        "{err:?}"
    );
    assert!(err.is_retryable());
    let err = run(&config).await.unwrap_err();
    assert!(
        matches!(&err, ModelError::Http { status: 400, message, .. } if message == "max_tokens: too large"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    let events = run(&config).await.unwrap();
    assert_eq!(
        events.last(),
        Some(&Err(ModelError::Failed("Overloaded".into())))
    );
}

#[tokio::test]
async fn the_api_key_goes_in_x_api_key_and_stays_out_of_errors() {
    // Cargo sets this variable for every test process; its value stands in for a key.
    let key = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let echo = json!({"type": "error", "error": {"message": format!("bad key {key}")}});
    let server = MockServer::start(vec![MockResponse::json(401, echo.to_string())])
        .await
        .unwrap();
    let config = ProviderConfig {
        env_key: Some("CARGO_MANIFEST_DIR".into()),
        ..provider(&server)
    };
    let err = run(&config).await.unwrap_err();
    let sent = &server.requests()[0];
    assert_eq!(sent.header("x-api-key"), Some(key.as_str()));
    assert_eq!(sent.header("authorization"), None);
    let client = MessagesClient::new(&config).unwrap();
    for text in [err.to_string(), format!("{err:?}"), format!("{client:?}")] {
        assert!(!text.contains(&key), "key leaked into {text}");
    }
}
