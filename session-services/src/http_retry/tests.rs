//! Tests of the retry arithmetic and the header parsing: backoff, jitter, `Retry-After`, rate
//! limits, error bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use session_state::{RateLimitSnapshot, RateLimitWindow};

use super::headers::{parse_go_duration, rate_limits, retry_after};
use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[test]
fn backoff_doubles_per_retry_within_the_jitter_band_and_is_capped() {
    let policy = RetryPolicy {
        max_retries: 10,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
    };
    let jitter = Jitter::from_clock();
    for (retry, nominal_ms) in [
        (0, 200),
        (1, 400),
        (2, 800),
        (3, 1600),
        (4, 2000),
        (9, 2000),
    ] {
        for _ in 0..50 {
            let wait = policy.backoff(retry, &jitter).as_secs_f64() * 1000.0;
            let nominal = nominal_ms as f64;
            assert!(
                wait >= nominal * 0.75 - 1e-6 && wait < nominal * 1.25,
                "retry {retry}: {wait} ms outside the band around {nominal} ms"
            );
        }
    }
}

#[test]
fn jitter_varies_and_stays_in_the_unit_interval() {
    let jitter = Jitter::from_clock();
    let values: Vec<f64> = (0..1000).map(|_| jitter.next_unit()).collect();
    assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
    let distinct: std::collections::HashSet<u64> = values.iter().map(|v| v.to_bits()).collect();
    assert!(
        distinct.len() > 990,
        "jitter repeats: {} distinct",
        distinct.len()
    );
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!((0.4..0.6).contains(&mean), "jitter is skewed: mean {mean}");
}

#[test]
fn retry_after_reads_seconds_and_milliseconds() {
    assert_eq!(
        retry_after(&headers(&[("retry-after", "3")])),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        retry_after(&headers(&[("retry-after", "1.5")])),
        Some(Duration::from_millis(1500))
    );
    // The millisecond header is more precise and wins.
    assert_eq!(
        retry_after(&headers(&[("retry-after", "3"), ("retry-after-ms", "250")])),
        Some(Duration::from_millis(250))
    );
    assert_eq!(retry_after(&headers(&[])), None);
    assert_eq!(
        retry_after(&headers(&[(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT"
        )])),
        None
    );
    assert_eq!(retry_after(&headers(&[("retry-after", "-4")])), None);
}

#[test]
fn go_style_durations_parse() {
    let cases = [
        ("1s", Some(Duration::from_secs(1))),
        ("6m0s", Some(Duration::from_secs(360))),
        ("20ms", Some(Duration::from_millis(20))),
        ("1h2m3.5s", Some(Duration::from_millis(3_723_500))),
        ("0.5s", Some(Duration::from_millis(500))),
        ("17", Some(Duration::from_secs(17))),
        ("", None),
        ("soon", None),
        ("5x", None),
        ("s", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_go_duration(text), expected, "{text:?}");
    }
}

#[test]
fn rate_limit_headers_become_a_snapshot() {
    let map = headers(&[
        ("x-ratelimit-limit-requests", "500"),
        ("x-ratelimit-remaining-requests", "499"),
        ("x-ratelimit-reset-requests", "120ms"),
        ("x-ratelimit-limit-tokens", "30000"),
        ("x-ratelimit-remaining-tokens", "29000"),
        ("x-ratelimit-reset-tokens", "6m0s"),
    ]);
    assert_eq!(
        rate_limits(&map),
        Some(RateLimitSnapshot {
            requests: Some(RateLimitWindow {
                limit: 500,
                remaining: 499,
                resets_in_seconds: Some(1),
            }),
            tokens: Some(RateLimitWindow {
                limit: 30000,
                remaining: 29000,
                resets_in_seconds: Some(360),
            }),
        })
    );
}

#[test]
fn a_window_needs_its_limit_and_remaining_and_tolerates_a_bad_reset() {
    let map = headers(&[
        ("x-ratelimit-limit-requests", "500"),
        ("x-ratelimit-limit-tokens", "100"),
        ("x-ratelimit-remaining-tokens", "7"),
        ("x-ratelimit-reset-tokens", "later"),
    ]);
    assert_eq!(
        rate_limits(&map),
        Some(RateLimitSnapshot {
            requests: None,
            tokens: Some(RateLimitWindow {
                limit: 100,
                remaining: 7,
                resets_in_seconds: None,
            }),
        })
    );
    assert_eq!(
        rate_limits(&headers(&[("x-ratelimit-limit-requests", "x")])),
        None
    );
    assert_eq!(rate_limits(&headers(&[])), None);
}

#[test]
fn error_messages_come_from_json_bodies_or_text() {
    let cases: [(&[u8], Option<&str>); 6] = [
        (
            br#"{"error":{"message":"quota exceeded","type":"insufficient_quota"}}"#,
            Some("quota exceeded"),
        ),
        (br#"{"error":"model not found"}"#, Some("model not found")),
        (br#"{"message":"bad things"}"#, Some("bad things")),
        (b"upstream connect error\n", Some("upstream connect error")),
        (b"   ", None),
        (b"", None),
    ];
    for (body, expected) in cases {
        assert_eq!(message_from_body(body).as_deref(), expected);
    }
}

#[test]
fn a_long_text_body_is_cut_on_a_char_boundary() {
    let body = "é".repeat(1000);
    let message = message_from_body(body.as_bytes()).unwrap();
    assert!(message.len() <= MAX_ERROR_TEXT);
    assert!(message.chars().all(|c| c == 'é'));
}

#[test]
fn scrub_removes_the_secret() {
    assert_eq!(
        scrub("key sk-123 is wrong; sk-123!".to_owned(), Some("sk-123")),
        "key <redacted> is wrong; <redacted>!"
    );
    assert_eq!(scrub("nothing".to_owned(), None), "nothing");
    assert_eq!(scrub("nothing".to_owned(), Some("")), "nothing");
}
