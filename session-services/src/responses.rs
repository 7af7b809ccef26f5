//! The OpenAI Responses API client: `POST {base_url}/responses`, streamed back as SSE.
//!
//! The request body is each history item's cached JSON between a small head and tail, written
//! while the request is sent, so history is never re-serialized or copied into one buffer per
//! request. The stream ends the moment `response.completed` (or a failure) arrives, without
//! waiting for the server to close the connection. It must not retry once the stream is handed
//! out.

use serde::Serialize;
use session_state::{HistoryItem, ItemKind};

use crate::model::{ModelClient, ModelError, ModelRequest, ModelStream};
use crate::provider::{Auth, ProviderConfig};
use crate::wire::{RequestBody, StreamingClient, Wire};

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

    fn body(&self, request: &ModelRequest) -> Result<RequestBody, ModelError> {
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
///
/// Asked of every item of every request, so it reads each item's header and never parses one.
fn replayed(item: &HistoryItem, store: bool) -> bool {
    match item.kind() {
        ItemKind::Message => item.has_text() || item.role().as_deref() != Some("assistant"),
        // Thinking from the Messages API is not this server's to read.
        ItemKind::Reasoning => {
            let foreign = matches!(
                item.reasoning_id().as_deref(),
                Some(crate::messages::THINKING_ID | crate::messages::REDACTED_THINKING_ID)
            );
            !foreign && (store || item.has_encrypted_content())
        }
        _ => true,
    }
}

/// The JSON body of a Responses request.
///
/// Everything that does not change within a session comes first and is written the same way
/// every time, and history items are their cached JSON: each request's body extends the
/// previous one's input byte for byte, so the server's prompt cache hits. The items are not
/// copied here: the body holds them and writes their JSON while it is sent.
pub(crate) fn request_body(request: &ModelRequest, store: bool) -> Result<RequestBody, ModelError> {
    let mut head = Vec::with_capacity(request.instructions.len() + 256);
    head.extend_from_slice(b"{\"model\":");
    write_json(&mut head, &request.model)?;
    head.extend_from_slice(b",\"instructions\":");
    write_json(&mut head, &request.instructions)?;
    head.extend_from_slice(b",\"input\":");
    // The same array as `HistorySnapshot::to_json_array`, of the items this server reads.
    let input = request.input.json_chunks_where(|h| replayed(h, store));

    let mut tail = Vec::with_capacity(1024);
    tail.extend_from_slice(b",\"tools\":");
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
    write_json(&mut tail, &tools)?;
    tail.extend_from_slice(b",\"tool_choice\":\"auto\",\"parallel_tool_calls\":false");
    if let Some(reasoning) = &request.reasoning {
        tail.extend_from_slice(b",\"reasoning\":");
        write_json(&mut tail, reasoning)?;
    }
    if !store {
        // The server keeps no reasoning; it must come back encrypted so the next request can
        // send it along.
        tail.extend_from_slice(b",\"include\":[\"reasoning.encrypted_content\"]");
    }
    if let Some(key) = &request.prompt_cache_key {
        tail.extend_from_slice(b",\"prompt_cache_key\":");
        write_json(&mut tail, key)?;
    }
    tail.extend_from_slice(if store {
        b",\"store\":true,\"stream\":true}"
    } else {
        b",\"store\":false,\"stream\":true}"
    });

    let mut body = RequestBody::new();
    body.push_bytes(head);
    body.push_items(input);
    body.push_bytes(tail);
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
