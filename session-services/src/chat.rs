//! The Chat Completions client: `POST {base_url}/chat/completions`, for any OpenAI-compatible
//! server (Ollama, vLLM, llama.cpp, OpenAI itself).
//!
//! History is converted to chat messages borrowed from the snapshot (no item is cloned): the
//! instructions become the system message, consecutive function calls one assistant message with
//! `tool_calls`, outputs `tool` messages; reasoning items are left out. The stream ends at
//! `[DONE]`, or at the server's close after a finish reason. It must not retry once the stream
//! is handed out.

use std::borrow::Cow;

use serde::Serialize;
use session_state::{ContentItem, ResponseItem};

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
    messages: Vec<Message<'a>>,
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

#[derive(Serialize)]
struct Message<'a> {
    role: &'a str,
    content: Option<Content<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_calls: Vec<ToolCall<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Content<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<Part<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl<'a> },
}

#[derive(Serialize)]
struct ImageUrl<'a> {
    url: &'a str,
}

#[derive(Serialize)]
struct ToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: CallFunction<'a>,
}

#[derive(Serialize)]
struct CallFunction<'a> {
    name: &'a str,
    arguments: &'a str,
}

impl<'a> Message<'a> {
    fn new(role: &'a str, content: Option<Content<'a>>) -> Self {
        Self {
            role,
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
        messages: messages(request),
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

fn messages(request: &ModelRequest) -> Vec<Message<'_>> {
    let mut out = Vec::with_capacity(request.input.len() + 1);
    if !request.instructions.is_empty() {
        out.push(Message::new(
            "system",
            Some(Content::Text(Cow::Borrowed(&request.instructions))),
        ));
    }
    // Whether the last message is an assistant message that calls may join.
    let mut calls_may_join = false;
    for item in request.input.iter() {
        match item {
            ResponseItem::Message { role, content, .. } => {
                // Strict servers reject an empty assistant message; calls that follow get an
                // assistant message of their own, with `content: null`.
                if role == "assistant" && item.message_text().is_none_or(|t| t.is_empty()) {
                    calls_may_join = false;
                    continue;
                }
                // Most compatible servers know no `developer` role.
                let role = if role == "developer" { "system" } else { role };
                out.push(Message::new(role, Some(message_content(content))));
                calls_may_join = role == "assistant";
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
                match out.last_mut() {
                    Some(last) if calls_may_join => last.tool_calls.push(call),
                    _ => {
                        let mut message = Message::new("assistant", None);
                        message.tool_calls.push(call);
                        out.push(message);
                    }
                }
                calls_may_join = true;
            }
            ResponseItem::FunctionCallOutput { call_id, output } => {
                let mut message = Message::new("tool", Some(Content::Text(Cow::Borrowed(output))));
                message.tool_call_id = Some(call_id);
                out.push(message);
                calls_may_join = false;
            }
            // Chat servers cannot take reasoning back; it stays out of their history.
            ResponseItem::Reasoning { .. } => {}
            _ => {}
        }
    }
    out
}

fn message_content(parts: &[ContentItem]) -> Content<'_> {
    let has_image = parts
        .iter()
        .any(|p| matches!(p, ContentItem::InputImage { .. }));
    if has_image {
        return Content::Parts(
            parts
                .iter()
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
    let mut texts = parts.iter().filter_map(|p| match p {
        ContentItem::InputText { text } | ContentItem::OutputText { text } => Some(text.as_str()),
        _ => None,
    });
    match (texts.next(), texts.next()) {
        (None, _) => Content::Text(Cow::Borrowed("")),
        (Some(only), None) => Content::Text(Cow::Borrowed(only)),
        (Some(first), Some(second)) => {
            let mut joined = String::from(first);
            joined.push_str(second);
            texts.for_each(|t| joined.push_str(t));
            Content::Text(Cow::Owned(joined))
        }
    }
}

#[cfg(test)]
mod tests;
