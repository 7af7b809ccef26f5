//! The Anthropic Messages API client: `POST {base_url}/messages`, streamed back as SSE.
//!
//! History becomes alternating user and assistant messages of content blocks: text and images,
//! `thinking` blocks with their signatures (replayed, as the API requires during tool use),
//! `tool_use` blocks for calls and `tool_result` blocks for their outputs. The system prompt and
//! the newest block carry `cache_control`, so each request reads the previous one's prefix from
//! the prompt cache. It works with any Anthropic-compatible server by `base_url`.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::SerializeSeq;
use session_state::{
    ContentItem, HistoryItem, ItemKind, ReasoningEffort, ReasoningSummaryPart, ResponseItem,
};

use crate::model::{ModelClient, ModelError, ModelRequest, ModelStream};
use crate::provider::{Auth, ProviderConfig};
use crate::responses::write_json;
use crate::wire::{RequestBody, StreamingClient, Wire};

mod decode;

pub(crate) use decode::MessagesDecoder;

/// The `anthropic-version` every request carries.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The id a reasoning item made from a `thinking` block has.
pub(crate) const THINKING_ID: &str = "thinking";
/// The id a reasoning item made from a `redacted_thinking` block has.
pub(crate) const REDACTED_THINKING_ID: &str = "redacted_thinking";

/// A [`ModelClient`] speaking the Anthropic Messages API.
#[derive(Debug)]
pub struct MessagesClient {
    inner: StreamingClient<Messages>,
}

impl MessagesClient {
    /// A client for `config`, reading its API key from the environment now.
    ///
    /// # Errors
    ///
    /// [`ModelError::Config`] when the key's variable is unset or the config is invalid.
    pub fn new(config: &ProviderConfig) -> Result<Self, ModelError> {
        Ok(Self {
            inner: StreamingClient::new(
                config,
                Messages {
                    max_tokens: config.max_tokens,
                },
            )?,
        })
    }
}

#[async_trait::async_trait]
impl ModelClient for MessagesClient {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        self.inner.stream(&request).await
    }
}

/// The Messages wire API.
#[derive(Debug)]
pub(crate) struct Messages {
    max_tokens: u32,
}

impl Wire for Messages {
    type Decoder = MessagesDecoder;
    const PATH: &'static str = "messages";
    const AUTH: Auth = Auth::ApiKeyHeader;
    const HEADERS: &'static [(&'static str, &'static str)] =
        &[("anthropic-version", ANTHROPIC_VERSION)];
    const CREATED_ON_HEADERS: bool = false;

    fn body(&self, request: &ModelRequest) -> Result<RequestBody, ModelError> {
        request_body(request, self.max_tokens).map(RequestBody::from)
    }

    fn decoder(&self) -> MessagesDecoder {
        MessagesDecoder::default()
    }
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    system: Vec<Block<'a>>,
    messages: History<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<Thinking>,
    stream: bool,
}

#[derive(Serialize)]
struct Thinking {
    #[serde(rename = "type")]
    kind: &'static str,
    budget_tokens: u32,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a serde_json::Value,
}

/// One message; its blocks own what they took from their history items.
#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: Vec<Block<'static>>,
}

#[derive(Serialize)]
struct CacheControl {
    #[serde(rename = "type")]
    kind: &'static str,
}

const EPHEMERAL: CacheControl = CacheControl { kind: "ephemeral" };

/// A content block: the system prompt's borrows the request's instructions, the others own
/// what they took from their history items.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Text {
        text: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Image {
        source: ImageUrl,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Thinking {
        thinking: String,
        signature: String,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Input,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    ToolResult {
        tool_use_id: String,
        content: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
}

impl Block<'_> {
    /// Mark this block as the end of the cached prefix, where the API allows it.
    fn cache(&mut self) {
        match self {
            Block::Text { cache_control, .. }
            | Block::Image { cache_control, .. }
            | Block::ToolUse { cache_control, .. }
            | Block::ToolResult { cache_control, .. } => *cache_control = Some(EPHEMERAL),
            Block::Thinking { .. } | Block::RedactedThinking { .. } => {}
        }
    }
}

/// A tool call's arguments: the model's JSON object, or `{}` when it sent something else.
type Input = serde_json::Value;

/// An image's URL, written as the source the API takes (see [`image_source`]).
struct ImageUrl(String);

impl Serialize for ImageUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        image_source(&self.0).serialize(serializer)
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ImageSource<'a> {
    Base64 { media_type: &'a str, data: &'a str },
    Url { url: &'a str },
}

/// Thinking budget for each reasoning effort.
fn thinking_budget(effort: ReasoningEffort) -> u32 {
    match effort {
        ReasoningEffort::Minimal => 1024,
        ReasoningEffort::Low => 2048,
        ReasoningEffort::Medium => 8192,
        ReasoningEffort::High => 24_576,
    }
}

/// The JSON body of a Messages request.
pub(crate) fn request_body(request: &ModelRequest, max_tokens: u32) -> Result<Vec<u8>, ModelError> {
    let mut system = Vec::new();
    if !request.instructions.is_empty() {
        system.push(Block::Text {
            text: Cow::Borrowed(&request.instructions),
            cache_control: Some(EPHEMERAL),
        });
    }
    let thinking = request
        .reasoning
        .and_then(|r| r.effort)
        .map(|effort| Thinking {
            kind: "enabled",
            budget_tokens: thinking_budget(effort),
        });
    let body = Body {
        model: &request.model,
        // Thinking counts against `max_tokens`: the answer keeps its own budget on top.
        max_tokens: max_tokens.saturating_add(thinking.as_ref().map_or(0, |t| t.budget_tokens)),
        system,
        messages: History(request),
        tools: request
            .tools
            .iter()
            .map(|t| Tool {
                name: &t.name,
                description: &t.description,
                input_schema: &t.parameters,
            })
            .collect(),
        thinking,
        stream: true,
    };
    let mut out = Vec::with_capacity(4096);
    write_json(&mut out, &body)?;
    Ok(out)
}

/// The request's messages, serialized as they are made: history keeps each item as JSON only,
/// so each item is parsed as its turn comes, and a message is written once an item of the other
/// role starts the next one. At most one message is held at a time.
struct History<'a>(&'a ModelRequest);

