//! A model the test plays by hand: every request the session makes is handed to the test, which
//! answers it when and how it chooses (a list of events, a script, an error, or events streamed
//! one at a time). Tests use it instead of timed script delays: the turn waits exactly as long as
//! the test holds the answer back, so "while the model is still answering" is a handshake, not a
//! wall-clock window.
//!
//! It must not answer anything on its own: a request nobody answers waits, and one the test drops
//! unanswered fails.

use futures_util::stream;
use session_services::{
    ModelClient, ModelError, ModelEvent, ModelRequest, ModelStream, ScriptedModel, ScriptedResponse,
};
use tokio::sync::{mpsc, oneshot};

type EventResult = Result<ModelEvent, ModelError>;

/// The model side: a [`ModelClient`] whose every request goes to its [`ModelHandle`].
///
/// Clones share the handle. Made with [`HandleModel::new`].
#[derive(Debug, Clone)]
pub struct HandleModel {
    requests: mpsc::UnboundedSender<PendingRequest>,
}

/// The test side: receives each request the [`HandleModel`] gets, in order.
#[derive(Debug)]
pub struct ModelHandle {
    requests: mpsc::UnboundedReceiver<PendingRequest>,
}

/// One model request waiting for the test's answer.
///
/// Answer it with [`respond`](Self::respond), [`play`](Self::play), [`fail`](Self::fail) or
/// [`stream`](Self::stream). Dropping it unanswered fails the request with
/// [`ModelError::Scripted`].
#[derive(Debug)]
pub struct PendingRequest {
    request: ModelRequest,
    answer: oneshot::Sender<Answer>,
}

/// The test's end of a response streamed one event at a time; from [`PendingRequest::stream`].
///
/// The stream ends after a [`ModelEvent::Completed`] or an error. Dropping the sender before
/// either ends the stream with [`ModelError::StreamClosed`], as a dropped connection would.
#[derive(Debug)]
pub struct EventSender {
    events: mpsc::UnboundedSender<EventResult>,
}

#[derive(Debug)]
enum Answer {
    Events(mpsc::UnboundedReceiver<EventResult>),
    Script(ScriptedResponse),
    Fail(ModelError),
}

impl HandleModel {
    /// A model and the handle that answers its requests.
    pub fn new() -> (HandleModel, ModelHandle) {
        let (tx, rx) = mpsc::unbounded_channel();
        (HandleModel { requests: tx }, ModelHandle { requests: rx })
    }
}

#[async_trait::async_trait]
impl ModelClient for HandleModel {
    /// Hands the request to the test and waits for its answer.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future withdraws the request: [`PendingRequest::cancelled`] resolves and any
    /// later answer is discarded.
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        let (answer, answered) = oneshot::channel();
        let pending = PendingRequest {
            request: request.clone(),
            answer,
        };
        self.requests.send(pending).map_err(|_| {
            ModelError::Scripted("no test holds the model handle any more".to_owned())
        })?;
        match answered.await {
            Ok(Answer::Events(events)) => Ok(event_stream(events)),
            Ok(Answer::Script(response)) => ScriptedModel::new([response]).stream(request).await,
            Ok(Answer::Fail(error)) => Err(error),
            Err(_) => Err(ModelError::Scripted(
                "the test dropped the request without answering it".to_owned(),
            )),
        }
    }
}

/// Where the stream of one answer stands.
enum Feed {
    Open(mpsc::UnboundedReceiver<EventResult>),
    Done,
}

/// The events the test sends, ended after `Completed` or the first error, or with
/// `StreamClosed` when the test hangs up before either.
fn event_stream(events: mpsc::UnboundedReceiver<EventResult>) -> ModelStream {
    Box::pin(stream::unfold(Feed::Open(events), |feed| async move {
        let Feed::Open(mut events) = feed else {
            return None;
        };
        match events.recv().await {
            Some(Ok(event @ ModelEvent::Completed { .. })) => Some((Ok(event), Feed::Done)),
            Some(Ok(event)) => Some((Ok(event), Feed::Open(events))),
            Some(Err(error)) => Some((Err(error), Feed::Done)),
            None => Some((Err(ModelError::StreamClosed), Feed::Done)),
        }
    }))
}

