//! Tests of the history-to-messages conversion and the chat stream decoder, without a network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use session_state::{ContentItem, ConversationHistory, ResponseItem, TokenUsage};

use super::decode::ChatDecoder;
use super::*;
use crate::model::{ModelEvent, ToolSpec};
use crate::sse::SseEvent;
use crate::sse::driver::{Decoder, Pending};

fn call(call_id: &str, args: &str) -> ResponseItem {
    ResponseItem::FunctionCall {
        id: Some(format!("fc_{call_id}")),
        name: "shell".into(),
        arguments: args.into(),
        call_id: call_id.into(),
    }
}

fn output(call_id: &str, text: &str) -> ResponseItem {
    ResponseItem::FunctionCallOutput {
        call_id: call_id.into(),
        output: text.into(),
    }
}

fn body_of(
    items: Vec<ResponseItem>,
    instructions: &str,
    tools: Vec<ToolSpec>,
) -> serde_json::Value {
    let request = ModelRequest {
        model: "llama".into(),
        instructions: instructions.into(),
        input: ConversationHistory::from_items(items).snapshot(),
        tools: tools.into(),
        reasoning: None,
        prompt_cache_key: None,
    };
    serde_json::from_slice(&request_body(&request).unwrap()).unwrap()
}

#[test]
fn history_becomes_chat_messages() {
    let body = body_of(
        vec![
            ResponseItem::user_text("hi"),
            ResponseItem::Reasoning {
                id: "rs".into(),
                summary: Vec::new(),
                encrypted_content: None,
            },
            call("c1", r#"{"command":["ls"]}"#),
            call("c2", r#"{"command":["pwd"]}"#),
            output("c1", "a b"),
            output("c2", "/tmp"),
            ResponseItem::assistant_text("done"),
            ResponseItem::Message {
                id: None,
                role: "developer".into(),
                content: vec![
                    ContentItem::InputText {
                        text: "one ".into(),
                    },
                    ContentItem::InputText { text: "two".into() },
                ],
            },
        ],
        "be brief",
        vec![ToolSpec {
            name: "shell".into(),
            description: "run".into(),
            parameters: json!({"type": "object"}),
        }],
    );
    assert_eq!(
        body,
        json!({
            "model": "llama",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "shell", "arguments": "{\"command\":[\"ls\"]}"}},
                    {"id": "c2", "type": "function",
                     "function": {"name": "shell", "arguments": "{\"command\":[\"pwd\"]}"}},
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "a b"},
                {"role": "tool", "tool_call_id": "c2", "content": "/tmp"},
                {"role": "assistant", "content": "done"},
                {"role": "system", "content": "one two"},
            ],
            "tools": [{"type": "function",
                       "function": {"name": "shell", "description": "run",
                                    "parameters": {"type": "object"}}}],
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[test]
fn calls_right_after_assistant_text_join_that_message() {
    let body = body_of(
        vec![
            ResponseItem::user_text("hi"),
            ResponseItem::assistant_text("let me look"),
            call("c1", "{}"),
            output("c1", "ok"),
        ],
        "",
        Vec::new(),
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "let me look", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "shell", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ])
    );
    assert!(body.get("tools").is_none(), "empty tools are left out");
}

