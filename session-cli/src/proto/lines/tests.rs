//! Unit tests of the bounded line reader, with a small limit and a tiny read buffer so lines
//! span many reads.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tokio::io::{AsyncWriteExt, BufReader};

use super::{BoundedLines, Line};

/// Every line of `input` read with `limit`, through a buffer of `capacity` bytes.
async fn read_all(input: &[u8], limit: usize, capacity: usize) -> Vec<Line> {
    let mut lines = BoundedLines::new(BufReader::with_capacity(capacity, input), limit);
    let mut out = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        out.push(line);
    }
    out
}

fn complete(s: &str) -> Line {
    Line::Complete(s.as_bytes().to_vec())
}

#[tokio::test]
async fn lines_come_with_their_newline_and_a_last_line_without_one_counts() {
    for capacity in [1, 3, 64] {
        assert_eq!(
            read_all(b"one\n\ntwo\nlast", 8, capacity).await,
            [
                complete("one\n"),
                complete("\n"),
                complete("two\n"),
                complete("last")
            ],
            "capacity {capacity}"
        );
        assert!(read_all(b"", 8, capacity).await.is_empty());
    }
}

#[tokio::test]
async fn a_line_past_the_limit_is_reported_once_and_the_next_line_is_read() {
    for capacity in [1, 3, 64] {
        assert_eq!(
            read_all(b"12345678\n123456789\nnext\n", 8, capacity).await,
            [complete("12345678\n"), Line::TooLong, complete("next\n")],
            "capacity {capacity}: the limit does not count the newline"
        );
    }
}

#[tokio::test]
async fn a_too_long_last_line_without_a_newline_is_reported() {
    assert_eq!(
        read_all(b"ok\n0123456789", 4, 3).await,
        [complete("ok\n"), Line::TooLong]
    );
}

#[tokio::test]
async fn a_long_line_keeps_at_most_the_limit_and_survives_cancelled_reads() {
    let mut input = vec![b'x'; 4 * 1024 * 1024];
    input.extend_from_slice(b"\nafter\n");
    let (mut tx, rx) = tokio::io::duplex(4096);
    let writer = tokio::spawn(async move { tx.write_all(&input).await });
    let mut lines = BoundedLines::new(BufReader::with_capacity(1024, rx), 1024);
    let mut peak = 0;
    let mut cancelled = 0;
    // Drop the read whenever it has to wait, as `select!` in `proto` does, and look at what it
    // keeps meanwhile.
    let first = loop {
        tokio::select! {
            line = lines.next_line() => break line.unwrap(),
            () = tokio::task::yield_now() => {
                cancelled += 1;
                peak = peak.max(lines.line.capacity());
            }
        }
    };
    assert_eq!(first, Some(Line::TooLong));
    assert!(cancelled > 100, "the read was cancelled {cancelled} times");
    assert!(peak <= 2 * 1024, "kept {peak} bytes of a 4 MiB line");
    assert_eq!(lines.next_line().await.unwrap(), Some(complete("after\n")));
    assert_eq!(lines.next_line().await.unwrap(), None);
    writer.await.unwrap().unwrap();
}