impl Serialize for History<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut pending: Option<Message> = None;
        for stored in self.0.input.items() {
            if !readable(stored) {
                continue;
            }
            let (role, blocks) = blocks_of(stored.item());
            if blocks.is_empty() {
                continue;
            }
            match pending.as_mut() {
                Some(last) if last.role == role => last.content.extend(blocks),
                _ => {
                    let next = Message {
                        role,
                        content: blocks,
                    };
                    if let Some(done) = pending.replace(next) {
                        seq.serialize_element(&done)?;
                    }
                }
            }
        }
        if let Some(mut last) = pending {
            // The newest block ends the prefix the next request reads from the cache.
            if let Some(block) = last.content.last_mut() {
                block.cache();
            }
            seq.serialize_element(&last)?;
        }
        seq.end()
    }
}

/// Whether an item can make blocks, from its header: reasoning only when it is this API's
/// thinking, with its signature (anything else is not parsed at all).
fn readable(item: &HistoryItem) -> bool {
    item.kind() != ItemKind::Reasoning
        || (item.has_encrypted_content()
            && matches!(
                item.reasoning_id().as_deref(),
                Some(THINKING_ID | REDACTED_THINKING_ID)
            ))
}

/// The role and content blocks of one history item.
fn blocks_of(item: ResponseItem) -> (&'static str, Vec<Block<'static>>) {
    match item {
        ResponseItem::Message { role, content, .. } => {
            let role = if role == "assistant" {
                "assistant"
            } else {
                "user"
            };
            let blocks = content
                .into_iter()
                .filter_map(|part| match part {
                    ContentItem::InputText { text } | ContentItem::OutputText { text } => {
                        (!text.is_empty()).then_some(Block::Text {
                            text: Cow::Owned(text),
                            cache_control: None,
                        })
                    }
                    ContentItem::InputImage { image_url } => Some(Block::Image {
                        source: ImageUrl(image_url),
                        cache_control: None,
                    }),
                    _ => None,
                })
                .collect();
            (role, blocks)
        }
        ResponseItem::Reasoning {
            id,
            summary,
            encrypted_content: Some(signature),
        } if id == THINKING_ID => {
            let thinking = summary
                .iter()
                .map(|ReasoningSummaryPart::SummaryText { text }| text.as_str())
                .collect::<String>();
            (
                "assistant",
                vec![Block::Thinking {
                    thinking,
                    signature,
                }],
            )
        }
        ResponseItem::Reasoning {
            id,
            encrypted_content: Some(data),
            ..
        } if id == REDACTED_THINKING_ID => ("assistant", vec![Block::RedactedThinking { data }]),
        // Reasoning of another API cannot be read back here.
        ResponseItem::Reasoning { .. } => ("assistant", Vec::new()),
        ResponseItem::FunctionCall {
            name,
            arguments,
            call_id,
            ..
        } => {
            let input = match serde_json::from_str::<Input>(&arguments) {
                Ok(value) if value.is_object() => value,
                _ => Input::Object(serde_json::Map::new()),
            };
            (
                "assistant",
                vec![Block::ToolUse {
                    id: call_id,
                    name,
                    input,
                    cache_control: None,
                }],
            )
        }
        ResponseItem::FunctionCallOutput { call_id, output } => (
            "user",
            vec![Block::ToolResult {
                tool_use_id: call_id,
                content: output,
                cache_control: None,
            }],
        ),
        _ => ("user", Vec::new()),
    }
}

/// A `data:` URL's media type and base64 data, or the URL itself.
fn image_source(url: &str) -> ImageSource<'_> {
    if let Some(rest) = url.strip_prefix("data:")
        && let Some((meta, data)) = rest.split_once(',')
        && let Some(media_type) = meta.strip_suffix(";base64")
    {
        return ImageSource::Base64 { media_type, data };
    }
    ImageSource::Url { url }
}

#[cfg(test)]
mod tests;
