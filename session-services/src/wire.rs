//! The one streaming HTTP client every wire API shares: build the body, POST it once, read the
//! event stream through the API's decoder.
//!
//! A wire API says only what differs: its path and auth, its request body, its decoder. The
//! client sends one attempt (retries are the core's, so they never multiply), turns a JSON body
//! where an event stream was expected into an error with the server's message, reports the rate
//! limit headers first, and hands the body to [`EventStream`], which owns the idle timeout.

use std::collections::VecDeque;

use reqwest::header::CONTENT_TYPE;

use crate::http_retry::{self, headers::rate_limits};
use crate::model::{ModelError, ModelEvent, ModelRequest, ModelStream};
use crate::provider::{Auth, Endpoint, ProviderConfig};
use crate::sse::driver::{Decoder, EventStream};

mod body;

pub(crate) use body::RequestBody;

/// What makes one wire API different from the others.
pub(crate) trait Wire: Send + Sync + 'static {
    /// Decodes this API's events.
    type Decoder: Decoder;
    /// Path below the provider's base URL.
    const PATH: &'static str;
    /// How the API key is sent.
    const AUTH: Auth;
    /// Headers every request of this API carries.
    const HEADERS: &'static [(&'static str, &'static str)] = &[];
    /// Whether a 2xx answer is reported as [`ModelEvent::Created`] (for APIs without an event
    /// of their own for it).
    const CREATED_ON_HEADERS: bool;

    /// The request body.
    ///
    /// # Errors
    ///
    /// [`ModelError::Config`] when it cannot be encoded.
    fn body(&self, request: &ModelRequest) -> Result<RequestBody, ModelError>;

    /// A decoder for one response.
    fn decoder(&self) -> Self::Decoder;
}

/// A model client speaking wire API `W`.
#[derive(Debug)]
pub(crate) struct StreamingClient<W> {
    endpoint: Endpoint,
    wire: W,
}

impl<W: Wire> StreamingClient<W> {
    /// A client for `config`, reading its API key from the environment now.
    pub(crate) fn new(config: &ProviderConfig, wire: W) -> Result<Self, ModelError> {
        Ok(Self {
            endpoint: Endpoint::new(config, W::PATH, W::AUTH, W::HEADERS)?,
            wire,
        })
    }

    /// Send `request` once and stream the response.
    pub(crate) async fn stream(&self, request: &ModelRequest) -> Result<ModelStream, ModelError> {
        let body = self.wire.body(request)?;
        let response = self.endpoint.post(body).await?;
        let json = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if json {
            let options = self.endpoint.send_options();
            return Err(http_retry::json_instead_of_stream(response, options).await);
        }
        let mut first = VecDeque::new();
        if let Some(limits) = rate_limits(response.headers()) {
            first.push_back(Ok(ModelEvent::RateLimits(limits)));
        }
        if W::CREATED_ON_HEADERS {
            first.push_back(Ok(ModelEvent::Created));
        }
        Ok(Box::pin(EventStream::new(
            response,
            self.wire.decoder(),
            first,
            self.endpoint.idle_timeout(),
        )))
    }
}
