//! rmcp's streamable HTTP client transport, carried by our reqwest (rustls only).
//!
//! rmcp's own reqwest adapter is built on another reqwest major version whose TLS backend would
//! pull in a second TLS stack; this adapter keeps one HTTP client and one rustls in the build.
//! It does the HTTP exchanges rmcp's worker asks for and nothing else: no retries (the worker
//! owns those), no redirects (a redirect could carry the bearer token to another host).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, SseError, StreamableHttpClient,
    StreamableHttpError, StreamableHttpPostResponse,
};
use sse_stream::{Sse, SseStream};

const HEADER_SESSION_ID: &str = "Mcp-Session-Id";
const HEADER_LAST_EVENT_ID: &str = "Last-Event-Id";
const EVENT_STREAM: &str = "text/event-stream";
const JSON: &str = "application/json";
/// Headers the transport sets itself; a configured header of the same name is refused.
const RESERVED_HEADERS: &[&str] = &[
    "accept",
    "content-type",
    HEADER_SESSION_ID,
    HEADER_LAST_EVENT_ID,
];

/// The largest JSON answer read (rmcp's default).
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;
/// The largest SSE event accepted (rmcp's default).
const MAX_SSE_EVENT: usize = 16 * 1024 * 1024;
/// How much of an error answer is kept for the message.
const MAX_ERROR_BODY: usize = 4 * 1024;

type HttpError = StreamableHttpError<reqwest::Error>;

/// A reqwest client speaking rmcp's [`StreamableHttpClient`].
#[derive(Debug, Clone)]
pub(crate) struct ReqwestHttp(reqwest::Client);

impl ReqwestHttp {
    /// A client that follows no redirects.
    pub(crate) fn new() -> Result<Self, String> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map(Self)
            .map_err(|error| format!("cannot build the HTTP client: {error}"))
    }
}

fn apply_headers(
    mut request: reqwest::RequestBuilder,
    session_id: Option<&str>,
    auth_token: Option<String>,
    custom_headers: HashMap<HeaderName, HeaderValue>,
) -> Result<reqwest::RequestBuilder, HttpError> {
    for (name, value) in custom_headers {
        if RESERVED_HEADERS
            .iter()
            .any(|r| name.as_str().eq_ignore_ascii_case(r))
        {
            return Err(StreamableHttpError::ReservedHeaderConflict(
                name.to_string(),
            ));
        }
        request = request.header(name, value);
    }
    if let Some(session_id) = session_id {
        request = request.header(HEADER_SESSION_ID, session_id);
    }
    if let Some(token) = auth_token {
        request = request.bearer_auth(token);
    }
    Ok(request)
}

fn media_type_is(value: &str, expected: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(expected))
}

fn content_type(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// 401 and 403 with a challenge become rmcp's auth errors, so its messages say so.
fn auth_error(response: &reqwest::Response) -> Option<HttpError> {
    let challenge = response.headers().get(WWW_AUTHENTICATE)?;
    let challenge = String::from_utf8_lossy(challenge.as_bytes()).into_owned();
    match response.status() {
        StatusCode::UNAUTHORIZED => Some(StreamableHttpError::AuthRequired(
            AuthRequiredError::new(challenge),
        )),
        StatusCode::FORBIDDEN => Some(StreamableHttpError::InsufficientScope(
            InsufficientScopeError::new(challenge, None),
        )),
        _ => None,
    }
}

/// 429 and 5xx as rmcp's status error (status and `Retry-After` only).
fn status_error(response: &reqwest::Response) -> Option<HttpStatusError> {
    let status = response.status();
    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
        return None;
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Some(HttpStatusError::new(status.as_u16(), retry_after))
}

/// Reads at most `limit` bytes of the body; `Err(true)` when it is longer.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(StreamableHttpError::Client)?
    {
        if chunk.len() > limit - body.len() {
            return Err(StreamableHttpError::ResponseBodyTooLarge { max_size: limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The first `limit` bytes of the body (for error messages); read failures give what was read.
async fn read_prefix(mut response: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())])
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// An SSE stream over the body, failing once one event grows past [`MAX_SSE_EVENT`].
fn sse(response: reqwest::Response) -> BoxStream<'static, Result<Sse, SseError>> {
    let mut event_len = 0usize;
    let mut after_newline = false;
    let bytes = response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        for &byte in chunk.iter() {
            match byte {
                b'\n' if after_newline => event_len = 0,
                b'\n' => after_newline = true,
                b'\r' => {}
                _ => {
                    after_newline = false;
                    event_len += 1;
                }
            }
            if event_len > MAX_SSE_EVENT {
                return Err(std::io::Error::other(format!(
                    "an SSE event exceeded {MAX_SSE_EVENT} bytes"
                )));
            }
        }
        Ok(chunk)
    });
    SseStream::from_bytes_stream(bytes).boxed()
}

