//! A model provider's configuration, and the HTTP plumbing both wire APIs share.
//!
//! `ProviderConfig` is what a user writes in the CLI config; `client()` turns it into the right
//! [`ModelClient`]. The API key is read from the environment when the client is built and lives
//! only inside a redacting wrapper: it must never reach a `Debug` string, an error or a log.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

#[cfg(feature = "http")]
mod endpoint;

#[cfg(feature = "http")]
pub(crate) use endpoint::{Auth, Endpoint};

use serde::{Deserialize, Serialize};

#[cfg(feature = "http")]
use crate::model::{ModelClient, ModelError};

/// Which HTTP API a provider speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum WireApi {
    /// The OpenAI Responses API (`POST /responses`).
    #[default]
    Responses,
    /// The Chat Completions API (`POST /chat/completions`), spoken by most compatible servers.
    Chat,
    /// The Anthropic Messages API (`POST /messages`).
    Messages,
}

/// A model provider: where it lives, how to authenticate, how patiently to talk to it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderConfig {
    /// A name for messages (`openai`, `ollama`).
    pub name: String,
    /// The API root, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The API it speaks.
    #[serde(default)]
    pub wire_api: WireApi,
    /// Name of the environment variable holding the API key; no key is sent when unset.
    #[serde(default)]
    pub env_key: Option<String>,
    /// Retries of a request that failed before its response started (429, 5xx, connection);
    /// applied by the core, which also retries streams, never the two multiplied.
    #[serde(default = "default_request_max_retries")]
    pub request_max_retries: u32,
    /// Retries of a stream that broke after it started; applied by the core.
    #[serde(default = "default_stream_max_retries")]
    pub stream_max_retries: u32,
    /// A stream that sends nothing for this long fails with [`ModelError::IdleTimeout`]; it
    /// also bounds the wait for the response headers (not retried).
    #[serde(default = "default_stream_idle_timeout_ms")]
    pub stream_idle_timeout_ms: u64,
    /// Wait before the first retry; doubles each retry (with jitter, capped at 10 s); applied by
    /// the core.
    #[serde(default = "default_retry_base_delay_ms")]
    pub retry_base_delay_ms: u64,
    /// Extra headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Responses API: whether the server keeps responses. When it does not (the default),
    /// reasoning is asked for encrypted and sent back with later requests.
    #[serde(default)]
    pub store: bool,
    /// Messages API: the most tokens an answer may have (thinking gets its budget on top).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
}

fn default_max_tokens() -> u32 {
    8192
}

fn default_request_max_retries() -> u32 {
    4
}
fn default_stream_max_retries() -> u32 {
    5
}
fn default_stream_idle_timeout_ms() -> u64 {
    300_000
}
fn default_retry_base_delay_ms() -> u64 {
    200
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values may be credentials (`api-key: …`): show their names only.
        let header_names: Vec<&str> = self.headers.keys().map(String::as_str).collect();
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("wire_api", &self.wire_api)
            .field("env_key", &self.env_key)
            .field("request_max_retries", &self.request_max_retries)
            .field("stream_max_retries", &self.stream_max_retries)
            .field("stream_idle_timeout_ms", &self.stream_idle_timeout_ms)
            .field("retry_base_delay_ms", &self.retry_base_delay_ms)
            .field("headers", &header_names)
            .field("store", &self.store)
            .field("max_tokens", &self.max_tokens)
            .finish()
    }
}

impl ProviderConfig {
    /// A provider with the default retry and timeout settings and no key.
    pub fn new(name: impl Into<String>, base_url: impl Into<String>, wire_api: WireApi) -> Self {
        Self {
            name: name.into(),
            base_url: base_url.into(),
            wire_api,
            env_key: None,
            request_max_retries: default_request_max_retries(),
            stream_max_retries: default_stream_max_retries(),
            stream_idle_timeout_ms: default_stream_idle_timeout_ms(),
            retry_base_delay_ms: default_retry_base_delay_ms(),
            headers: BTreeMap::new(),
            store: false,
            max_tokens: default_max_tokens(),
        }
    }

    /// How long a stream may stay silent.
    pub fn stream_idle_timeout(&self) -> Duration {
        Duration::from_millis(self.stream_idle_timeout_ms)
    }

    /// Build the client for this provider's wire API, reading the API key now (feature `http`).
    ///
    /// # Errors
    ///
    /// [`ModelError::Config`] when the key's variable is unset, the URL or a header is invalid,
    /// or the HTTP client cannot be built.
    #[cfg(feature = "http")]
    pub fn client(&self) -> Result<std::sync::Arc<dyn ModelClient>, ModelError> {
        Ok(match self.wire_api {
            WireApi::Responses => {
                std::sync::Arc::new(crate::responses::ResponsesClient::new(self)?)
            }
            WireApi::Chat => std::sync::Arc::new(crate::chat::ChatCompletionsClient::new(self)?),
            WireApi::Messages => std::sync::Arc::new(crate::messages::MessagesClient::new(self)?),
        })
    }
}

#[cfg(all(test, feature = "http"))]
mod tests;
