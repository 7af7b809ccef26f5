//! Response headers a model client reads: `Retry-After` and the rate-limit headers.
//!
//! Pure parsing of header values; malformed values are ignored rather than failing a request.

use std::time::Duration;

use reqwest::header::HeaderMap;
use session_state::{RateLimitSnapshot, RateLimitWindow};

/// How long the server asked us to wait: `retry-after-ms`, else `Retry-After` in seconds.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) =
        header_str(headers, "retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok())
    {
        return duration_from_secs(ms / 1000.0);
    }
    let value = header_str(headers, "retry-after")?.trim();
    // An HTTP-date is not worth a date parser here: the backoff covers it.
    value.parse::<f64>().ok().and_then(duration_from_secs)
}

/// The rate limits the headers report, when they report any.
pub(crate) fn rate_limits(headers: &HeaderMap) -> Option<RateLimitSnapshot> {
    let snapshot = RateLimitSnapshot {
        requests: window(headers, "requests"),
        tokens: window(headers, "tokens"),
    };
    (snapshot.requests.is_some() || snapshot.tokens.is_some()).then_some(snapshot)
}

fn window(headers: &HeaderMap, kind: &str) -> Option<RateLimitWindow> {
    let number =
        |name: String| header_str(headers, &name).and_then(|v| v.trim().parse::<u64>().ok());
    let limit = number(format!("x-ratelimit-limit-{kind}"))?;
    let remaining = number(format!("x-ratelimit-remaining-{kind}"))?;
    let resets_in_seconds = header_str(headers, &format!("x-ratelimit-reset-{kind}"))
        .and_then(parse_go_duration)
        .map(|d| d.as_millis().div_ceil(1000) as u64);
    Some(RateLimitWindow {
        limit,
        remaining,
        resets_in_seconds,
    })
}

/// Parse a duration as providers write it: `1s`, `6m0s`, `20ms`, `1h2m3.5s`, or bare seconds.
pub(crate) fn parse_go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<f64>() {
        return duration_from_secs(secs);
    }
    let mut total = 0.0_f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let value: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    duration_from_secs(total)
}

fn duration_from_secs(secs: f64) -> Option<Duration> {
    // Rounded to the nanosecond so `0.12` is 120 ms, not 119.999999 ms.
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_nanos((secs * 1e9).round() as u64))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
