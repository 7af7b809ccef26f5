//! Tests of the history-to-messages conversion and the Messages stream decoder, without a
//! network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::ControlFlow;

use serde_json::json;
use session_state::{ConversationHistory, ReasoningEffort, ResponseItem, TokenUsage};

use super::*;
use crate::model::{ModelEvent, ReasoningOptions, ToolSpec};
use crate::sse::driver::{Decoder, Pending};
use crate::sse::{SseEvent, SseParser};
use session_testkit::{MessagesBlock, sse_messages};

fn request(items: Vec<ResponseItem>) -> ModelRequest {
    ModelRequest {
        model: "claude-test".into(),
        instructions: "be brief".into(),
        input: ConversationHistory::from_items(items).snapshot(),
        tools: vec![ToolSpec {
            name: "shell".into(),
            description: "run a command".into(),
            parameters: json!({"type": "object", "properties": {}}),
        }]
        .into(),
        reasoning: None,
        prompt_cache_key: Some("sess".into()),
    }
}

fn body(request: &ModelRequest) -> serde_json::Value {
    serde_json::from_slice(&request_body(request, 1000).unwrap()).unwrap()
}

#[test]
fn history_becomes_alternating_messages_of_blocks_with_the_cache_marked() {
    let req = request(vec![
        ResponseItem::user_text("list files"),
        ResponseItem::Reasoning {
            id: THINKING_ID.into(),
            summary: vec![session_state::ReasoningSummaryPart::SummaryText {
                text: "I should run ls".into(),
            }],
            encrypted_content: Some("sig-1".into()),
        },
        ResponseItem::assistant_text(""),
        ResponseItem::assistant_text("Running ls."),
        ResponseItem::FunctionCall {
            id: None,
            name: "shell".into(),
            arguments: r#"{"command":["ls"]}"#.into(),
            call_id: "toolu_1".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "toolu_1".into(),
            output: "a\nb".into(),
        },
    ]);
    let body = body(&req);
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["max_tokens"], 1000);
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(
        body["tools"],
        json!([{"name": "shell", "description": "run a command",
                "input_schema": {"type": "object", "properties": {}}}])
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "list files"}]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should run ls", "signature": "sig-1"},
                {"type": "text", "text": "Running ls."},
                {"type": "tool_use", "id": "toolu_1", "name": "shell",
                 "input": {"command": ["ls"]}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a\nb",
                 "cache_control": {"type": "ephemeral"}},
            ]},
        ])
    );
    assert!(body.get("thinking").is_none());
}

#[test]
fn reasoning_effort_turns_thinking_on_with_its_own_budget() {
    let mut req = request(vec![ResponseItem::user_text("hi")]);
    req.reasoning = Some(ReasoningOptions {
        effort: Some(ReasoningEffort::Low),
        summary: None,
    });
    let body = body(&req);
    assert_eq!(
        body["thinking"],
        json!({"type": "enabled", "budget_tokens": 2048})
    );
    assert_eq!(body["max_tokens"], 1000 + 2048);
}

#[test]
fn images_and_foreign_reasoning_are_converted_or_left_out() {
    let req = request(vec![
        ResponseItem::Message {
            id: None,
            role: "user".into(),
            content: vec![
                session_state::ContentItem::InputText { text: "see".into() },
                session_state::ContentItem::InputImage {
                    image_url: "data:image/png;base64,AAAA".into(),
                },
                session_state::ContentItem::InputImage {
                    image_url: "https://example.invalid/a.png".into(),
                },
            ],
        },
        ResponseItem::Reasoning {
            id: "rs_openai".into(),
            summary: vec![],
            encrypted_content: Some("opaque".into()),
        },
        ResponseItem::FunctionCall {
            id: None,
            name: "shell".into(),
            arguments: "not json".into(),
            call_id: "c".into(),
        },
    ]);
    let body = body(&req);
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(
        messages[0]["content"][1]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "AAAA"})
    );
    assert_eq!(
        messages[0]["content"][2]["source"],
        json!({"type": "url", "url": "https://example.invalid/a.png"})
    );
    assert_eq!(messages[1]["content"].as_array().unwrap().len(), 1);
    assert_eq!(messages[1]["content"][0]["input"], json!({}));
}

