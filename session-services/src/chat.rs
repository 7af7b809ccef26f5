//! The Chat Completions client: `POST {base_url}/chat/completions`, for any OpenAI-compatible
//! server (Ollama, vLLM, llama.cpp, OpenAI itself).
//!
//! History is converted to chat messages while the body is written, one item parsed at a time
//! (history keeps items as JSON only, and no list of messages as long as the history is built):
//! the instructions become the system message, consecutive function calls one assistant message
//! with `tool_calls`, outputs `tool` messages; reasoning items are left out, unparsed. The
//! stream ends at `[DONE]`, or at the server's close after a finish reason. It must not retry
//! once the stream is handed out.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::SerializeSeq;
use session_state::{ContentItem, ItemKind, ResponseItem};

use crate::model::{ModelClient, ModelError, ModelRequest, ModelStream};
use crate::provider::{Auth, ProviderConfig};
use crate::responses::write_json;
use crate::wire::{RequestBody, StreamingClient, Wire};

mod decode;

use decode::ChatDecoder;

/// A [`ModelClient`] speaking the Chat Completions API.
#[derive(Debug)]
pub struct ChatCompletionsClient {
    inner: StreamingClient<Chat>,
}

/// The Chat Completions wire API.
#[derive(Debug)]
pub(crate) struct Chat;

impl Wire for Chat {
    type Decoder = ChatDecoder;
    const PATH: &'static str = "chat/completions";
    const AUTH: Auth = Auth::Bearer;
    // A 2xx answer is the server accepting the request; chat has no event of its own for it.
    const CREATED_ON_HEADERS: bool = true;

    fn body(&self, request: &ModelRequest) -> Result<RequestBody, ModelError> {
        request_body(request).map(RequestBody::from)
    }

    fn decoder(&self) -> ChatDecoder {
        ChatDecoder::default()
    }
}

impl ChatCompletionsClient {
    /// A client for `config`, reading its API key from the environment now.
    ///
    /// # Errors
    ///
    /// [`ModelError::Config`] when the key's variable is unset or the config is invalid.
    pub fn new(config: &ProviderConfig) -> Result<Self, ModelError> {
        Ok(Self {
            inner: StreamingClient::new(config, Chat)?,
        })
    }
}

#[async_trait::async_trait]
impl ModelClient for ChatCompletionsClient {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        self.inner.stream(&request).await
    }
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: History<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    stream: bool,
    stream_options: StreamOptions,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: ToolFunction<'a>,
}

#[derive(Serialize)]
struct ToolFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

/// One chat message: the system message borrows the request's instructions, the others own
/// what they took from their history items.
#[derive(Serialize)]
struct Message<'a> {
    role: Cow<'a, str>,
    content: Option<Content<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<Part>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part {
    Text { text: String },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Serialize)]
struct ImageUrl {
    url: String,
}

#[derive(Serialize)]
struct ToolCall {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: CallFunction,
}

#[derive(Serialize)]
struct CallFunction {
    name: String,
    arguments: String,
}

impl<'a> Message<'a> {
    fn new(role: impl Into<Cow<'a, str>>, content: Option<Content<'a>>) -> Self {
        Self {
            role: role.into(),
            content,
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// The JSON body of a Chat Completions request.
pub(crate) fn request_body(request: &ModelRequest) -> Result<Vec<u8>, ModelError> {
    let body = Body {
        model: &request.model,
        messages: History(request),
        tools: request
            .tools
            .iter()
            .map(|t| Tool {
                kind: "function",
                function: ToolFunction {
                    name: &t.name,
                    description: &t.description,
                    parameters: &t.parameters,
                },
            })
            .collect(),
        stream: true,
        stream_options: StreamOptions {
            include_usage: true,
        },
    };
    let mut out = Vec::with_capacity(4096);
    write_json(&mut out, &body)?;
    Ok(out)
}

/// The request's messages, serialized as they are made: history keeps each item as JSON only,
/// so each item is parsed as its turn comes and a message is written once the next one starts
/// (calls may join the message before them). At most one message is held at a time.
struct History<'a>(&'a ModelRequest);

impl Serialize for History<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let request = self.0;
        let mut seq = serializer.serialize_seq(None)?;
        let mut pending: Option<Message<'_>> = None;
        if !request.instructions.is_empty() {
            pending = Some(Message::new(
                "system",
                Some(Content::Text(Cow::Borrowed(&request.instructions))),
            ));
        }
        // Whether the pending message is an assistant message that calls may join.
        let mut calls_may_join = false;
        for stored in request.input.items() {
            // Chat servers cannot take reasoning back; it stays out of their history.
            if stored.kind() == ItemKind::Reasoning {
                continue;
            }
            let next = match stored.item() {
                ResponseItem::Message { role, content, .. } => {
                    // Strict servers reject an empty assistant message; calls that follow get
                    // an assistant message of their own, with `content: null`.
                    if role == "assistant" && !stored.has_text() {
                        calls_may_join = false;
                        continue;
                    }
                    // Most compatible servers know no `developer` role.
                    let role = if role == "developer" {
                        "system".to_owned()
                    } else {
                        role
                    };
                    calls_may_join = role == "assistant";
                    Message::new(role, Some(message_content(content)))
                }
                ResponseItem::FunctionCall {
                    name,
                    arguments,
                    call_id,
                    ..
                } => {
                    let call = ToolCall {
                        id: call_id,
                        kind: "function",
                        function: CallFunction { name, arguments },
                    };
                    let joins = calls_may_join;
                    calls_may_join = true;
                    match pending.as_mut() {
                        Some(last) if joins => {
                            last.tool_calls.push(call);
                            continue;
                        }
                        _ => {
                            let mut message = Message::new("assistant", None);
                            message.tool_calls.push(call);
                            message
                        }
                    }
                }
                ResponseItem::FunctionCallOutput { call_id, output } => {
                    calls_may_join = false;
                    let mut message = Message::new("tool", Some(Content::Text(Cow::Owned(output))));
                    message.tool_call_id = Some(call_id);
                    message
                }
                _ => continue,
            };
            if let Some(done) = pending.replace(next) {
                seq.serialize_element(&done)?;
            }
        }
        if let Some(done) = pending {
            seq.serialize_element(&done)?;
        }
        seq.end()
    }
}

fn message_content(parts: Vec<ContentItem>) -> Content<'static> {
    let has_image = parts
        .iter()
        .any(|p| matches!(p, ContentItem::InputImage { .. }));
    if has_image {
        return Content::Parts(
            parts
                .into_iter()
                .filter_map(|p| match p {
                    ContentItem::InputText { text } | ContentItem::OutputText { text } => {
                        Some(Part::Text { text })
                    }
                    ContentItem::InputImage { image_url } => Some(Part::ImageUrl {
                        image_url: ImageUrl { url: image_url },
                    }),
                    _ => None,
                })
                .collect(),
        );
    }
    let mut texts = parts.into_iter().filter_map(|p| match p {
        ContentItem::InputText { text } | ContentItem::OutputText { text } => Some(text),
        _ => None,
    });
    let Some(mut joined) = texts.next() else {
        return Content::Text(Cow::Borrowed(""));
    };
    texts.for_each(|t| joined.push_str(&t));
    Content::Text(Cow::Owned(joined))
}

#[cfg(test)]
mod tests;
