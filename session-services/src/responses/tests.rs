//! Tests of the Responses request body and the event decoder, without a network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::ControlFlow;

use serde_json::json;
use session_state::{
    ConversationHistory, ReasoningEffort, ReasoningSummary, ReasoningSummaryPart, ResponseItem,
    TokenUsage,
};

use super::*;
use crate::model::{ModelEvent, ReasoningOptions, ToolSpec};
use crate::sse::SseEvent;
use crate::sse::driver::{Decoder, Pending};

fn request(reasoning: Option<ReasoningOptions>) -> ModelRequest {
    let history = ConversationHistory::from_items([
        ResponseItem::user_text("list \"files\""),
        ResponseItem::FunctionCall {
            id: None,
            name: "shell".into(),
            arguments: r#"{"command":["ls"]}"#.into(),
            call_id: "c1".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "c1".into(),
            output: "a\nb".into(),
        },
    ]);
    ModelRequest {
        model: "gpt-test".into(),
        instructions: "be brief\n".into(),
        input: history.snapshot(),
        tools: vec![ToolSpec {
            name: "shell".into(),
            description: "run a command".into(),
            parameters: json!({"type": "object", "properties": {}}),
        }]
        .into(),
        reasoning,
        prompt_cache_key: None,
    }
}

#[test]
fn the_body_carries_history_as_stored_and_the_fixed_fields() {
    let req = request(None);
    let body: serde_json::Value =
        serde_json::from_slice(&request_body(&req, false).unwrap().to_vec()).unwrap();
    let history: serde_json::Value = serde_json::from_str(&req.input.to_json_array()).unwrap();
    assert_eq!(
        body,
        json!({
            "model": "gpt-test",
            "instructions": "be brief\n",
            "input": history,
            "tools": [{
                "type": "function",
                "name": "shell",
                "description": "run a command",
                "parameters": {"type": "object", "properties": {}},
                "strict": false,
            }],
            "tool_choice": "auto",
            "parallel_tool_calls": false,
            "include": ["reasoning.encrypted_content"],
            "store": false,
            "stream": true,
        })
    );
}

#[test]
fn the_session_id_is_the_prompt_cache_key_and_store_true_asks_for_nothing_encrypted() {
    let mut req = request(None);
    req.prompt_cache_key = Some("sess-1".into());
    let body: serde_json::Value =
        serde_json::from_slice(&request_body(&req, true).unwrap().to_vec()).unwrap();
    assert_eq!(body["prompt_cache_key"], "sess-1");
    assert_eq!(body["store"], true);
    assert!(body.get("include").is_none());
}

#[test]
fn empty_assistant_messages_and_unreadable_reasoning_are_not_replayed() {
    let reasoning = |encrypted: Option<&str>| ResponseItem::Reasoning {
        id: "rs_1".into(),
        summary: vec![],
        encrypted_content: encrypted.map(str::to_owned),
    };
    let history = ConversationHistory::from_items([
        ResponseItem::user_text("hi"),
        reasoning(None),
        reasoning(Some("opaque")),
        ResponseItem::assistant_text(""),
        ResponseItem::assistant_text("hello"),
    ]);
    let mut req = request(None);
    req.input = history.snapshot();
    let body: serde_json::Value =
        serde_json::from_slice(&request_body(&req, false).unwrap().to_vec()).unwrap();
    let input = body["input"].as_array().unwrap();
    assert_eq!(input.len(), 3, "{input:?}");
    assert_eq!(input[1]["encrypted_content"], "opaque");
    assert_eq!(input[2]["content"][0]["text"], "hello");
    // A server that stores responses can read reasoning back by its id.
    let body: serde_json::Value =
        serde_json::from_slice(&request_body(&req, true).unwrap().to_vec()).unwrap();
    assert_eq!(body["input"].as_array().unwrap().len(), 4);
}

#[test]
fn a_bare_error_object_or_an_error_event_of_any_shape_fails_the_response() {
    for line in [
        json!({"error": {"message": "quota exceeded", "type": "insufficient_quota"}}),
        json!({"type": "error", "message": "quota exceeded"}),
        json!({"type": "error", "error": {"message": "quota exceeded"}}),
        json!({"type": "error", "code": "x", "message": "quota exceeded", "param": null}),
    ] {
        let (out, ended) = decode(&[
            json!({"type": "response.output_text.delta", "delta": "par"}),
            line.clone(),
        ]);
        assert!(ended, "{line}");
        let last = out.back().unwrap();
        assert_eq!(
            last,
            &Err(ModelError::Failed("quota exceeded".into())),
            "{line}"
        );
    }
}

#[test]
fn the_body_embeds_each_items_cached_json_byte_for_byte() {
    let req = request(None);
    let body = String::from_utf8(request_body(&req, false).unwrap().to_vec()).unwrap();
    assert!(body.contains(&format!(",\"input\":{},", req.input.to_json_array())));
}

