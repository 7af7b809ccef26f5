//! Sending one model request up to the moment the response headers are in, and the retry policy
//! the core applies around it.
//!
//! A request is sent once: an error status becomes [`ModelError::Http`] with the server's message
//! and `Retry-After`, a failed connection [`ModelError::Transport`]. Whether and when to try again
//! is decided in one place, by the core, with [`RetryPolicy`]: so HTTP retries and stream retries
//! never multiply, and each retry is seen as an event. It never lets the API key into an error.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{RequestBuilder, Response};

use crate::model::ModelError;
#[cfg(test)]
use crate::retry::{Jitter, RetryPolicy};

pub(crate) mod headers;

/// How much of an error body we read to find its message.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How much of a non-JSON error body goes into the message.
const MAX_ERROR_TEXT: usize = 512;

/// What one request needs besides its builder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendOptions<'a> {
    /// How long to wait for response headers (and an error body) before giving up.
    pub(crate) header_timeout: Duration,
    /// The API key, scrubbed from any message that would carry it.
    pub(crate) secret: Option<&'a str>,
}

/// Send `request` once and wait for a 2xx response's headers.
///
/// # Errors
///
/// [`ModelError::Http`] for an error status (with the server's message and `Retry-After`),
/// [`ModelError::Transport`] when the connection failed, [`ModelError::IdleTimeout`] when no
/// response headers came in time.
pub(crate) async fn send(
    options: SendOptions<'_>,
    request: RequestBuilder,
) -> Result<Response, ModelError> {
    match tokio::time::timeout(options.header_timeout, request.send()).await {
        Err(_) => Err(ModelError::IdleTimeout(options.header_timeout)),
        Ok(Ok(response)) if response.status().is_success() => Ok(response),
        Ok(Ok(response)) => {
            let status = response.status();
            let retry_after = headers::retry_after(response.headers());
            let message = error_message(response, options).await;
            Err(ModelError::Http {
                status: status.as_u16(),
                message,
                retry_after,
            })
        }
        Ok(Err(e)) => Err(ModelError::Transport(scrub(describe(e), options.secret))),
    }
}

/// Read a JSON body that came where an event stream was expected, and make it an error: the
/// server's `error.message` when it has one.
pub(crate) async fn json_instead_of_stream(
    response: Response,
    options: SendOptions<'_>,
) -> ModelError {
    let message = error_message(response, options).await;
    ModelError::Failed(message)
}

/// The message of an error response: `error.message` of a JSON body, else the body's text, else
/// the status's reason.
async fn error_message(response: Response, options: SendOptions<'_>) -> String {
    let status = response.status();
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            body.extend_from_slice(&chunk);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
    };
    // A server that sends an error status and then stalls still gets its status reported.
    let _ = tokio::time::timeout(options.header_timeout, read).await;
    // Scrub the whole body before a message is cut out of it: a key that the length limit cuts
    // in half no longer matches, and its first half would leak.
    let body = scrub(String::from_utf8_lossy(&body).into_owned(), options.secret);
    let message = message_from_body(body.as_bytes())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    scrub(message, options.secret)
}

/// The message in an error body, if it has a usable one.
pub(crate) fn message_from_body(body: &[u8]) -> Option<String> {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let found = json
            .pointer("/error/message")
            .or_else(|| json.get("error").filter(|e| e.is_string()))
            .or_else(|| json.get("message"))
            .and_then(|m| m.as_str());
        if let Some(message) = found {
            return Some(message.to_owned());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut end = text.len().min(MAX_ERROR_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_owned())
}

/// A transport error with its causes, without the URL.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut out = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// `text` with every occurrence of the secret replaced.
pub(crate) fn scrub(text: String, secret: Option<&str>) -> String {
    match secret {
        Some(secret) if !secret.is_empty() && text.contains(secret) => {
            text.replace(secret, "<redacted>")
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests;