fn decode(body: &str) -> Pending {
    let mut decoder = MessagesDecoder::default();
    let mut parser = SseParser::default();
    let mut out = Pending::new();
    let mut flow = parser
        .feed(body.as_bytes(), &mut |event: SseEvent<'_>| {
            decoder.on_event(event, &mut out)
        })
        .unwrap();
    if flow == ControlFlow::Continue(()) {
        flow = parser
            .finish(&mut |event: SseEvent<'_>| decoder.on_event(event, &mut out))
            .unwrap();
    }
    if flow == ControlFlow::Continue(()) {
        decoder.on_eof(&mut out);
    }
    out
}

#[test]
fn a_stream_of_thinking_text_and_a_tool_call_becomes_deltas_items_and_usage() {
    let body = sse_messages(
        &[
            MessagesBlock::Thinking(vec!["hm".into(), "m".into()], "sig".into()),
            MessagesBlock::Text(vec!["Let me ".into(), "look.".into()]),
            MessagesBlock::ToolUse(
                "toolu_9".into(),
                "shell".into(),
                vec![r#"{"command":"#.into(), r#"["ls"]}"#.into()],
            ),
        ],
        "tool_use",
        Some(TokenUsage {
            input_tokens: 100,
            cached_input_tokens: 80,
            output_tokens: 7,
            reasoning_output_tokens: 0,
            total_tokens: 107,
        }),
    );
    let events: Vec<ModelEvent> = decode(&body).into_iter().map(Result::unwrap).collect();
    assert_eq!(
        events,
        [
            ModelEvent::Created,
            ModelEvent::ReasoningDelta("hm".into()),
            ModelEvent::ReasoningDelta("m".into()),
            ModelEvent::OutputItemDone(ResponseItem::Reasoning {
                id: THINKING_ID.into(),
                summary: vec![session_state::ReasoningSummaryPart::SummaryText {
                    text: "hmm".into()
                }],
                encrypted_content: Some("sig".into()),
            }),
            ModelEvent::OutputTextDelta("Let me ".into()),
            ModelEvent::OutputTextDelta("look.".into()),
            ModelEvent::OutputItemDone(ResponseItem::assistant_text("Let me look.")),
            ModelEvent::OutputItemDone(ResponseItem::FunctionCall {
                id: None,
                name: "shell".into(),
                arguments: r#"{"command":["ls"]}"#.into(),
                call_id: "toolu_9".into(),
            }),
            ModelEvent::Completed {
                response_id: "msg_mock".into(),
                usage: Some(TokenUsage {
                    input_tokens: 100,
                    cached_input_tokens: 80,
                    output_tokens: 7,
                    reasoning_output_tokens: 0,
                    total_tokens: 107,
                }),
            },
        ]
    );
}

#[test]
fn an_error_event_a_cut_stream_and_max_tokens_end_the_response() {
    let start =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n";
    let error = format!(
        "{start}event: error\ndata: {}\n\n",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );
    assert_eq!(
        decode(&error).back().unwrap(),
        &Err(ModelError::Failed("Overloaded".into()))
    );
    assert_eq!(
        decode(start).back().unwrap(),
        &Err(ModelError::StreamClosed)
    );
    let truncated = sse_messages(
        &[MessagesBlock::Text(vec!["long".into()])],
        "max_tokens",
        None,
    );
    assert_eq!(
        decode(&truncated).back().unwrap(),
        &Err(ModelError::Incomplete("max_tokens".into()))
    );
    let refused = sse_messages(
        &[MessagesBlock::Text(vec!["I can't help with that.".into()])],
        "refusal",
        None,
    );
    assert_eq!(
        decode(&refused).back().unwrap(),
        &Err(ModelError::Incomplete("refusal".into()))
    );
}
