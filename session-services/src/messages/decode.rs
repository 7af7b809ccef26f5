//! Meaning of a Messages API stream: `message_start`, content blocks started, extended by deltas
//! and stopped, `message_delta` with the stop reason and output usage, `message_stop`, `error`.
//!
//! A block becomes an item when it stops: text an assistant message, thinking a reasoning item
//! holding its signature (redacted thinking its data), `tool_use` a function call whose arguments
//! are the `input_json_delta` fragments joined. It must not wait for anything after
//! `message_stop` or an error.

use std::ops::ControlFlow;

use serde::Deserialize;
use session_state::{ReasoningSummaryPart, ResponseItem, TokenUsage};

use super::{REDACTED_THINKING_ID, THINKING_ID};
use crate::model::{ModelError, ModelEvent};
use crate::sse::SseEvent;
use crate::sse::driver::{Decoder, Pending};

/// Decodes one Messages stream.
#[derive(Debug, Default)]
pub(crate) struct MessagesDecoder {
    id: String,
    usage: Usage,
    /// Blocks by their index, until they stop.
    blocks: Vec<(u64, Block)>,
    stop_reason: Option<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Usage {
    input: u64,
    cache_creation: u64,
    cache_read: u64,
    output: u64,
}

#[derive(Debug)]
enum Block {
    Text(String),
    Thinking {
        text: String,
        signature: String,
    },
    Redacted(String),
    ToolUse {
        id: String,
        name: String,
        json: String,
    },
    Other,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    index: u64,
    #[serde(default)]
    message: Option<StartMessage>,
    #[serde(default)]
    content_block: Option<serde_json::Value>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
}

impl Usage {
    fn update(&mut self, wire: WireUsage) {
        self.input = wire.input_tokens.unwrap_or(self.input);
        self.cache_creation = wire
            .cache_creation_input_tokens
            .unwrap_or(self.cache_creation);
        self.cache_read = wire.cache_read_input_tokens.unwrap_or(self.cache_read);
        self.output = wire.output_tokens.unwrap_or(self.output);
    }

    /// As the other APIs count: input includes what the cache served.
    fn to_token_usage(self) -> TokenUsage {
        let input = self.input + self.cache_creation + self.cache_read;
        TokenUsage {
            input_tokens: input,
            cached_input_tokens: self.cache_read,
            output_tokens: self.output,
            reasoning_output_tokens: 0,
            total_tokens: input + self.output,
        }
    }
}

fn block_of(value: &serde_json::Value) -> Block {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    match value.get("type").and_then(|t| t.as_str()) {
        Some("text") => Block::Text(text("text")),
        Some("thinking") => Block::Thinking {
            text: text("thinking"),
            signature: text("signature"),
        },
        Some("redacted_thinking") => Block::Redacted(text("data")),
        Some("tool_use" | "server_tool_use") => {
            // Input usually streams as deltas; a server may send it whole here instead.
            let json = match value.get("input") {
                Some(v) if v.as_object().is_some_and(|o| !o.is_empty()) => v.to_string(),
                _ => String::new(),
            };
            Block::ToolUse {
                id: text("id"),
                name: text("name"),
                json,
            }
        }
        _ => Block::Other,
    }
}

fn error_text(error: Option<&serde_json::Value>) -> String {
    match error {
        Some(e) => e
            .get("message")
            .and_then(|m| m.as_str())
            .map_or_else(|| e.to_string(), str::to_owned),
        None => "no reason given".to_owned(),
    }
}

impl MessagesDecoder {
    fn block(&mut self, index: u64) -> Option<&mut Block> {
        self.blocks
            .iter_mut()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }

