//! Tests of the Responses API client against a loopback mock server: streaming, tool calls,
//! usage and rate limits, retries, broken and idle streams, failures, the request's shape, and
//! the API key staying out of every error and `Debug` string.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use session_services::{
    ModelError, ModelEvent, ModelRequest, ModelStream, ProviderConfig, ToolSpec, WireApi,
};
use session_state::{
    ContentItem, ConversationHistory, RateLimitSnapshot, RateLimitWindow, ResponseItem, TokenUsage,
};
use session_testkit::{
    MockResponse, MockServer, sse_event, sse_responses_text, sse_responses_tool_call,
};

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
        ..ProviderConfig::new("mock", format!("{}/v1", server.url()), WireApi::Responses)
    }
}

fn request() -> ModelRequest {
    let history = ConversationHistory::from_items([
        ResponseItem::user_text("list the files"),
        ResponseItem::FunctionCall {
            id: Some("fc_1".into()),
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
        model: "gpt-mock".into(),
        instructions: "You are a test.".into(),
        input: history.snapshot(),
        tools: vec![ToolSpec {
            name: "shell".into(),
            description: "Runs a command.".into(),
            parameters: json!({"type": "object", "properties": {"command": {"type": "array"}}}),
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
        input_tokens: 120,
        cached_input_tokens: 100,
        output_tokens: 15,
        reasoning_output_tokens: 5,
        total_tokens: 135,
    }
}

#[tokio::test]
async fn streamed_text_arrives_as_ordered_deltas_then_the_message_then_usage() {
    let server = start(vec![
        MockResponse::sse(sse_responses_text(&["Hel", "lo", " world"], Some(usage())))
            .header("x-ratelimit-limit-requests", "60")
            .header("x-ratelimit-remaining-requests", "59")
            .header("x-ratelimit-reset-requests", "1s"),
    ])
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
            ModelEvent::RateLimits(RateLimitSnapshot {
                requests: Some(RateLimitWindow {
                    limit: 60,
                    remaining: 59,
                    resets_in_seconds: Some(1),
                }),
                tokens: None,
            }),
            ModelEvent::Created,
            ModelEvent::OutputTextDelta("Hel".into()),
            ModelEvent::OutputTextDelta("lo".into()),
            ModelEvent::OutputTextDelta(" world".into()),
            ModelEvent::OutputItemDone(ResponseItem::Message {
                id: Some("msg_mock".into()),
                role: "assistant".into(),
                content: vec![ContentItem::OutputText {
                    text: "Hello world".into()
                }],
            }),
            ModelEvent::Completed {
                response_id: "resp_mock".into(),
                usage: Some(usage()),
            },
        ]
    );
}

#[tokio::test]
async fn events_split_into_tiny_delayed_chunks_arrive_the_same() {
    let body = sse_responses_text(&["a", "b"], None);
    let mut response = MockResponse::sse("");
    for piece in body.as_bytes().chunks(7) {
        response = response.chunk(piece).delay(Duration::from_millis(1));
    }
    let server = start(vec![response]).await;
    let events: Vec<ModelEvent> = run(&provider(&server))
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(events[1], ModelEvent::OutputTextDelta("a".into()));
    assert_eq!(events[2], ModelEvent::OutputTextDelta("b".into()));
}

#[tokio::test]
async fn a_tool_call_arrives_as_a_function_call_item() {
    let server = start(vec![MockResponse::sse(sse_responses_tool_call(
        "call_9",
        "shell",
        r#"{"command":["echo","hi"]}"#,
        None,
    ))])
    .await;
    let events = run(&provider(&server)).await.unwrap();
    assert_eq!(
        events,
        vec![
            Ok(ModelEvent::Created),
            Ok(ModelEvent::OutputItemDone(ResponseItem::FunctionCall {
                id: Some("fc_mock".into()),
                name: "shell".into(),
                arguments: r#"{"command":["echo","hi"]}"#.into(),
                call_id: "call_9".into(),
            })),
            Ok(ModelEvent::Completed {
                response_id: "resp_mock".into(),
                usage: None,
            }),
        ]
    );
}

#[tokio::test]
async fn the_request_has_the_expected_shape() {
    let server = start(vec![MockResponse::sse(sse_responses_text(&["ok"], None))]).await;
    run(&provider(&server)).await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.header("accept"), Some("text/event-stream"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None, "no key configured");
    let history: serde_json::Value =
        serde_json::from_str(&request().input.to_json_array()).unwrap();
    assert_eq!(
        sent.body_json(),
        json!({
            "model": "gpt-mock",
            "instructions": "You are a test.",
            "input": history,
            "tools": [{
                "type": "function",
                "name": "shell",
                "description": "Runs a command.",
                "parameters": {"type": "object", "properties": {"command": {"type": "array"}}},
                "strict": false,
            }],
            "tool_choice": "auto",
            "parallel_tool_calls": false,
            "include": ["reasoning.encrypted_content"],
            "store": false,
            "stream": true,
        })
    );
    assert_eq!(history[2]["type"], "function_call_output");
}

#[tokio::test]
async fn extra_headers_are_sent() {
    let server = start(vec![MockResponse::sse(sse_responses_text(&["ok"], None))]).await;
    let mut config = provider(&server);
    config
        .headers
        .insert("OpenAI-Beta".into(), "responses=v1".into());
    run(&config).await.unwrap();
    assert_eq!(
        server.requests()[0].header("openai-beta"),
        Some("responses=v1")
    );
}

#[tokio::test]
async fn a_429_is_one_attempt_that_carries_the_servers_retry_after() {
    let server = start(vec![
        MockResponse::json(429, r#"{"error":{"message":"slow down"}}"#)
            .header("retry-after-ms", "30"),
        MockResponse::sse(sse_responses_text(&["never"], None)),
    ])
    .await;
    let err = run(&provider(&server)).await.unwrap_err();
    assert_eq!(
        err,
        ModelError::Http {
            status: 429,
            message: "slow down".into(),
            retry_after: Some(Duration::from_millis(30)),
        }
    );
    assert!(err.is_retryable());
    assert_eq!(
        server.requests().len(),
        1,
        "the core retries, not the client"
    );
}

#[tokio::test]
async fn a_server_error_is_one_attempt_with_the_servers_message() {
    let body = r#"{"error":{"message":"upstream exploded"}}"#;
    let server = start((0..5).map(|_| MockResponse::json(500, body)).collect()).await;
    let err = run(&provider(&server)).await.unwrap_err();
    assert_eq!(
        err,
        ModelError::Http {
            status: 500,
            message: "upstream exploded".into(),
            retry_after: None,
        }
    );
    assert!(err.to_string().contains("500"), "{err}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_json_error_body_where_the_stream_was_expected_fails_with_its_message() {
    let server = start(vec![MockResponse::json(
        200,
        r#"{"error":{"message":"context length exceeded"}}"#,
    )])
    .await;
    let err = run(&provider(&server)).await.unwrap_err();
    assert_eq!(err, ModelError::Failed("context length exceeded".into()));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_bare_error_line_mid_stream_fails_at_once_with_its_message() {
    let body = format!(
        "{}data: {}\n\n",
        sse_event(&json!({"type": "response.output_text.delta", "delta": "partial"})),
        json!({"error": {"message": "model overloaded", "code": 503}})
    );
    let server = start(vec![MockResponse::sse(body).hang_after_body()]).await;
    let events = run(&provider(&server)).await.unwrap();
    assert_eq!(
        events.last(),
        Some(&Err(ModelError::Failed("model overloaded".into()))),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_client_error_fails_at_once_with_the_servers_message() {
    let server = start(vec![
        MockResponse::json(400, r#"{"error":{"message":"unknown model gpt-mock"}}"#),
        MockResponse::sse(sse_responses_text(&["never"], None)),
    ])
    .await;
    let err = run(&provider(&server)).await.unwrap_err();
    assert_eq!(
        err,
        ModelError::Http {
            status: 400,
            message: "unknown model gpt-mock".into(),
            retry_after: None,
        }
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_a_retryable_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = ProviderConfig {
        request_max_retries: 1,
        retry_base_delay_ms: 1,
        ..ProviderConfig::new(
            "gone",
            format!("http://127.0.0.1:{port}/v1"),
            WireApi::Responses,
        )
    };
    let err = run(&config).await.unwrap_err();
    assert!(matches!(err, ModelError::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_a_closed_stream() {
    let full = sse_responses_text(&["one", "two"], None);
    let cut = &full[..full.find("response.output_item.done").unwrap()];
    let server = start(vec![
        MockResponse::sse(cut),
        MockResponse::sse(cut).drop_mid_body(),
    ])
    .await;
    for _ in 0..2 {
        let events = run(&provider(&server)).await.unwrap();
        assert_eq!(events.first(), Some(&Ok(ModelEvent::Created)));
        assert_eq!(
            events.last(),
            Some(&Err(ModelError::StreamClosed)),
            "{events:?}"
        );
    }
}

#[tokio::test]
async fn a_server_that_goes_quiet_times_out() {
    let created = sse_event(&json!({"type": "response.created", "response": {"id": "r"}}));
    let server = start(vec![MockResponse::sse(created).hang_after_body()]).await;
    let config = ProviderConfig {
        stream_idle_timeout_ms: 200,
        ..provider(&server)
    };
    let events = run(&config).await.unwrap();
    assert_eq!(
        events,
        vec![
            Ok(ModelEvent::Created),
            Err(ModelError::IdleTimeout(Duration::from_millis(200)))
        ]
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_without_retrying() {
    let server = start(vec![MockResponse::silent(), MockResponse::silent()]).await;
    let config = ProviderConfig {
        stream_idle_timeout_ms: 200,
        ..provider(&server)
    };
    let err = run(&config).await.unwrap_err();
    assert_eq!(err, ModelError::IdleTimeout(Duration::from_millis(200)));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_malformed_data_line_is_a_protocol_error() {
    let body = format!(
        "{}data: {{\"type\": \"response.output_text.delta\", \"delta\": \n\n{}",
        sse_event(&json!({"type": "response.created", "response": {}})),
        sse_responses_text(&["never"], None),
    );
    let server = start(vec![MockResponse::sse(body)]).await;
    let events = run(&provider(&server)).await.unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], Ok(ModelEvent::Created));
    assert!(
        matches!(events[1], Err(ModelError::Protocol(_))),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_stream_ends_at_completed_even_if_the_server_keeps_the_connection_open() {
    let server = start(vec![
        MockResponse::sse(sse_responses_text(&["done"], None)).hang_after_body(),
    ])
    .await;
    // An idle timeout longer than the test's bound: only ending at `completed` passes.
    let config = ProviderConfig {
        stream_idle_timeout_ms: 60_000,
        ..provider(&server)
    };
    let events = run(&config).await.unwrap();
    assert!(
        matches!(events.last(), Some(Ok(ModelEvent::Completed { .. }))),
        "{events:?}"
    );
}

#[tokio::test]
async fn response_failed_surfaces_at_once() {
    let body = format!(
        "{}{}",
        sse_event(&json!({"type": "response.created", "response": {}})),
        sse_event(&json!({"type": "response.failed", "response": {
            "status": "failed",
            "error": {"code": "server_error", "message": "the model fell over"}}})),
    );
    let server = start(vec![MockResponse::sse(body).hang_after_body()]).await;
    let config = ProviderConfig {
        stream_idle_timeout_ms: 60_000,
        ..provider(&server)
    };
    let events = run(&config).await.unwrap();
    assert_eq!(
        events,
        vec![
            Ok(ModelEvent::Created),
            Err(ModelError::Failed("the model fell over".into()))
        ]
    );
}

#[tokio::test]
async fn the_api_key_is_sent_as_a_bearer_token_and_appears_in_no_error_or_debug_string() {
    // Cargo sets this variable for every test process; its value stands in for a key.
    let key = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let echo = json!({"error": {"message": format!("Incorrect API key provided: {key}")}});
    let server = start(vec![
        MockResponse::sse(sse_responses_text(&["hi"], None)),
        MockResponse::json(401, echo.to_string()),
    ])
    .await;
    let config = ProviderConfig {
        env_key: Some("CARGO_MANIFEST_DIR".into()),
        ..provider(&server)
    };
    let client = config.client().unwrap();
    let events = collect(within(client.stream(request())).await.unwrap()).await;
    assert!(events.iter().all(Result::is_ok), "{events:?}");
    let err = match within(client.stream(request())).await {
        Err(err) => err,
        Ok(_) => panic!("a 401 gave a stream"),
    };

    let requests = server.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert!(
        matches!(err, ModelError::Http { status: 401, .. }),
        "{err:?}"
    );
    for text in [
        err.to_string(),
        format!("{err:?}"),
        format!("{config:?}"),
        format!(
            "{:?}",
            session_services::ResponsesClient::new(&config).unwrap()
        ),
    ] {
        assert!(!text.contains(&key), "key leaked into {text}");
    }
    assert!(
        err.to_string().contains("Incorrect API key provided"),
        "{err}"
    );
}
