//! The model port: one streamed model request in, a stream of model events out.
//!
//! Implementations: the OpenAI Responses API, any Chat Completions server, and a scripted model.
//! The port knows nothing of turns or tools; it must not retry inside a stream it already handed
//! out (the core decides what a broken stream means for the turn).

use std::pin::Pin;
use std::time::Duration;

use futures_util::Stream;
use serde::{Deserialize, Serialize};
use session_state::{
    HistorySnapshot, RateLimitSnapshot, ReasoningEffort, ReasoningSummary, ResponseItem, TokenUsage,
};

/// A tool the model may call, described by a JSON schema of its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The tool's name.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: serde_json::Value,
}

/// Reasoning options of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningOptions {
    /// How hard to think.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<ReasoningEffort>,
    /// Whether to summarize the reasoning.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ReasoningSummary>,
}

/// One model request.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    /// The model's name.
    pub model: String,
    /// System instructions.
    pub instructions: String,
    /// The conversation so far, shared rather than copied.
    pub input: HistorySnapshot,
    /// Tools the model may call; shared, so a request never copies their schemas.
    pub tools: std::sync::Arc<[ToolSpec]>,
    /// Reasoning options, for models that reason.
    pub reasoning: Option<ReasoningOptions>,
    /// A key the server may route requests by so that they share its prompt cache (the
    /// session id); sent where the wire API has a place for it.
    pub prompt_cache_key: Option<String>,
}

/// One event of a streamed model response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ModelEvent {
    /// The server accepted the request.
    Created,
    /// A piece of the assistant's text.
    OutputTextDelta(String),
    /// A piece of the model's reasoning text.
    ReasoningDelta(String),
    /// An item of the response is complete (message, reasoning, function call).
    OutputItemDone(ResponseItem),
    /// The response is complete; nothing follows.
    Completed {
        /// The server's id of the response.
        response_id: String,
        /// Tokens used, when the server reported them.
        usage: Option<TokenUsage>,
    },
    /// Rate limits reported with the response.
    RateLimits(RateLimitSnapshot),
}

/// The stream of one model response.
///
/// Build one with [`model_stream`] (from events you have), [`model_channel`] (events you send as
/// they come) or [`text_response`] (a whole answer); no other crate is needed.
pub type ModelStream = Pin<Box<dyn Stream<Item = Result<ModelEvent, ModelError>> + Send>>;

/// What a model client sends into a stream made by [`model_channel`].
pub type ModelSender = tokio::sync::mpsc::Sender<Result<ModelEvent, ModelError>>;

/// A stream of these events, in order.
pub fn model_stream<I>(events: I) -> ModelStream
where
    I: IntoIterator<Item = Result<ModelEvent, ModelError>>,
    I::IntoIter: Send + 'static,
{
    Box::pin(futures_util::stream::iter(events))
}

/// A stream fed through a channel of `capacity` events: send events as they come, then
/// `Completed` (or an error); dropping the sender earlier ends the stream, which the session
/// reports as a broken stream.
pub fn model_channel(capacity: usize) -> (ModelSender, ModelStream) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(capacity.max(1));
    let stream = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (tx, Box::pin(stream))
}

/// The events of a plain text answer: `text` as one delta, the assistant message, `Completed`.
///
/// A model must send both: deltas are what front-ends show while it streams, and the final
/// message item is what the session records (one that sends only deltas still gets its text
/// recorded, from the deltas).
pub fn text_response(text: impl Into<String>) -> ModelStream {
    let text = text.into();
    model_stream([
        Ok(ModelEvent::OutputTextDelta(text.clone())),
        Ok(ModelEvent::OutputItemDone(ResponseItem::assistant_text(
            text,
        ))),
        Ok(ModelEvent::Completed {
            response_id: String::new(),
            usage: None,
        }),
    ])
}

/// Why a model request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The server answered with an error status.
    #[error("model server answered {status}: {message}")]
    Http {
        /// HTTP status code.
        status: u16,
        /// The server's error message (never containing credentials).
        message: String,
        /// When the server asked us to retry (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// The connection failed or broke.
    #[error("connection to the model server failed: {0}")]
    Transport(String),
    /// The server sent nothing for too long.
    #[error("model stream idle for more than {0:?}")]
    IdleTimeout(Duration),
    /// The stream carried something we could not understand.
    #[error("model stream malformed: {0}")]
    Protocol(String),
    /// The stream ended before the response completed.
    #[error("model stream closed before the response completed")]
    StreamClosed,
    /// The server reported the response failed.
    #[error("model response failed: {0}")]
    Failed(String),
    /// The server stopped the response early.
    #[error("model response incomplete: {0}")]
    Incomplete(String),
    /// The request could not be made at all (bad configuration, missing key).
    #[error("model request not possible: {0}")]
    Config(String),
    /// A scripted model ran out of responses or was told to fail.
    #[error("scripted model: {0}")]
    Scripted(String),
    /// The model client panicked; the message says where and why. Never retried.
    #[error("{0}")]
    Panicked(String),
}

impl ModelError {
    /// Whether trying again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Http { status, .. } => *status == 429 || *status >= 500,
            ModelError::Transport(_) | ModelError::IdleTimeout(_) | ModelError::StreamClosed => {
                true
            }
            ModelError::Protocol(_)
            | ModelError::Failed(_)
            | ModelError::Incomplete(_)
            | ModelError::Config(_)
            | ModelError::Scripted(_)
            | ModelError::Panicked(_) => false,
        }
    }

    /// How long the server asked us to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// A model provider. Called by the core once per model request.
///
/// Implementers must: return promptly once the response is complete (not wait for the connection
/// to close), end the stream after `Completed` or the first error, never retry (the core retries
/// a failed request up to `request_max_retries` times and a broken stream up to
/// `stream_max_retries` times, each retry reported as a `stream_error` event), and never put
/// credentials into errors. An error returned by [`ModelClient::stream`] is a failed request; an
/// error inside the stream is a broken stream.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait::async_trait]
pub trait ModelClient: Send + Sync {
    /// Send one request and stream the response.
    ///
    /// # Errors
    ///
    /// [`ModelError`] when the request could not be made or the server refused it (after the
    /// client's own retries).
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError>;
}