    fn event(&mut self, event: Event, out: &mut Pending) -> ControlFlow<()> {
        match event.kind.as_str() {
            "message_start" => {
                if let Some(message) = event.message {
                    self.id = message.id;
                    if let Some(usage) = message.usage {
                        self.usage.update(usage);
                    }
                }
                out.push_back(Ok(ModelEvent::Created));
            }
            "content_block_start" => {
                let block = event.content_block.as_ref().map_or(Block::Other, block_of);
                if let Block::Text(text) = &block
                    && !text.is_empty()
                {
                    out.push_back(Ok(ModelEvent::OutputTextDelta(text.clone())));
                }
                self.blocks.push((event.index, block));
            }
            "content_block_delta" => {
                let Some(delta) = event.delta else {
                    return ControlFlow::Continue(());
                };
                let Some(block) = self.block(event.index) else {
                    out.push_back(Err(ModelError::Protocol(format!(
                        "a delta for content block {} that never started",
                        event.index
                    ))));
                    return ControlFlow::Break(());
                };
                match (delta.kind.as_str(), block) {
                    ("text_delta", Block::Text(text)) => {
                        if let Some(piece) = delta.text.filter(|t| !t.is_empty()) {
                            text.push_str(&piece);
                            out.push_back(Ok(ModelEvent::OutputTextDelta(piece)));
                        }
                    }
                    ("thinking_delta", Block::Thinking { text, .. }) => {
                        if let Some(piece) = delta.thinking.filter(|t| !t.is_empty()) {
                            text.push_str(&piece);
                            out.push_back(Ok(ModelEvent::ReasoningDelta(piece)));
                        }
                    }
                    ("signature_delta", Block::Thinking { signature, .. }) => {
                        signature.push_str(delta.signature.as_deref().unwrap_or_default());
                    }
                    ("input_json_delta", Block::ToolUse { json, .. }) => {
                        json.push_str(delta.partial_json.as_deref().unwrap_or_default());
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let Some(position) = self.blocks.iter().position(|(i, _)| *i == event.index) else {
                    return ControlFlow::Continue(());
                };
                let (_, block) = self.blocks.remove(position);
                if let Some(item) = item_of(block) {
                    out.push_back(Ok(ModelEvent::OutputItemDone(item)));
                }
            }
            "message_delta" => {
                if let Some(reason) = event.delta.and_then(|d| d.stop_reason) {
                    self.stop_reason = Some(reason);
                }
                if let Some(usage) = event.usage {
                    self.usage.update(usage);
                }
            }
            "message_stop" => {
                // Cut short by the token limit, or the model declined: the turn says which.
                if let Some(reason @ ("max_tokens" | "refusal")) = self.stop_reason.as_deref() {
                    out.push_back(Err(ModelError::Incomplete(reason.to_owned())));
                } else {
                    out.push_back(Ok(ModelEvent::Completed {
                        response_id: std::mem::take(&mut self.id),
                        usage: Some(self.usage.to_token_usage()),
                    }));
                }
                return ControlFlow::Break(());
            }
            "error" => {
                out.push_back(Err(ModelError::Failed(error_text(event.error.as_ref()))));
                return ControlFlow::Break(());
            }
            // `ping`, and events added to the API later.
            _ if event.error.is_some() => {
                out.push_back(Err(ModelError::Failed(error_text(event.error.as_ref()))));
                return ControlFlow::Break(());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// The history item a stopped block is, if any.
fn item_of(block: Block) -> Option<ResponseItem> {
    match block {
        Block::Text(text) if !text.is_empty() => Some(ResponseItem::assistant_text(text)),
        Block::Thinking { text, signature } => Some(ResponseItem::Reasoning {
            id: THINKING_ID.to_owned(),
            summary: vec![ReasoningSummaryPart::SummaryText { text }],
            encrypted_content: Some(signature),
        }),
        Block::Redacted(data) => Some(ResponseItem::Reasoning {
            id: REDACTED_THINKING_ID.to_owned(),
            summary: Vec::new(),
            encrypted_content: Some(data),
        }),
        Block::ToolUse { id, name, json } => Some(ResponseItem::FunctionCall {
            id: None,
            name,
            arguments: if json.trim().is_empty() {
                "{}".to_owned()
            } else {
                json
            },
            call_id: id,
        }),
        Block::Text(_) | Block::Other => None,
    }
}

impl Decoder for MessagesDecoder {
    fn on_event(&mut self, event: SseEvent<'_>, out: &mut Pending) -> ControlFlow<()> {
        match serde_json::from_str::<Event>(event.data) {
            Ok(mut parsed) => {
                if parsed.kind.is_empty() {
                    event.event.clone_into(&mut parsed.kind);
                }
                self.event(parsed, out)
            }
            Err(e) => {
                out.push_back(Err(ModelError::Protocol(format!(
                    "bad messages event: {e}"
                ))));
                ControlFlow::Break(())
            }
        }
    }

    fn on_eof(&mut self, out: &mut Pending) {
        out.push_back(Err(ModelError::StreamClosed));
    }
}
