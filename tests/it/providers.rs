//! The three wire APIs through the `Session` façade, on their real clients against a loopback
//! server: one retry policy (attempts counted per status, never multiplied, one `stream_error`
//! per retry), non-retryable statuses failing at once with the server's message, request bodies
//! that extend each other for the prompt cache, reasoning replayed, usage with cached tokens
//! summed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use session_core::services::{
    MemoryFileSystem, MemoryRecorder, ProviderConfig, SessionServices, WireApi,
};
use session_core::{AskForApproval, AutoCompact, EventMsg, Session, SessionConfig, TokenUsage};
use session_testkit::{
    FakeShell, MessagesBlock, MockResponse, MockServer, sse_chat_text, sse_chat_tool_call,
    sse_event, sse_messages, sse_messages_text, sse_messages_tool_call, sse_responses_text,
    sse_responses_tool_call,
};

use crate::support::check_invariants;

const APIS: [WireApi; 3] = [WireApi::Responses, WireApi::Chat, WireApi::Messages];

/// A session on the real client of `api`, pointed at a scripted server.
struct Wired {
    session: Session,
    server: MockServer,
    events: Vec<session_core::Event>,
}

impl Wired {
    async fn start(api: WireApi, responses: Vec<MockResponse>, retries: (u32, u32)) -> Self {
        let server = MockServer::start(responses).await.unwrap();
        let mut provider = ProviderConfig::new("mock", format!("{}/v1", server.url()), api);
        provider.request_max_retries = retries.0;
        provider.stream_max_retries = retries.1;
        provider.retry_base_delay_ms = 1;
        let model = provider.client().unwrap();
        let services = SessionServices::builder(model)
            .recorder(Arc::new(MemoryRecorder::new()))
            .shell(FakeShell::with(&[]))
            .fs(Arc::new(MemoryFileSystem::new()))
            .build();
        let mut config = SessionConfig::new("mock-model", "/work/project");
        config.approval_policy = Some(AskForApproval::Never);
        config.session_id = Some("sess-providers".into());
        config.auto_compact = AutoCompact::Off;
        config.retry_like(&provider);
        let session = Session::spawn(config, services).await.unwrap();
        Self {
            session,
            server,
            events: Vec::new(),
        }
    }

    /// Submit `text` and read to the turn's terminal event; the turn's events.
    async fn turn(&mut self, text: &str) -> Vec<EventMsg> {
        let id = self.session.user_input(text).await.unwrap();
        let mut turn = Vec::new();
        loop {
            let e = tokio::time::timeout(Duration::from_secs(20), self.session.next_event())
                .await
                .expect("timed out waiting for an event")
                .expect("the session ended");
            self.events.push(e.clone());
            if e.id != id {
                continue;
            }
            let end = e.msg.is_turn_terminal();
            turn.push(e.msg);
            if end {
                return turn;
            }
        }
    }

    async fn finish(mut self) -> Vec<Value> {
        self.session.shutdown().await.unwrap();
        while let Some(e) = self.session.next_event().await {
            self.events.push(e);
        }
        check_invariants(&self.events);
        self.server
            .requests()
            .iter()
            .map(|r| r.body_json())
            .collect()
    }
}

fn count(events: &[EventMsg], kind: &str) -> usize {
    events.iter().filter(|m| m.kind() == kind).count()
}

