//! The model stream over an HTTP body: bytes in, SSE events through a decoder, model events out.
//!
//! It owns the idle timeout (one timer, reset per chunk, never re-allocated) and ends the stream
//! the moment the decoder says the response is complete, dropping the body so the connection is
//! released without waiting for the server to close it. It must not retry: a broken stream is an
//! error for the core to judge.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::{Instant, Sleep};

use super::{SseEvent, SseParser};
use crate::model::{ModelError, ModelEvent};

/// Events waiting to be handed out, in order.
pub(crate) type Pending = VecDeque<Result<ModelEvent, ModelError>>;

/// Gives one wire API's events meaning.
pub(crate) trait Decoder: Send + Unpin + 'static {
    /// Handle one event: push what it means onto `out`, and break when the stream is over
    /// (response complete, or an error pushed).
    fn on_event(&mut self, event: SseEvent<'_>, out: &mut Pending) -> ControlFlow<()>;

    /// The body ended: push the final events (a completion the server implied, or
    /// [`ModelError::StreamClosed`]).
    fn on_eof(&mut self, out: &mut Pending);
}

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, reqwest::Error>> + Send>>;

/// A [`crate::ModelStream`] reading one response body.
pub(crate) struct EventStream<D> {
    body: Option<Body>,
    parser: SseParser,
    decoder: D,
    pending: Pending,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<D: Decoder> EventStream<D> {
    /// Read `response`'s body with `decoder`, handing out `first` before anything from the body.
    pub(crate) fn new(
        response: reqwest::Response,
        decoder: D,
        first: Pending,
        idle: Duration,
    ) -> Self {
        Self {
            body: Some(Box::pin(response.bytes_stream())),
            parser: SseParser::default(),
            decoder,
            pending: first,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let Self {
            parser,
            decoder,
            pending,
            ..
        } = self;
        let result = parser.feed(chunk, &mut |event| decoder.on_event(event, pending));
        self.after_parse(result);
    }

    fn eof(&mut self) {
        let Self {
            parser,
            decoder,
            pending,
            ..
        } = self;
        let result = parser.finish(&mut |event| decoder.on_event(event, pending));
        if let Ok(ControlFlow::Continue(())) = result {
            self.decoder.on_eof(&mut self.pending);
        }
        self.after_parse(result);
        self.body = None;
    }

    fn after_parse(&mut self, result: Result<ControlFlow<()>, super::SseError>) {
        match result {
            Ok(ControlFlow::Continue(())) => {}
            Ok(ControlFlow::Break(())) => self.body = None,
            Err(e) => {
                self.pending
                    .push_back(Err(ModelError::Protocol(e.to_string())));
                self.body = None;
            }
        }
    }
}

impl<D: Decoder> Stream for EventStream<D> {
    type Item = Result<ModelEvent, ModelError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(event));
            }
            let Some(body) = this.body.as_mut() else {
                return Poll::Ready(None);
            };
            match body.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let idle = this.idle;
                    this.deadline.as_mut().reset(Instant::now() + idle);
                    this.feed(&chunk);
                }
                Poll::Ready(Some(Err(e))) => {
                    tracing::debug!(error = %e.without_url(), "model stream broke");
                    this.pending.push_back(Err(ModelError::StreamClosed));
                    this.body = None;
                }
                Poll::Ready(None) => this.eof(),
                Poll::Pending => {
                    if this.deadline.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.pending
                        .push_back(Err(ModelError::IdleTimeout(this.idle)));
                    this.body = None;
                }
            }
        }
    }
}
