//! Tests of bounded output capture: head and tail kept, the middle counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

/// What a bounded capture of `all` must look like: the first and last bytes, a marker between.
fn expected(all: &[u8], limit: usize) -> String {
    if all.len() <= limit {
        return String::from_utf8_lossy(all).into_owned();
    }
    let head = limit / 2;
    let tail = limit - head;
    let omitted = (all.len() - limit) as u64;
    let mut out = all[..head].to_vec();
    out.extend_from_slice(omitted_marker(omitted).as_bytes());
    out.extend_from_slice(&all[all.len() - tail..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// A deterministic sequence of chunk sizes and printable bytes.
fn chunks(seed: u64, count: usize, max: usize) -> Vec<Vec<u8>> {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let mut counter = 0u8;
    (0..count)
        .map(|_| {
            let len = next() % (max + 1);
            (0..len)
                .map(|_| {
                    counter = counter.wrapping_add(1);
                    b'a' + counter % 26
                })
                .collect()
        })
        .collect()
}

#[test]
fn output_under_the_limit_is_kept_whole() {
    let mut buf = HeadTail::new(16);
    buf.push(b"hello ");
    buf.push(b"world");
    assert_eq!(buf.omitted(), 0);
    assert_eq!(buf.into_string(), "hello world");
}

#[test]
fn output_over_the_limit_keeps_head_and_tail_with_a_marker() {
    let mut buf = HeadTail::new(8);
    buf.push(b"0123456789abcdef");
    assert_eq!(buf.omitted(), 8);
    assert_eq!(buf.into_string(), "0123\n[... 8 bytes omitted ...]\ncdef");
}

#[test]
fn any_sequence_of_chunks_matches_keeping_everything_then_cutting() {
    for limit in [0, 1, 2, 7, 16, 33] {
        for seed in 0..40 {
            let chunks = chunks(seed, 30, 3 * limit + 5);
            let mut buf = HeadTail::new(limit);
            let mut all = Vec::new();
            for chunk in &chunks {
                buf.push(chunk);
                all.extend_from_slice(chunk);
            }
            assert_eq!(
                buf.into_string(),
                expected(&all, limit),
                "limit {limit}, seed {seed}"
            );
        }
    }
}

#[test]
fn captured_keeps_streams_apart_and_aggregates_in_arrival_order() {
    let mut captured = Captured::new(1024);
    captured.push(ExecOutputStream::Stdout, b"a\n");
    captured.push(ExecOutputStream::Stderr, b"b\n");
    captured.push(ExecOutputStream::Stdout, b"c\n");
    let (stdout, stderr, aggregated) = captured.into_strings();
    assert_eq!(stdout, "a\nc\n");
    assert_eq!(stderr, "b\n");
    assert_eq!(aggregated, "a\nb\nc\n");
}

#[test]
fn invalid_utf8_is_replaced_not_rejected() {
    let mut buf = HeadTail::new(64);
    buf.push(&[b'o', b'k', 0xff, b'!']);
    assert_eq!(buf.into_string(), "ok\u{fffd}!");
}
