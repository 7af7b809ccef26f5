//! The OpenAI Responses API client: `POST {base_url}/responses`, streamed back as SSE.
//!
//! The request body is built by concatenating each history item's cached JSON, so history is
//! never re-serialized per request. The stream ends the moment `response.completed` (or a
//! failure) arrives, without waiting for the server to close the connection. It must not retry
//! once the stream is handed out.

use serde::Serialize;
use session_state::ResponseItem;

use crate::model::{ModelClient, ModelError, ModelRequest, ModelStream};
use crate::provider::{Auth, ProviderConfig};
use crate::wire::{StreamingClient, Wire};

mod decode;

pub(crate) use decode::ResponsesDecoder;

/// A [`ModelClient`] speaking the OpenAI Responses API.
#[derive(Debug)]
pub struct ResponsesClient {
    inner: StreamingClient<Responses>,
}

/// The Responses wire API.
#[derive(Debug)]
pub(crate) struct Responses {
    /// Whether the server keeps responses (`store`); when it does not, reasoning comes back
    /// encrypted and is sent along with later requests.
    pub(crate) store: bool,
}

impl Wire for Responses {
    type Decoder = ResponsesDecoder;
    const PATH: &'static str = "responses";
    const AUTH: Auth = Auth::Bearer;
    const CREATED_ON_HEADERS: bool = false;

    fn body(&self, request: &ModelRequest) -> Result<Vec<u8>, ModelError> {
        request_body(request, self.store)
    }

    fn decoder(&self) -> ResponsesDecoder {
        ResponsesDecoder
    }
}

impl ResponsesClient {
    /// A client for `config`, reading its API key from the environment now.
    ///
    /// # Errors
    ///
    /// [`ModelError::Config`] when the key's variable is unset or the config is invalid.
    pub fn new(config: &ProviderConfig) -> Result<Self, ModelError> {
        Ok(Self {
            inner: StreamingClient::new(
                config,
                Responses {
                    store: config.store,
                },
            )?,
        })
    }
}

#[async_trait::async_trait]
impl ModelClient for ResponsesClient {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        self.inner.stream(&request).await
    }
}

#[derive(Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
    strict: bool,
}

/// Whether `item` goes into a Responses request. Empty assistant messages are left out (strict
/// servers reject them), and so is reasoning the server cannot read back: without `store`, only
/// reasoning carrying its encrypted content.
fn replayed(item: &ResponseItem, store: bool) -> bool {
    match item {
        ResponseItem::Message { role, .. } if role == "assistant" => {
            item.message_text().is_some_and(|t| !t.is_empty())
        }
        // Thinking from the Messages API is not this server's to read.
        ResponseItem::Reasoning { id, .. }
            if id == crate::messages::THINKING_ID
                || id == crate::messages::REDACTED_THINKING_ID =>
        {
            false
        }
        ResponseItem::Reasoning {
            encrypted_content, ..
        } => store || encrypted_content.is_some(),
        _ => true,
    }
}

/// The JSON body of a Responses request.
///
/// Everything that does not change within a session comes first and is written the same way
/// every time, and history items are their cached JSON: each request's body extends the
/// previous one's input byte for byte, so the server's prompt cache hits.
pub(crate) fn request_body(request: &ModelRequest, store: bool) -> Result<Vec<u8>, ModelError> {
    let history = request.input.items();
    let history_len: usize = history.iter().map(|h| h.json().len() + 1).sum();
    let mut body = Vec::with_capacity(history_len + request.instructions.len() + 1024);
    body.extend_from_slice(b"{\"model\":");
    write_json(&mut body, &request.model)?;
    body.extend_from_slice(b",\"instructions\":");
    write_json(&mut body, &request.instructions)?;
    // The same concatenation as `HistorySnapshot::to_json_array`, written straight into the
    // body instead of through an intermediate string.
    body.extend_from_slice(b",\"input\":[");
    let mut first = true;
    for item in history.iter().filter(|h| replayed(h.item(), store)) {
        if !first {
            body.push(b',');
        }
        first = false;
        body.extend_from_slice(item.json().as_bytes());
    }
    body.extend_from_slice(b"],\"tools\":");
    let tools: Vec<WireTool<'_>> = request
        .tools
        .iter()
        .map(|t| WireTool {
            kind: "function",
            name: &t.name,
            description: &t.description,
            parameters: &t.parameters,
            strict: false,
        })
        .collect();
    write_json(&mut body, &tools)?;
    body.extend_from_slice(b",\"tool_choice\":\"auto\",\"parallel_tool_calls\":false");
    if let Some(reasoning) = &request.reasoning {
        body.extend_from_slice(b",\"reasoning\":");
        write_json(&mut body, reasoning)?;
    }
    if !store {
        // The server keeps no reasoning; it must come back encrypted so the next request can
        // send it along.
        body.extend_from_slice(b",\"include\":[\"reasoning.encrypted_content\"]");
    }
    if let Some(key) = &request.prompt_cache_key {
        body.extend_from_slice(b",\"prompt_cache_key\":");
        write_json(&mut body, key)?;
    }
    body.extend_from_slice(if store {
        b",\"store\":true,\"stream\":true}"
    } else {
        b",\"store\":false,\"stream\":true}"
    });
    Ok(body)
}

/// Append `value`'s JSON to `out`.
pub(crate) fn write_json<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> Result<(), ModelError> {
    serde_json::to_writer(out, value)
        .map_err(|e| ModelError::Config(format!("cannot encode the request: {e}")))
}

#[cfg(test)]
mod tests;