impl StreamableHttpClient for ReqwestHttp {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, HttpError> {
        // Notifications and replies leave nothing outstanding: any 2xx will do for them.
        let awaits_nothing = matches!(
            message,
            ClientJsonRpcMessage::Notification(_)
                | ClientJsonRpcMessage::Response(_)
                | ClientJsonRpcMessage::Error(_)
        );
        let body = serde_json::to_vec(&message)?;
        let request = self
            .0
            .post(uri.as_ref())
            .header(ACCEPT, format!("{EVENT_STREAM}, {JSON}"))
            .header(CONTENT_TYPE, JSON)
            .body(body);
        let request = apply_headers(request, session_id.as_deref(), auth_token, custom_headers)?;
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        if let Some(error) = auth_error(&response) {
            return Err(error);
        }
        let status = response.status();
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        let kind = content_type(&response);
        let is_json = kind.as_deref().is_some_and(|k| media_type_is(k, JSON));
        let new_session = response
            .headers()
            .get(HEADER_SESSION_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if !status.is_success() {
            let status_error = status_error(&response);
            if is_json && status != StatusCode::TOO_MANY_REQUESTS {
                // A JSON-RPC error in a failed answer is the server's word: keep it.
                let body = read_body(response, MAX_JSON_BODY).await?;
                if let Ok(message @ ServerJsonRpcMessage::Error(_)) =
                    serde_json::from_slice::<ServerJsonRpcMessage>(&body)
                {
                    return Ok(StreamableHttpPostResponse::Json(message, new_session));
                }
                if let Some(error) = status_error {
                    return Err(error.into());
                }
                let text = String::from_utf8_lossy(&body[..body.len().min(MAX_ERROR_BODY)]);
                return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                    format!("HTTP {status}: {text}"),
                )));
            }
            if let Some(error) = status_error {
                return Err(error.into());
            }
            let text = read_prefix(response, MAX_ERROR_BODY).await;
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("HTTP {status}: {text}"),
            )));
        }
        match kind.as_deref() {
            Some(k) if media_type_is(k, EVENT_STREAM) => {
                Ok(StreamableHttpPostResponse::Sse(sse(response), new_session))
            }
            Some(k) if media_type_is(k, JSON) => {
                let body = read_body(response, MAX_JSON_BODY).await?;
                match serde_json::from_slice::<ServerJsonRpcMessage>(&body) {
                    Ok(message) => Ok(StreamableHttpPostResponse::Json(message, new_session)),
                    Err(_) if awaits_nothing => Ok(StreamableHttpPostResponse::Accepted),
                    Err(error) => Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                        format!("the answer is not JSON-RPC: {error}"),
                    ))),
                }
            }
            _ if awaits_nothing => Ok(StreamableHttpPostResponse::Accepted),
            _ => Err(StreamableHttpError::UnexpectedContentType(kind)),
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), HttpError> {
        let request = self.0.delete(uri.as_ref());
        let request = apply_headers(request, Some(&session_id), auth_token, custom_headers)?;
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Ok(());
        }
        response
            .error_for_status()
            .map(drop)
            .map_err(StreamableHttpError::Client)
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_token: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, HttpError> {
        let mut request = self
            .0
            .get(uri.as_ref())
            .header(ACCEPT, format!("{EVENT_STREAM}, {JSON}"));
        if let Some(last_event_id) = last_event_id {
            request = request.header(HEADER_LAST_EVENT_ID, last_event_id);
        }
        let request = apply_headers(request, session_id.as_deref(), auth_token, custom_headers)?;
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if let Some(error) = auth_error(&response) {
            return Err(error);
        }
        if let Some(error) = status_error(&response) {
            return Err(error.into());
        }
        let response = response
            .error_for_status()
            .map_err(StreamableHttpError::Client)?;
        match content_type(&response) {
            Some(k) if media_type_is(&k, EVENT_STREAM) || media_type_is(&k, JSON) => {
                Ok(sse(response))
            }
            other => Err(StreamableHttpError::UnexpectedContentType(other)),
        }
    }
}
