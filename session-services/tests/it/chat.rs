//! Tests of the Chat Completions client against a loopback mock server: streaming, tool calls
//! assembled from fragments, usage, retries, broken and idle streams, the end of a stream with
//! and without `[DONE]`, the request's shape, and the API key staying out of errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use session_services::{
    ChatCompletionsClient, ModelError, ModelEvent, ModelRequest, ModelStream, ProviderConfig,
    ToolSpec, WireApi,
};
use session_state::{ConversationHistory, ResponseItem, TokenUsage};
use session_testkit::{MockResponse, MockServer, sse_chat_text, sse_chat_tool_call};

/// Fails the test instead of hanging it.
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("timed out after 10 s")
}

fn provider(server: &MockServer) -> ProviderConfig {
    ProviderConfig {
        request_max_retries: 2,
        retry_base_delay_ms: 1,
        stream_idle_timeout_ms: 10_000,
        ..ProviderConfig::new("mock", format!("{}/v1", server.url()), WireApi::Chat)
    }
}

fn request() -> ModelRequest {
    let history = ConversationHistory::from_items([
        ResponseItem::user_text("list the files"),
        ResponseItem::FunctionCall {
            id: None,
            name: "shell".into(),
            arguments: r#"{"command":["ls"]}"#.into(),
            call_id: "call_1".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "call_1".into(),
            output: "README.md".into(),
        },
    ]);
    ModelRequest {
        model: "llama-mock".into(),
        instructions: "You are a test.".into(),
        input: history.snapshot(),
        tools: vec![ToolSpec {
            name: "shell".into(),
            description: "Runs a command.".into(),
            parameters: json!({"type": "object"}),
        }]
        .into(),
        reasoning: None,
        prompt_cache_key: None,
    }
}

async fn start(responses: Vec<MockResponse>) -> MockServer {
    MockServer::start(responses).await.unwrap()
}

/// Every item of the stream until it ends.
async fn collect(stream: ModelStream) -> Vec<Result<ModelEvent, ModelError>> {
    within(stream.collect::<Vec<_>>()).await
}

async fn run(config: &ProviderConfig) -> Result<Vec<Result<ModelEvent, ModelError>>, ModelError> {
    let client = config.client().unwrap();
    let stream = within(client.stream(request())).await?;
    Ok(collect(stream).await)
}

fn usage() -> TokenUsage {
    TokenUsage {
        input_tokens: 50,
        cached_input_tokens: 10,
        output_tokens: 7,
        reasoning_output_tokens: 2,
        total_tokens: 57,
    }
}

fn completed(usage: Option<TokenUsage>) -> ModelEvent {
    ModelEvent::Completed {
        response_id: "chatcmpl-mock".into(),
        usage,
    }
}

#[tokio::test]
async fn streamed_text_arrives_as_ordered_deltas_then_the_message_then_usage() {
    let server = start(vec![MockResponse::sse(sse_chat_text(
        &["Hel", "lo", "!"],
        Some(usage()),
    ))])
    .await;
    let events: Vec<ModelEvent> = run(&provider(&server))
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        events,
        vec![
            ModelEvent::Created,
            ModelEvent::OutputTextDelta("Hel".into()),
            ModelEvent::OutputTextDelta("lo".into()),
            ModelEvent::OutputTextDelta("!".into()),
            ModelEvent::OutputItemDone(ResponseItem::assistant_text("Hello!")),
            completed(Some(usage())),
        ]
    );
}