impl ModelHandle {
    /// The next request the model receives; `None` once every [`HandleModel`] clone is gone
    /// and no request is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a request not yet returned stays queued for the next call.
    pub async fn next_request(&mut self) -> Option<PendingRequest> {
        self.requests.recv().await
    }

    /// The next request if one has arrived already; never waits.
    pub fn try_next_request(&mut self) -> Option<PendingRequest> {
        self.requests.try_recv().ok()
    }

    /// Answers the next request with this script and returns the request; `None` as for
    /// [`next_request`](Self::next_request).
    pub async fn play_next(&mut self, response: ScriptedResponse) -> Option<ModelRequest> {
        let pending = self.next_request().await?;
        let request = pending.request.clone();
        pending.play(response);
        Some(request)
    }
}

impl PendingRequest {
    /// The request as the session made it.
    pub fn request(&self) -> &ModelRequest {
        &self.request
    }

    /// Answers with these events, then ends the stream (with [`ModelError::StreamClosed`] when
    /// they hold no `Completed`).
    pub fn respond(self, events: impl IntoIterator<Item = ModelEvent>) {
        self.respond_with(events.into_iter().map(Ok));
    }

    /// Answers with these events and errors; the stream ends at the first error or `Completed`.
    pub fn respond_with(self, events: impl IntoIterator<Item = Result<ModelEvent, ModelError>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        for event in events {
            // The receiver is still in this scope, so the send cannot fail.
            let _ = tx.send(event);
        }
        drop(tx);
        let _ = self.answer.send(Answer::Events(rx));
    }

    /// Answers as a [`ScriptedModel`] would answer with this one response (its deltas, tool
    /// calls, delays and errors), so the builders of [`ScriptedResponse`] apply.
    pub fn play(self, response: ScriptedResponse) {
        let _ = self.answer.send(Answer::Script(response));
    }

    /// Fails the request itself (what [`ModelClient::stream`] returns), as a refused request
    /// would; an error inside the stream is [`EventSender::fail`].
    pub fn fail(self, error: ModelError) {
        let _ = self.answer.send(Answer::Fail(error));
    }

    /// Answers with a stream the test feeds event by event through the returned sender.
    pub fn stream(self) -> EventSender {
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = self.answer.send(Answer::Events(rx));
        EventSender { events: tx }
    }

    /// Whether the client gave up waiting for the answer (its request future was dropped, as an
    /// interrupted turn drops it).
    pub fn is_cancelled(&self) -> bool {
        self.answer.is_closed()
    }

    /// Waits until the client gives up waiting for the answer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn cancelled(&mut self) {
        self.answer.closed().await;
    }
}

impl EventSender {
    /// Sends one event; `false` when the client no longer reads the stream.
    pub fn send(&self, event: ModelEvent) -> bool {
        self.events.send(Ok(event)).is_ok()
    }

    /// Sends these events in order; `false` when the client no longer reads the stream.
    pub fn send_all(&self, events: impl IntoIterator<Item = ModelEvent>) -> bool {
        events.into_iter().all(|event| self.send(event))
    }

    /// Ends the response: sends `Completed` (response id `resp_handle`, no usage).
    pub fn complete(self) {
        let _ = self.send(ModelEvent::Completed {
            response_id: "resp_handle".to_owned(),
            usage: None,
        });
    }

    /// Breaks the stream with this error (a broken stream, not a refused request).
    pub fn fail(self, error: ModelError) {
        let _ = self.events.send(Err(error));
    }

    /// Whether the client dropped the stream.
    pub fn is_closed(&self) -> bool {
        self.events.is_closed()
    }

    /// Waits until the client drops the stream (a turn that ends or is interrupted drops it).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        self.events.closed().await;
    }
}

#[cfg(test)]
mod tests;