fn errors(events: &[EventMsg]) -> Vec<String> {
    events
        .iter()
        .filter_map(|m| match m {
            EventMsg::Error { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn text(api: WireApi, deltas: &[&str], usage: Option<TokenUsage>) -> MockResponse {
    MockResponse::sse(match api {
        WireApi::Responses => sse_responses_text(deltas, usage),
        WireApi::Chat => sse_chat_text(deltas, usage),
        _ => sse_messages_text(deltas, usage),
    })
}

fn tool_call(api: WireApi, usage: Option<TokenUsage>) -> MockResponse {
    let args = r#"{"command":["echo","hi"]}"#;
    MockResponse::sse(match api {
        WireApi::Responses => sse_responses_tool_call("c1", "shell", args, usage),
        WireApi::Chat => sse_chat_tool_call("c1", "shell", &[args], usage),
        _ => sse_messages_tool_call("c1", "shell", &[args], usage),
    })
}

fn error(status: u16, message: &str) -> MockResponse {
    MockResponse::json(status, json!({"error": {"message": message}}).to_string())
}

#[tokio::test]
async fn retryable_statuses_are_retried_once_each_with_one_stream_error_per_retry() {
    for api in APIS {
        let mut w = Wired::start(
            api,
            vec![
                error(429, "slow down").header("retry-after", "0"),
                error(500, "broke"),
                error(503, "unavailable"),
                text(api, &["ok"], None),
            ],
            (3, 3),
        )
        .await;
        let turn = w.turn("hi").await;
        assert_eq!(count(&turn, "stream_error"), 3, "{api:?}: {turn:#?}");
        assert!(errors(&turn).is_empty(), "{api:?}: {turn:#?}");
        assert_eq!(
            turn.last(),
            Some(&EventMsg::TaskComplete {
                last_agent_message: Some("ok".into())
            }),
            "{api:?}"
        );
        assert_eq!(w.finish().await.len(), 4, "{api:?}");
    }
}

#[tokio::test]
async fn a_persistent_500_is_tried_request_max_retries_plus_one_times_never_multiplied() {
    for api in APIS {
        let responses = (0..40).map(|_| error(500, "upstream exploded")).collect();
        // The defaults of every provider: 4 request retries, 5 stream retries.
        let mut w = Wired::start(api, responses, (4, 5)).await;
        let turn = w.turn("hi").await;
        assert_eq!(count(&turn, "stream_error"), 4, "{api:?}: {turn:#?}");
        let errors = errors(&turn);
        assert_eq!(errors.len(), 1, "{api:?}: {turn:#?}");
        assert!(
            errors[0].contains("500") && errors[0].contains("upstream exploded"),
            "{errors:?}"
        );
        assert_eq!(w.finish().await.len(), 5, "{api:?}");
    }
}

#[tokio::test]
async fn a_non_retryable_status_fails_at_once_with_the_servers_message() {
    for api in APIS {
        for status in [400, 401, 403, 404] {
            let message = format!("refused with {status}");
            let mut w = Wired::start(api, vec![error(status, &message)], (4, 5)).await;
            let turn = w.turn("hi").await;
            assert_eq!(
                count(&turn, "stream_error"),
                0,
                "{api:?} {status}: {turn:#?}"
            );
            let errors = errors(&turn);
            assert_eq!(errors.len(), 1, "{api:?} {status}");
            assert!(errors[0].contains(&message), "{errors:?}");
            assert_eq!(w.finish().await.len(), 1, "{api:?} {status}");
        }
    }
}

#[tokio::test]
async fn a_json_error_body_or_an_error_line_ends_the_request_at_once() {
    let partial_then_error = format!(
        "{}data: {}\n\n",
        sse_event(&json!({"type": "response.output_text.delta", "delta": "partial"})),
        json!({"error": {"message": "model overloaded"}})
    );
    for response in [
        MockResponse::json(
            200,
            json!({"error": {"message": "model overloaded"}}).to_string(),
        ),
        MockResponse::sse(partial_then_error),
    ] {
        let mut w = Wired::start(WireApi::Responses, vec![response], (4, 5)).await;
        let turn = w.turn("hi").await;
        assert_eq!(count(&turn, "stream_error"), 0, "{turn:#?}");
        assert_eq!(errors(&turn), ["model response failed: model overloaded"]);
        assert_eq!(w.finish().await.len(), 1);
    }
}

/// The part of a request body that must grow by appending only.
fn conversation(api: WireApi, body: &Value) -> Vec<Value> {
    let key = match api {
        WireApi::Responses => "input",
        _ => "messages",
    };
    let mut items = body[key].as_array().unwrap().clone();
    if api == WireApi::Messages {
        // The cache breakpoint moves to the newest block; everything else stays.
        for message in &mut items {
            for block in message["content"].as_array_mut().unwrap() {
                block.as_object_mut().unwrap().remove("cache_control");
            }
        }
    }
    items
}

#[tokio::test]
async fn each_request_extends_the_previous_one_and_usage_with_cached_tokens_is_summed() {
    let usage = |input, cached, output| TokenUsage {
        input_tokens: input,
        cached_input_tokens: cached,
        output_tokens: output,
        reasoning_output_tokens: 0,
        total_tokens: input + output,
    };
    for api in APIS {
        let mut w = Wired::start(
            api,
            vec![
                tool_call(api, Some(usage(100, 0, 10))),
                text(api, &["done"], Some(usage(150, 90, 5))),
                text(api, &["again"], Some(usage(170, 140, 4))),
            ],
            (0, 0),
        )
        .await;
        w.turn("first").await;
        let second = w.turn("second").await;
        let last_count = second
            .iter()
            .rev()
            .find_map(|m| match m {
                EventMsg::TokenCount { info, .. } => Some(*info),
                _ => None,
            })
            .unwrap();
        assert_eq!(last_count.total_token_usage.input_tokens, 420, "{api:?}");
        assert_eq!(
            last_count.total_token_usage.cached_input_tokens, 230,
            "{api:?}"
        );
        assert_eq!(last_count.total_token_usage.output_tokens, 19, "{api:?}");
        assert_eq!(
            last_count.last_token_usage.cached_input_tokens, 140,
            "{api:?}"
        );
        let bodies = w.finish().await;
        assert_eq!(bodies.len(), 3);
        for pair in bodies.windows(2) {
            let (before, after) = (conversation(api, &pair[0]), conversation(api, &pair[1]));
            assert!(after.len() > before.len(), "{api:?}");
            // Messages merges a new block into the last message of its role: compare whole
            // messages up to the last one, and the last one's blocks as a prefix.
            let whole = before.len() - usize::from(api == WireApi::Messages);
            assert_eq!(before[..whole], after[..whole], "{api:?}");
            if api == WireApi::Messages {
                let blocks = |m: &Value| m["content"].as_array().unwrap().clone();
                let (b, a) = (blocks(&before[whole]), blocks(&after[whole]));
                assert_eq!(b[..], a[..b.len()], "{api:?}");
            }
            // Everything but the conversation is the same every time.
            let strip = |body: &Value| {
                let mut body = body.clone();
                let map = body.as_object_mut().unwrap();
                map.remove("input");
                map.remove("messages");
                body
            };
            assert_eq!(strip(&pair[0]), strip(&pair[1]), "{api:?}");
        }
        if api == WireApi::Responses {
            assert_eq!(bodies[0]["prompt_cache_key"], "sess-providers");
            assert_eq!(bodies[0]["include"], json!(["reasoning.encrypted_content"]));
        }
    }
}

#[tokio::test]
async fn the_raw_responses_input_is_a_byte_prefix_of_the_next_one() {
    let api = WireApi::Responses;
    let w = {
        let mut w = Wired::start(
            api,
            vec![
                tool_call(api, None),
                text(api, &["a"], None),
                text(api, &["b"], None),
            ],
            (0, 0),
        )
        .await;
        w.turn("one").await;
        w.turn("two").await;
        w
    };
    let requests = w.server.requests();
    let input = |body: &[u8]| {
        let text = String::from_utf8(body.to_vec()).unwrap();
        let start = text.find("\"input\":[").unwrap() + "\"input\":[".len();
        let end = text.find("],\"tools\":").unwrap();
        text[start..end].to_owned()
    };
    for pair in requests.windows(2) {
        let (before, after) = (input(&pair[0].body), input(&pair[1].body));
        assert!(after.starts_with(&before), "{before}\n---\n{after}");
    }
    w.finish().await;
}

#[tokio::test]
async fn encrypted_reasoning_and_thinking_signatures_are_sent_back() {
    // Responses: a reasoning item with encrypted content beside a tool call.
    let reasoning = json!({
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {"type": "reasoning", "id": "rs_1", "summary": [],
                 "encrypted_content": "ENCRYPTED-BLOB"},
    });
    let call = sse_responses_tool_call("c1", "shell", r#"{"command":["echo","hi"]}"#, None);
    let with_reasoning = format!("{}{call}", sse_event(&reasoning));
    let mut w = Wired::start(
        WireApi::Responses,
        vec![
            MockResponse::sse(with_reasoning),
            text(WireApi::Responses, &["ok"], None),
        ],
        (0, 0),
    )
    .await;
    w.turn("think").await;
    let bodies = w.finish().await;
    let replayed: Vec<&Value> = bodies[1]["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "reasoning")
        .collect();
    assert_eq!(replayed.len(), 1, "{}", bodies[1]);
    assert_eq!(replayed[0]["encrypted_content"], "ENCRYPTED-BLOB");

    // Messages: a thinking block's signature goes back with the tool use it preceded.
    let thinking = sse_messages(
        &[
            MessagesBlock::Thinking(vec!["let me see".into()], "SIGNATURE".into()),
            MessagesBlock::ToolUse(
                "toolu_1".into(),
                "shell".into(),
                vec![r#"{"command":["echo","hi"]}"#.into()],
            ),
        ],
        "tool_use",
        None,
    );
    let mut w = Wired::start(
        WireApi::Messages,
        vec![
            MockResponse::sse(thinking),
            text(WireApi::Messages, &["ok"], None),
        ],
        (0, 0),
    )
    .await;
    let turn = w.turn("think").await;
    assert!(
        turn.iter()
            .any(|m| matches!(m, EventMsg::AgentReasoningDelta { delta } if delta == "let me see")),
        "{turn:#?}"
    );
    let bodies = w.finish().await;
    let assistant = &bodies[1]["messages"][1];
    assert_eq!(assistant["role"], "assistant");
    assert_eq!(
        assistant["content"][0],
        json!({"type": "thinking", "thinking": "let me see", "signature": "SIGNATURE"})
    );
    assert_eq!(assistant["content"][1]["type"], "tool_use");
    assert_eq!(
        bodies[1]["messages"][2]["content"][0]["type"],
        "tool_result"
    );
}

#[tokio::test]
async fn an_empty_assistant_message_beside_a_tool_call_is_not_shown_or_replayed() {
    let chunk = |delta: Value, finish: Option<&str>| {
        format!(
            "data: {}\n\n",
            json!({"id": "x", "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    // Some servers send empty content beside the call.
    let body = [
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function",
                   "function": {"name": "shell", "arguments": "{\"command\":[\"echo\",\"hi\"]}"}}]}),
            None,
        ),
        chunk(json!({}), Some("tool_calls")),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    let mut w = Wired::start(
        WireApi::Chat,
        vec![MockResponse::sse(body), text(WireApi::Chat, &["ok"], None)],
        (0, 0),
    )
    .await;
    let turn = w.turn("go").await;
    let messages: Vec<&EventMsg> = turn
        .iter()
        .filter(|m| matches!(m, EventMsg::AgentMessage { .. }))
        .collect();
    assert_eq!(messages.len(), 1, "only the final answer: {turn:#?}");
    let bodies = w.finish().await;
    let sent = bodies[1]["messages"].as_array().unwrap();
    let assistant: Vec<&Value> = sent.iter().filter(|m| m["role"] == "assistant").collect();
    assert_eq!(assistant.len(), 1, "{sent:#?}");
    assert!(assistant[0]["content"].is_null());
    assert_eq!(assistant[0]["tool_calls"][0]["id"], "c1");
}

#[tokio::test]
async fn an_empty_responses_message_beside_a_call_is_not_recorded_or_replayed() {
    let empty = json!({
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {"type": "message", "id": "msg_empty", "role": "assistant",
                 "content": [{"type": "output_text", "text": "", "annotations": []}]},
    });
    let call = sse_responses_tool_call("c1", "shell", r#"{"command":["echo","hi"]}"#, None);
    let mut w = Wired::start(
        WireApi::Responses,
        vec![
            MockResponse::sse(format!("{}{call}", sse_event(&empty))),
            text(WireApi::Responses, &["ok"], None),
        ],
        (0, 0),
    )
    .await;
    let turn = w.turn("go").await;
    let shown: Vec<&EventMsg> = turn
        .iter()
        .filter(|m| matches!(m, EventMsg::AgentMessage { .. }))
        .collect();
    assert_eq!(shown.len(), 1, "{turn:#?}");
    let bodies = w.finish().await;
    let input = bodies[1]["input"].as_array().unwrap();
    assert!(
        input.iter().all(|i| i["id"] != "msg_empty"),
        "the empty message was replayed: {input:#?}"
    );
}