#[test]
fn a_long_history_is_written_in_chunks_of_the_length_announced() {
    let mut req = request(None);
    let output = "line\t\"quoted\"\n".repeat(200);
    let items = (0..400).map(|i| ResponseItem::FunctionCallOutput {
        call_id: format!("c{i}"),
        output: output.clone(),
    });
    req.input = ConversationHistory::from_items(items).snapshot();
    let body = request_body(&req, false).unwrap();
    let len = body.len();
    let chunks: Vec<bytes::Bytes> = body.clone().into_chunks().collect();
    assert!(chunks.len() > 3, "{} chunks", chunks.len());
    let joined = chunks.concat();
    assert_eq!(joined.len(), len);
    assert_eq!(joined, body.to_vec());
    let text = String::from_utf8(joined).unwrap();
    assert!(text.contains(&format!(",\"input\":{},", req.input.to_json_array())));
    serde_json::from_str::<serde_json::Value>(&text).unwrap();
}

#[test]
fn reasoning_options_ask_for_encrypted_reasoning() {
    let req = request(Some(ReasoningOptions {
        effort: Some(ReasoningEffort::High),
        summary: Some(ReasoningSummary::Auto),
    }));
    let body: serde_json::Value =
        serde_json::from_slice(&request_body(&req, false).unwrap().to_vec()).unwrap();
    assert_eq!(
        body["reasoning"],
        json!({"effort": "high", "summary": "auto"})
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
}

fn decode(lines: &[serde_json::Value]) -> (Pending, bool) {
    let mut decoder = ResponsesDecoder;
    let mut out = Pending::new();
    for line in lines {
        let data = line.to_string();
        let flow = decoder.on_event(
            SseEvent {
                event: "message",
                data: &data,
            },
            &mut out,
        );
        if flow.is_break() {
            return (out, true);
        }
    }
    (out, false)
}

#[test]
fn reasoning_deltas_and_reasoning_items_are_decoded() {
    let (out, ended) = decode(&[
        json!({"type": "response.reasoning_summary_text.delta", "delta": "think"}),
        json!({"type": "response.reasoning_text.delta", "delta": "ing"}),
        json!({"type": "response.output_item.done", "item": {
            "type": "reasoning", "id": "rs_1",
            "summary": [{"type": "summary_text", "text": "thinking"}],
            "encrypted_content": "opaque"}}),
    ]);
    assert!(!ended);
    assert_eq!(
        out.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        vec![
            ModelEvent::ReasoningDelta("think".into()),
            ModelEvent::ReasoningDelta("ing".into()),
            ModelEvent::OutputItemDone(ResponseItem::Reasoning {
                id: "rs_1".into(),
                summary: vec![ReasoningSummaryPart::SummaryText {
                    text: "thinking".into()
                }],
                encrypted_content: Some("opaque".into()),
            }),
        ]
    );
}

#[test]
fn unknown_items_and_events_are_skipped() {
    let (out, ended) = decode(&[
        json!({"type": "response.output_item.done", "item": {"type": "web_search_call", "id": "w"}}),
        json!({"type": "response.in_progress", "response": {}}),
        json!({"type": "response.content_part.added"}),
    ]);
    assert!(!ended);
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn completed_maps_usage_and_ends() {
    let (out, ended) = decode(&[
        json!({"type": "response.completed", "response": {"id": "resp_9", "usage": {
            "input_tokens": 100, "input_tokens_details": {"cached_tokens": 40},
            "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 10},
            "total_tokens": 130}}}),
        json!({"type": "response.output_text.delta", "delta": "after the end"}),
    ]);
    assert!(ended);
    assert_eq!(
        out.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        vec![ModelEvent::Completed {
            response_id: "resp_9".into(),
            usage: Some(TokenUsage {
                input_tokens: 100,
                cached_input_tokens: 40,
                output_tokens: 30,
                reasoning_output_tokens: 10,
                total_tokens: 130,
            }),
        }]
    );
}

#[test]
fn incomplete_and_error_events_end_with_their_reason() {
    let (out, ended) = decode(&[json!({"type": "response.incomplete", "response": {
        "incomplete_details": {"reason": "max_output_tokens"}}})]);
    assert!(ended);
    assert_eq!(
        out.into_iter().collect::<Vec<_>>(),
        vec![Err(ModelError::Incomplete("max_output_tokens".into()))]
    );
    let (out, ended) =
        decode(&[json!({"type": "error", "code": "server_error", "message": "boom"})]);
    assert!(ended);
    assert_eq!(
        out.into_iter().collect::<Vec<_>>(),
        vec![Err(ModelError::Failed("boom".into()))]
    );
}

#[test]
fn the_sse_event_name_stands_in_for_a_missing_type() {
    let mut decoder = ResponsesDecoder;
    let mut out = Pending::new();
    let flow = decoder.on_event(
        SseEvent {
            event: "response.output_text.delta",
            data: r#"{"delta":"x"}"#,
        },
        &mut out,
    );
    assert_eq!(flow, ControlFlow::Continue(()));
    assert_eq!(
        out.pop_front(),
        Some(Ok(ModelEvent::OutputTextDelta("x".into())))
    );
}
