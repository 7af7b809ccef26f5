//! A model provider's configuration, and the HTTP plumbing both wire APIs share.
//!
//! `ProviderConfig` is what a user writes in the CLI config; `client()` turns it into the right
//! [`ModelClient`]. The API key is read from the environment when the client is built and lives
//! only inside a redacting wrapper: it must never reach a `Debug` string, an error or a log.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue,
};
use serde::{Deserialize, Serialize};

use crate::chat::ChatCompletionsClient;
use crate::http_retry::{self, SendOptions};
use crate::messages::MessagesClient;
use crate::model::{ModelClient, ModelError};
use crate::responses::ResponsesClient;
use crate::wire::RequestBody;

/// How long to wait for a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

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

    /// Build the client for this provider's wire API, reading the API key now.
    ///
    /// # Errors
    ///
    /// [`ModelError::Config`] when the key's variable is unset, the URL or a header is invalid,
    /// or the HTTP client cannot be built.
    pub fn client(&self) -> Result<Arc<dyn ModelClient>, ModelError> {
        Ok(match self.wire_api {
            WireApi::Responses => Arc::new(ResponsesClient::new(self)?),
            WireApi::Chat => Arc::new(ChatCompletionsClient::new(self)?),
            WireApi::Messages => Arc::new(MessagesClient::new(self)?),
        })
    }
}

/// An API key; prints as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One provider endpoint: URL, headers, HTTP client and retry settings.
#[derive(Debug)]
pub(crate) struct Endpoint {
    http: reqwest::Client,
    url: reqwest::Url,
    headers: HeaderMap,
    key: Option<ApiKey>,
    idle: Duration,
}

/// How an endpoint sends its API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer KEY` (OpenAI and compatible servers).
    Bearer,
    /// `x-api-key: KEY` (Anthropic).
    ApiKeyHeader,
}

impl Endpoint {
    /// The endpoint `path` (e.g. `responses`) below the provider's base URL.
    pub(crate) fn new(
        config: &ProviderConfig,
        path: &str,
        auth: Auth,
        fixed: &[(&'static str, &'static str)],
    ) -> Result<Self, ModelError> {
        let key = match &config.env_key {
            None => None,
            Some(var) => match crate::secrets::env_var(var) {
                Some(value) if !value.is_empty() => {
                    // Whatever reads the key from here on, no channel out of the session shows it.
                    crate::secrets::protect_variable(var);
                    crate::secrets::register_secret(&value);
                    Some(ApiKey(value))
                }
                _ => {
                    return Err(ModelError::Config(format!(
                        "environment variable {var} with the API key of provider {} is not set",
                        config.name
                    )));
                }
            },
        };
        let url = format!("{}/{path}", config.base_url.trim_end_matches('/'));
        let url = reqwest::Url::parse(&url).map_err(|e| {
            ModelError::Config(format!(
                "base url of provider {} is invalid: {e}",
                config.name
            ))
        })?;
        let headers = build_headers(config, key.as_ref(), auth, fixed)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| ModelError::Config(format!("cannot build the http client: {e}")))?;
        Ok(Self {
            http,
            url,
            headers,
            key,
            idle: config.stream_idle_timeout(),
        })
    }

    /// How long a stream may stay silent.
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle
    }

    /// What sending needs: the header timeout and the secret to scrub.
    pub(crate) fn send_options(&self) -> SendOptions<'_> {
        SendOptions {
            header_timeout: self.idle,
            secret: self.key.as_ref().map(ApiKey::expose),
        }
    }

    /// POST `body` once; the response once its 2xx headers are in.
    ///
    /// The body goes with its `Content-Length`, even when it is streamed: some servers (and
    /// our mock) read no chunked request bodies.
    pub(crate) async fn post(&self, body: RequestBody) -> Result<reqwest::Response, ModelError> {
        let request = self
            .http
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_LENGTH, body.len())
            .body(body.into_reqwest());
        http_retry::send(self.send_options(), request).await
    }
}

fn build_headers(
    config: &ProviderConfig,
    key: Option<&ApiKey>,
    auth: Auth,
    fixed: &[(&'static str, &'static str)],
) -> Result<HeaderMap, ModelError> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in fixed {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if let Some(key) = key {
        let (name, text) = match auth {
            Auth::Bearer => (AUTHORIZATION, format!("Bearer {}", key.expose())),
            Auth::ApiKeyHeader => (
                HeaderName::from_static("x-api-key"),
                key.expose().to_owned(),
            ),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            ModelError::Config(format!(
                "the API key of provider {} is not a valid header value",
                config.name
            ))
        })?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    for (name, value) in &config.headers {
        let invalid = || {
            ModelError::Config(format!(
                "header {name} of provider {} is invalid",
                config.name
            ))
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests;
