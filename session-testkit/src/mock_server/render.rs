//! SSE bodies as the Responses, Chat Completions and Messages APIs send them, for scripting the mock server.
//!
//! Pure string rendering; the shapes follow the real APIs closely enough that a client passing
//! against them passes against the real servers. It must not grow test assertions.

use serde_json::{Value, json};
use session_state::TokenUsage;

/// One SSE event named by the data's `type` (or unnamed when it has none).
pub fn sse_event(data: &Value) -> String {
    match data.get("type").and_then(Value::as_str) {
        Some(kind) => format!("event: {kind}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

fn responses_usage(usage: &TokenUsage) -> Value {
    json!({
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_input_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_output_tokens},
        "total_tokens": usage.total_tokens,
    })
}

fn responses_completed(usage: Option<TokenUsage>) -> String {
    let mut response = json!({"id": "resp_mock", "status": "completed"});
    if let Some(usage) = usage {
        response["usage"] = responses_usage(&usage);
    }
    sse_event(&json!({"type": "response.completed", "response": response}))
}

/// A Responses stream: `response.created`, one `output_text.delta` per delta, the assistant
/// message (id `msg_mock`) as `output_item.done`, then `response.completed` (id `resp_mock`).
pub fn sse_responses_text(deltas: &[&str], usage: Option<TokenUsage>) -> String {
    let mut out = sse_event(&json!({
        "type": "response.created",
        "response": {"id": "resp_mock", "status": "in_progress"},
    }));
    for delta in deltas {
        out.push_str(&sse_event(&json!({
            "type": "response.output_text.delta",
            "item_id": "msg_mock",
            "output_index": 0,
            "content_index": 0,
            "delta": delta,
        })));
    }
    out.push_str(&sse_event(&json!({
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {
            "type": "message",
            "id": "msg_mock",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": deltas.concat(), "annotations": []}],
        },
    })));
    out.push_str(&responses_completed(usage));
    out
}

/// A Responses stream holding one function call (item id `fc_mock`), then
/// `response.completed`.
pub fn sse_responses_tool_call(
    call_id: &str,
    name: &str,
    arguments: &str,
    usage: Option<TokenUsage>,
) -> String {
    let mut out = sse_event(&json!({
        "type": "response.created",
        "response": {"id": "resp_mock", "status": "in_progress"},
    }));
    out.push_str(&sse_event(&json!({
        "type": "response.function_call_arguments.delta",
        "item_id": "fc_mock",
        "output_index": 0,
        "delta": arguments,
    })));
    out.push_str(&sse_event(&json!({
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {
            "type": "function_call",
            "id": "fc_mock",
            "status": "completed",
            "call_id": call_id,
            "name": name,
            "arguments": arguments,
        },
    })));
    out.push_str(&responses_completed(usage));
    out
}

fn chat_chunk(delta: Value, finish_reason: Option<&str>) -> String {
    sse_event(&json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "model": "mock",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }))
}

fn chat_end(usage: Option<TokenUsage>) -> String {
    let mut out = String::new();
    if let Some(usage) = usage {
        out.push_str(&sse_event(&json!({
            "id": "chatcmpl-mock",
            "object": "chat.completion.chunk",
            "choices": [],
            "usage": {
                "prompt_tokens": usage.input_tokens,
                "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens},
                "completion_tokens": usage.output_tokens,
                "completion_tokens_details": {"reasoning_tokens": usage.reasoning_output_tokens},
                "total_tokens": usage.total_tokens,
            },
        })));
    }
    out.push_str("data: [DONE]\n\n");
    out
}

/// A Chat Completions stream (id `chatcmpl-mock`): the role, one chunk per delta, finish reason
/// `stop`, the usage chunk when given, then `[DONE]`.
pub fn sse_chat_text(deltas: &[&str], usage: Option<TokenUsage>) -> String {
    let mut out = chat_chunk(json!({"role": "assistant", "content": ""}), None);
    for delta in deltas {
        out.push_str(&chat_chunk(json!({"content": delta}), None));
    }
    out.push_str(&chat_chunk(json!({}), Some("stop")));
    out.push_str(&chat_end(usage));
    out
}

