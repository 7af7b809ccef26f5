//! Retrying model requests: one policy for turns and compaction.
//!
//! A request that failed before its response started is retried at most `request_max_retries`
//! times, a stream that broke after it started at most `stream_max_retries` times; the budgets are
//! counted apart and never multiply. Each retry is one `stream_error` event, then a wait: the
//! server's `Retry-After` (capped), else exponential backoff with jitter.

use std::time::Duration;

use session_services::{Jitter, ModelError, RetryPolicy};
use session_state::{ActiveTurn, EventMsg};

use crate::config::SessionConfig;
use crate::inner::SessionInner;

/// Longest wait between retries, before jitter.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

/// Where a model request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Before its response started.
    Request,
    /// After its stream started.
    Stream,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// The wait is over: try again.
    Again,
    /// The error is final: not retryable, or this phase's retries are used up.
    GiveUp,
    /// The turn was interrupted during the wait.
    Cancelled,
}

/// The retries one model request has left.
#[derive(Debug)]
pub(crate) struct Retries {
    request: RetryPolicy,
    stream: RetryPolicy,
    used_request: u32,
    used_stream: u32,
    jitter: Jitter,
}

impl Retries {
    /// The budgets `config` gives.
    pub(crate) fn new(config: &SessionConfig) -> Self {
        let policy = |max_retries| RetryPolicy {
            max_retries,
            base_delay: config.retry_base_delay,
            max_delay: MAX_RETRY_DELAY,
        };
        Self {
            request: policy(config.request_max_retries),
            stream: policy(config.stream_max_retries),
            used_request: 0,
            used_stream: 0,
            jitter: Jitter::from_clock(),
        }
    }

    /// After `error` in `phase`: report the retry and wait for it, or say the error is final.
    pub(crate) async fn wait(
        &mut self,
        inner: &SessionInner,
        turn: &ActiveTurn,
        phase: Phase,
        error: &ModelError,
    ) -> Next {
        let (policy, used, what) = match phase {
            Phase::Request => (self.request, &mut self.used_request, "request"),
            Phase::Stream => (self.stream, &mut self.used_stream, "stream"),
        };
        if !error.is_retryable() || *used >= policy.max_retries {
            return Next::GiveUp;
        }
        let delay = policy.delay(*used, error.retry_after(), &self.jitter);
        *used += 1;
        inner.emit_now(
            turn.sub_id(),
            EventMsg::StreamError {
                message: format!(
                    "{error}; retrying the {what} {}/{} in {}ms",
                    *used,
                    policy.max_retries,
                    delay.as_millis()
                ),
            },
        );
        tokio::select! {
            biased;
            () = turn.cancel_token().cancelled() => Next::Cancelled,
            () = tokio::time::sleep(delay) => Next::Again,
        }
    }
}