#[test]
fn images_make_the_content_a_list_of_parts() {
    let body = body_of(
        vec![ResponseItem::Message {
            id: None,
            role: "user".into(),
            content: vec![
                ContentItem::InputText {
                    text: "what is this".into(),
                },
                ContentItem::InputImage {
                    image_url: "data:image/png;base64,AA==".into(),
                },
            ],
        }],
        "",
        Vec::new(),
    );
    assert_eq!(
        body["messages"][0]["content"],
        json!([
            {"type": "text", "text": "what is this"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
        ])
    );
}

fn decode(datas: &[&str]) -> (Pending, bool, ChatDecoder) {
    let mut decoder = ChatDecoder::default();
    let mut out = Pending::new();
    for data in datas {
        let flow = decoder.on_event(
            SseEvent {
                event: "message",
                data,
            },
            &mut out,
        );
        if flow.is_break() {
            return (out, true, decoder);
        }
    }
    (out, false, decoder)
}

fn chunk(delta: serde_json::Value, finish: Option<&str>) -> String {
    json!({"id": "x1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        .to_string()
}

#[test]
fn parallel_tool_calls_are_assembled_by_index_and_emitted_in_index_order() {
    let lines = [
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "b", "function": {"name": "second", "arguments": "{\"n\""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "first", "arguments": ""}}]}),
            None,
        ),
        chunk(
            json!({"tool_calls": [{"index": 1, "function": {"arguments": ":2}"}}]}),
            None,
        ),
        chunk(json!({"reasoning_content": "hmm"}), None),
        chunk(json!({}), Some("tool_calls")),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (mut out, ended, mut decoder) = decode(&refs);
    assert!(!ended);
    decoder.on_eof(&mut out);
    assert_eq!(
        out.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        vec![
            ModelEvent::ReasoningDelta("hmm".into()),
            ModelEvent::OutputItemDone(ResponseItem::FunctionCall {
                id: None,
                name: "first".into(),
                arguments: "{}".into(),
                call_id: "a".into(),
            }),
            ModelEvent::OutputItemDone(ResponseItem::FunctionCall {
                id: None,
                name: "second".into(),
                arguments: "{\"n\":2}".into(),
                call_id: "b".into(),
            }),
            // The server closed after the finish reason without `[DONE]`: complete anyway.
            ModelEvent::Completed {
                response_id: "x1".into(),
                usage: None,
            },
        ]
    );
}

#[test]
fn a_call_without_an_id_gets_a_unique_one() {
    let lines = [
        chunk(
            json!({"tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}),
            Some("stop"),
        ),
        "[DONE]".to_owned(),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (out, ended, _) = decode(&refs);
    assert!(ended);
    let ids: Vec<String> = out
        .iter()
        .filter_map(|e| match e {
            Ok(ModelEvent::OutputItemDone(item)) => item.call_id().map(str::to_owned),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1);
    assert!(ids[0].starts_with("call_") && ids[0].len() > 10, "{ids:?}");
}

#[test]
fn eof_before_a_finish_reason_is_a_closed_stream() {
    let lines = [chunk(json!({"content": "partial"}), None)];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (mut out, _, mut decoder) = decode(&refs);
    decoder.on_eof(&mut out);
    assert_eq!(out.pop_back(), Some(Err(ModelError::StreamClosed)));
}

#[test]
fn an_error_object_in_the_stream_fails_the_response() {
    let (out, ended, _) = decode(&[r#"{"error":{"message":"model overloaded"}}"#]);
    assert!(ended);
    assert_eq!(
        out.into_iter().collect::<Vec<_>>(),
        vec![Err(ModelError::Failed("model overloaded".into()))]
    );
}

#[test]
fn usage_maps_prompt_completion_and_details() {
    let usage = json!({"id": "x", "choices": [], "usage": {
        "prompt_tokens": 12, "prompt_tokens_details": {"cached_tokens": 2},
        "completion_tokens": 8, "completion_tokens_details": {"reasoning_tokens": 3},
        "total_tokens": 20}})
    .to_string();
    let lines = [
        chunk(json!({"content": "x"}), Some("stop")),
        usage,
        "[DONE]".into(),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (out, ended, _) = decode(&refs);
    assert!(ended);
    assert_eq!(
        out.into_iter().last(),
        Some(Ok(ModelEvent::Completed {
            response_id: "x1".into(),
            usage: Some(TokenUsage {
                input_tokens: 12,
                cached_input_tokens: 2,
                output_tokens: 8,
                reasoning_output_tokens: 3,
                total_tokens: 20,
            }),
        }))
    );
}