/// A Chat Completions stream with one tool call whose arguments arrive in `fragments`, finish
/// reason `tool_calls`, the usage chunk when given, then `[DONE]`.
pub fn sse_chat_tool_call(
    call_id: &str,
    name: &str,
    fragments: &[&str],
    usage: Option<TokenUsage>,
) -> String {
    let mut out = chat_chunk(
        json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "index": 0,
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }],
        }),
        None,
    );
    for fragment in fragments {
        out.push_str(&chat_chunk(
            json!({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}),
            None,
        ));
    }
    out.push_str(&chat_chunk(json!({}), Some("tool_calls")));
    out.push_str(&chat_end(usage));
    out
}

/// One part of a scripted Messages response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessagesBlock {
    /// A text block streamed as these deltas.
    Text(Vec<String>),
    /// A thinking block streamed as these deltas, then its signature.
    Thinking(Vec<String>, String),
    /// A `tool_use` block: id, name, and its input as `input_json_delta` fragments.
    ToolUse(String, String, Vec<String>),
}

/// A Messages stream (message id `msg_mock`) of `blocks`, in order, ending with `stop_reason`
/// (`end_turn`, `tool_use`, `max_tokens`) and `usage` (input tokens as the API counts them:
/// without what the cache read, which is given apart).
pub fn sse_messages(
    blocks: &[MessagesBlock],
    stop_reason: &str,
    usage: Option<TokenUsage>,
) -> String {
    let usage = usage.unwrap_or_default();
    let uncached = usage.input_tokens.saturating_sub(usage.cached_input_tokens);
    let mut out = sse_event(&json!({
        "type": "message_start",
        "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": "mock",
            "content": [], "stop_reason": null,
            "usage": {
                "input_tokens": uncached,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": usage.cached_input_tokens,
                "output_tokens": 1,
            },
        },
    }));
    out.push_str(&sse_event(&json!({"type": "ping"})));
    for (index, block) in blocks.iter().enumerate() {
        let (start, deltas): (Value, Vec<Value>) = match block {
            MessagesBlock::Text(pieces) => (
                json!({"type": "text", "text": ""}),
                pieces
                    .iter()
                    .map(|t| json!({"type": "text_delta", "text": t}))
                    .collect(),
            ),
            MessagesBlock::Thinking(pieces, signature) => (
                json!({"type": "thinking", "thinking": ""}),
                pieces
                    .iter()
                    .map(|t| json!({"type": "thinking_delta", "thinking": t}))
                    .chain([json!({"type": "signature_delta", "signature": signature})])
                    .collect(),
            ),
            MessagesBlock::ToolUse(id, name, fragments) => (
                json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                fragments
                    .iter()
                    .map(|f| json!({"type": "input_json_delta", "partial_json": f}))
                    .collect(),
            ),
        };
        out.push_str(&sse_event(&json!({
            "type": "content_block_start", "index": index, "content_block": start,
        })));
        for delta in deltas {
            out.push_str(&sse_event(&json!({
                "type": "content_block_delta", "index": index, "delta": delta,
            })));
        }
        out.push_str(&sse_event(
            &json!({"type": "content_block_stop", "index": index}),
        ));
    }
    out.push_str(&sse_event(&json!({
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": null},
        "usage": {"output_tokens": usage.output_tokens},
    })));
    out.push_str(&sse_event(&json!({"type": "message_stop"})));
    out
}

/// A Messages stream of one text block streamed as `deltas`, ending the turn.
pub fn sse_messages_text(deltas: &[&str], usage: Option<TokenUsage>) -> String {
    let pieces = deltas.iter().map(|d| (*d).to_owned()).collect();
    sse_messages(&[MessagesBlock::Text(pieces)], "end_turn", usage)
}

/// A Messages stream of one `tool_use` block whose input arrives in `fragments`.
pub fn sse_messages_tool_call(
    call_id: &str,
    name: &str,
    fragments: &[&str],
    usage: Option<TokenUsage>,
) -> String {
    let block = MessagesBlock::ToolUse(
        call_id.to_owned(),
        name.to_owned(),
        fragments.iter().map(|f| (*f).to_owned()).collect(),
    );
    sse_messages(&[block], "tool_use", usage)
}