#[tokio::test]
async fn a_tool_call_is_assembled_from_argument_fragments() {
    let server = start(vec![MockResponse::sse(sse_chat_tool_call(
        "call_7",
        "shell",
        &[r#"{"comm"#, r#"and":["ec"#, r#"ho","#, r#""hi"]}"#],
        None,
    ))])
    .await;
    let events = run(&provider(&server)).await.unwrap();
    assert_eq!(
        events,
        vec![
            Ok(ModelEvent::Created),
            Ok(ModelEvent::OutputItemDone(ResponseItem::FunctionCall {
                id: None,
                name: "shell".into(),
                arguments: r#"{"command":["echo","hi"]}"#.into(),
                call_id: "call_7".into(),
            })),
            Ok(completed(None)),
        ]
    );
}

#[tokio::test]
async fn reasoning_deltas_are_reported_and_left_out_of_the_message() {
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        let data = json!({"id": "chatcmpl-mock",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        format!("data: {data}\n\n")
    };
    let body = [
        chunk(
            json!({"role": "assistant", "reasoning_content": "think"}),
            None,
        ),
        chunk(json!({"reasoning": "ing"}), None),
        chunk(json!({"content": "answer"}), None),
        chunk(json!({}), Some("stop")),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    let server = start(vec![MockResponse::sse(body)]).await;
    let events = run(&provider(&server)).await.unwrap();
    assert_eq!(
        events,
        vec![
            Ok(ModelEvent::Created),
            Ok(ModelEvent::ReasoningDelta("think".into())),
            Ok(ModelEvent::ReasoningDelta("ing".into())),
            Ok(ModelEvent::OutputTextDelta("answer".into())),
            Ok(ModelEvent::OutputItemDone(ResponseItem::assistant_text(
                "answer"
            ))),
            Ok(completed(None)),
        ]
    );
}

#[tokio::test]
async fn the_request_has_the_expected_shape() {
    let server = start(vec![MockResponse::sse(sse_chat_text(&["ok"], None))]).await;
    run(&provider(&server)).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    assert_eq!(
        sent.body_json(),
        json!({
            "model": "llama-mock",
            "messages": [
                {"role": "system", "content": "You are a test."},
                {"role": "user", "content": "list the files"},
                {"role": "assistant", "content": null, "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": {"name": "shell", "arguments": "{\"command\":[\"ls\"]}"},
                }]},
                {"role": "tool", "tool_call_id": "call_1", "content": "README.md"},
            ],
            "tools": [{"type": "function", "function": {
                "name": "shell", "description": "Runs a command.",
                "parameters": {"type": "object"},
            }}],
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[tokio::test]
async fn a_server_closing_after_the_finish_reason_without_done_still_completes() {
    let full = sse_chat_text(&["bye"], Some(usage()));
    let without_done = full.strip_suffix("data: [DONE]\n\n").unwrap();
    let server = start(vec![MockResponse::sse(without_done)]).await;
    let events = run(&provider(&server)).await.unwrap();
    assert_eq!(
        events.last(),
        Some(&Ok(completed(Some(usage())))),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_stream_ends_at_done_even_if_the_server_keeps_the_connection_open() {
    let server = start(vec![
        MockResponse::sse(sse_chat_text(&["done"], None)).hang_after_body(),
    ])
    .await;
    let config = ProviderConfig {
        stream_idle_timeout_ms: 60_000,
        ..provider(&server)
    };
    let events = run(&config).await.unwrap();
    assert_eq!(events.last(), Some(&Ok(completed(None))), "{events:?}");
}

#[tokio::test]
async fn a_429_or_503_is_one_attempt_with_its_status() {
    let server = start(vec![
        MockResponse::json(429, r#"{"error":{"message":"rate limited"}}"#)
            .header("retry-after", "2"),
        MockResponse::status(503),
    ])
    .await;
    let err = run(&provider(&server)).await.unwrap_err();
    assert_eq!(
        err,
        ModelError::Http {
            status: 429,
            message: "rate limited".into(),
            retry_after: Some(Duration::from_secs(2)),
        }
    );
    let err = run(&provider(&server)).await.unwrap_err();
    assert_eq!(
        err,
        ModelError::Http {
            status: 503,
            message: "Service Unavailable".into(),
            retry_after: None,
        }
    );
    assert_eq!(server.requests().len(), 2, "one attempt each");
}

#[tokio::test]
async fn an_empty_assistant_message_is_not_replayed_and_calls_carry_null_content() {
    let server = start(vec![MockResponse::sse(sse_chat_text(&["ok"], None))]).await;
    let history = ConversationHistory::from_items([
        ResponseItem::user_text("go"),
        ResponseItem::assistant_text(""),
        ResponseItem::FunctionCall {
            id: None,
            name: "shell".into(),
            arguments: "{}".into(),
            call_id: "c1".into(),
        },
        ResponseItem::FunctionCall {
            id: None,
            name: "shell".into(),
            arguments: "{\"a\":1}".into(),
            call_id: "c2".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "c1".into(),
            output: "one".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "c2".into(),
            output: "two".into(),
        },
    ]);
    let mut req = request();
    req.input = history.snapshot();
    let client = provider(&server).client().unwrap();
    collect(within(client.stream(req)).await.unwrap()).await;
    let body = server.requests()[0].body_json();
    let messages = body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "tool"],
        "{body}"
    );
    assert!(messages[2]["content"].is_null(), "{body}");
    assert_eq!(messages[2]["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(messages[3]["tool_call_id"], "c1");
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn a_client_error_fails_at_once_with_the_servers_message() {
    let server = start(vec![MockResponse::json(
        404,
        r#"{"error":{"message":"model 'llama-mock' not found"}}"#,
    )])
    .await;
    let err = run(&provider(&server)).await.unwrap_err();
    assert!(
        matches!(&err, ModelError::Http { status: 404, message, .. } if message == "model 'llama-mock' not found"),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_a_closed_stream() {
    let full = sse_chat_text(&["one", "two"], None);
    let cut = &full[..full.find("\"stop\"").unwrap()];
    let cut = &cut[..cut.rfind("data:").unwrap()];
    let server = start(vec![MockResponse::sse(cut)]).await;
    let events = run(&provider(&server)).await.unwrap();
    assert_eq!(
        events,
        vec![
            Ok(ModelEvent::Created),
            Ok(ModelEvent::OutputTextDelta("one".into())),
            Ok(ModelEvent::OutputTextDelta("two".into())),
            Err(ModelError::StreamClosed),
        ]
    );
}

#[tokio::test]
async fn a_server_that_goes_quiet_times_out() {
    let full = sse_chat_text(&["one"], None);
    let first = &full[..full.find("\n\n").unwrap() + 2];
    let server = start(vec![MockResponse::sse(first).hang_after_body()]).await;
    let config = ProviderConfig {
        stream_idle_timeout_ms: 200,
        ..provider(&server)
    };
    let events = run(&config).await.unwrap();
    assert_eq!(
        events.last(),
        Some(&Err(ModelError::IdleTimeout(Duration::from_millis(200)))),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_malformed_chunk_is_a_protocol_error() {
    let server = start(vec![MockResponse::sse("data: {\"choices\": [oops]}\n\n")]).await;
    let events = run(&provider(&server)).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(events[1], Err(ModelError::Protocol(_))),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_api_key_is_sent_as_a_bearer_token_and_kept_out_of_errors() {
    // Cargo sets this variable for every test process; its value stands in for a key.
    let key = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let echo = json!({"error": {"message": format!("bad key {key}")}});
    let server = start(vec![MockResponse::json(401, echo.to_string())]).await;
    let config = ProviderConfig {
        env_key: Some("CARGO_MANIFEST_DIR".into()),
        ..provider(&server)
    };
    let err = run(&config).await.unwrap_err();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    let client = ChatCompletionsClient::new(&config).unwrap();
    for text in [err.to_string(), format!("{err:?}"), format!("{client:?}")] {
        assert!(!text.contains(&key), "key leaked into {text}");
    }
}
