//! The retry policy: how many times, and how long to wait before each retry.
//!
//! Exponential backoff with jitter, or the server's `Retry-After` (capped). The core applies it
//! around model requests (HTTP clients never retry, so retries never multiply); it is here so
//! any crate built on the ports can use the same arithmetic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest `Retry-After` honoured; a server asking for more is retried after this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Wait before the first retry; doubles each retry.
    pub base_delay: Duration,
    /// Longest wait between attempts (before jitter).
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): the server's `Retry-After` when it gave
    /// one (at most [`MAX_RETRY_AFTER`]), else [`RetryPolicy::backoff`].
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, jitter: &Jitter) -> Duration {
        retry_after.map_or_else(|| self.backoff(retry, jitter), |d| d.min(MAX_RETRY_AFTER))
    }

    /// The wait before retry number `retry` (0-based): `base × 2^retry`, capped, times a jitter
    /// factor in `[0.75, 1.25)`.
    pub fn backoff(&self, retry: u32, jitter: &Jitter) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1_u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX));
        exp.min(self.max_delay)
            .mul_f64(0.75 + 0.5 * jitter.next_unit())
    }
}

/// A tiny xorshift generator for backoff jitter, seeded from the clock.
#[derive(Debug)]
pub struct Jitter {
    state: AtomicU64,
}

impl Jitter {
    /// A generator seeded from the current time.
    pub fn from_clock() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Self {
            state: AtomicU64::new(nanos | 1),
        }
    }

    /// The next number in `[0, 1)`.
    pub fn next_unit(&self) -> f64 {
        let step = |mut x: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let previous = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
            .unwrap_or(1);
        (step(previous) >> 11) as f64 / (1_u64 << 53) as f64
    }
}
