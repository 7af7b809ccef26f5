//! The HTTP plumbing every wire API shares: the endpoint URL, its headers (the API key among
//! them, never printed) and the HTTP client.

use std::fmt;
use std::time::Duration;

use super::ProviderConfig;
use crate::http_retry::{self, SendOptions};
use crate::model::ModelError;
use crate::wire::RequestBody;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue,
};

/// How long to wait for a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// An API key; prints as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(super) fn expose(&self) -> &str {
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
    pub(super) http: reqwest::Client,
    pub(super) url: reqwest::Url,
    pub(super) headers: HeaderMap,
    pub(super) key: Option<ApiKey>,
    pub(super) idle: Duration,
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
