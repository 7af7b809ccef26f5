//! The OpenAI Responses API client: `POST {base_url}/responses`, streamed back as SSE.
//!
//! The request body is built by concatenating each history item's cached JSON, so history is
//! never re-serialized per request. The stream ends the moment `response.completed` (or a
//! failure) arrives, without waiting for the server to close the connection. It must not retry
//! once the stream is handed out.

use std::collections::VecDeque;

use bytes::Bytes;
use serde::Serialize;

use crate::http_retry::headers::rate_limits;
use crate::model::{ModelClient, ModelError, ModelEvent, ModelRequest, ModelStream};
use crate::provider::{Endpoint, ProviderConfig};
use crate::sse::driver::EventStream;

mod decode;

pub(crate) use decode::ResponsesDecoder;

/// A [`ModelClient`] speaking the OpenAI Responses API.
#[derive(Debug)]
pub struct ResponsesClient {
    endpoint: Endpoint,
}

impl ResponsesClient {
    /// A client for `config`, reading its API key from the environment now.
    ///
    /// # Errors
    ///
    /// [`ModelError::Config`] when the key's variable is unset or the config is invalid.
    pub fn new(config: &ProviderConfig) -> Result<Self, ModelError> {
        Ok(Self {
            endpoint: Endpoint::new(config, "responses")?,
        })
    }
}

#[async_trait::async_trait]
impl ModelClient for ResponsesClient {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        let body = request_body(&request)?;
        let response = self.endpoint.post(Bytes::from(body)).await?;
        let mut first = VecDeque::new();
        if let Some(limits) = rate_limits(response.headers()) {
            first.push_back(Ok(ModelEvent::RateLimits(limits)));
        }
        Ok(Box::pin(EventStream::new(
            response,
            ResponsesDecoder,
            first,
            self.endpoint.idle_timeout(),
        )))
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

/// The JSON body of a Responses request.
pub(crate) fn request_body(request: &ModelRequest) -> Result<Vec<u8>, ModelError> {
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
    for (i, item) in history.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
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
        // With `store: false` the server keeps no reasoning; it must come back encrypted so the
        // next request can send it along.
        body.extend_from_slice(b",\"include\":[\"reasoning.encrypted_content\"]");
    }
    body.extend_from_slice(b",\"store\":false,\"stream\":true}");
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
