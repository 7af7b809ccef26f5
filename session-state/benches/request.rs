//! Building one model request from a history of 1k, 10k and 100k realistic items, from each
//! item's cached JSON as the Responses client does (the body holds the items and writes their
//! JSON in chunks while it is sent: timed both built alone and with every chunk written),
//! against the same bytes in one fresh buffer, serializing every item again (what caching
//! avoids), and a plain copy of the same bytes as the floor.
//!
//! `cargo bench -p session-state --bench request` shows divan's table; `cargo xtask bench` runs
//! it with `SESSION_BENCH_JSON=1` for the report. Numbers only: nothing here asserts a speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/harness.rs"]
mod harness;
#[path = "support/items.rs"]
mod items;

use std::sync::LazyLock;
use std::time::Duration;

use divan::Bencher;
use divan::counter::BytesCount;
use harness::{CountingAlloc, Figure, HeapWindow, Unit};
use serde::Serialize;
use session_state::{
    ConversationHistory, HistoryItem, HistorySnapshot, ItemKind, JsonArrayChunks, ResponseItem,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn main() {
    if harness::json_mode() {
        report();
    } else {
        divan::main();
    }
}

/// The tool list a coding session sends with every request.
static TOOLS: LazyLock<Vec<Tool>> = LazyLock::new(|| {
    vec![
        Tool {
            kind: "function",
            name: "shell".to_owned(),
            description: "Runs a shell command and returns its output.".to_owned(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "command": {"type": "array", "items": {"type": "string"}},
                    "workdir": {"type": "string"},
                    "timeout_ms": {"type": "number"},
                },
                "required": ["command"],
            }),
            strict: false,
        },
        Tool {
            kind: "function",
            name: "apply_patch".to_owned(),
            description: "Applies a patch in the `*** Begin Patch` envelope.".to_owned(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {"input": {"type": "string"}},
                "required": ["input"],
            }),
            strict: false,
        },
    ]
});

#[derive(Serialize)]
struct Tool {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    description: String,
    parameters: serde_json::Value,
    strict: bool,
}

const INSTRUCTIONS: &str = "You are a coding agent running in a terminal session on the user's \
machine. Use the `shell` tool to run commands and the `apply_patch` tool to edit files.";

/// A history of `n` items, appended the way a session appends them (serialized once, here).
fn history(n: usize) -> HistorySnapshot {
    ConversationHistory::from_items(items::realistic_items(n)).snapshot()
}

static HISTORIES: LazyLock<Vec<(usize, HistorySnapshot)>> =
    LazyLock::new(|| SIZES.iter().map(|&n| (n, history(n))).collect());

fn snapshot_of(n: usize) -> &'static HistorySnapshot {
    &HISTORIES.iter().find(|(m, _)| *m == n).unwrap().1
}

/// The same items parsed, as a history without cached JSON would hold them (history keeps
/// only the JSON, so re-serializing needs these).
static PARSED: LazyLock<Vec<(usize, Vec<ResponseItem>)>> = LazyLock::new(|| {
    SIZES
        .iter()
        .map(|&n| (n, items::realistic_items(n)))
        .collect()
});

fn parsed_of(n: usize) -> &'static [ResponseItem] {
    &PARSED.iter().find(|(m, _)| *m == n).unwrap().1
}

/// Whether the Responses client sends `item` (`responses::replayed` with `store`, mirrored:
/// it is crate-private): every item of the mix is sent, but each one's header is looked at per
/// request (never its JSON parsed).
fn replayed(item: &HistoryItem) -> bool {
    match item.kind() {
        ItemKind::Message => item.has_text() || item.role().as_deref() != Some("assistant"),
        ItemKind::Reasoning => !matches!(
            item.reasoning_id().as_deref(),
            Some("thinking" | "redacted_thinking")
        ),
        _ => true,
    }
}

/// What comes before the items, as `session-services`' Responses client writes it
/// (`responses::request_body` is crate-private, so this mirrors its shape).
fn head() -> Vec<u8> {
    let mut head = Vec::with_capacity(INSTRUCTIONS.len() + 256);
    head.extend_from_slice(b"{\"model\":");
    serde_json::to_writer(&mut head, "gpt-bench").unwrap();
    head.extend_from_slice(b",\"instructions\":");
    serde_json::to_writer(&mut head, INSTRUCTIONS).unwrap();
    head.extend_from_slice(b",\"input\":");
    head
}

/// What comes after the items.
fn tail() -> Vec<u8> {
    let mut tail = Vec::with_capacity(1024);
    tail.extend_from_slice(b",\"tools\":");
    serde_json::to_writer(&mut tail, &*TOOLS).unwrap();
    tail.extend_from_slice(
        b",\"tool_choice\":\"auto\",\"parallel_tool_calls\":false,\"store\":true,\"stream\":true}",
    );
    tail
}

/// A request body as the Responses client builds it: its head, the items it sends (held, not
/// copied) and its tail; the items' JSON is written chunk by chunk while it is sent.
struct Body {
    head: Vec<u8>,
    input: JsonArrayChunks,
    tail: Vec<u8>,
}

impl Body {
    fn len(&self) -> usize {
        self.head.len() + self.input.byte_len() + self.tail.len()
    }

    /// Write every chunk, as the HTTP client pulls them, dropping each once written; returns
    /// the bytes written.
    fn write_all(self) -> usize {
        let mut written = self.head.len() + self.tail.len();
        std::hint::black_box(self.head);
        for chunk in self.input {
            written += std::hint::black_box(chunk).len();
        }
        std::hint::black_box(self.tail);
        written
    }

    /// The whole body in one buffer, to check it.
    fn concat(self) -> Vec<u8> {
        let mut out = self.head;
        for chunk in self.input {
            out.extend_from_slice(&chunk);
        }
        out.extend_from_slice(&self.tail);
        out
    }
}

/// The request from each item's cached JSON: what the Responses client does before sending.
fn build_cached(snapshot: &HistorySnapshot) -> Body {
    Body {
        head: head(),
        input: snapshot.json_chunks_where(replayed),
        tail: tail(),
    }
}

/// The request built, then every chunk of it written: all the bytes the client sends.
fn build_and_write(snapshot: &HistorySnapshot) -> usize {
    build_cached(snapshot).write_all()
}

/// The same bytes concatenated from cached JSON into one fresh buffer (what the client did
/// before it streamed the body).
fn build_one_buffer(snapshot: &HistorySnapshot) -> Vec<u8> {
    let items = snapshot.items();
    let history_len: usize = items.iter().map(|h| h.json().len() + 1).sum();
    write_whole(
        history_len,
        items.iter().filter(|h| replayed(h)),
        |out, h| out.extend_from_slice(h.json().as_bytes()),
    )
}

/// The same bytes, serializing every item again (what the cache avoids), into a fresh buffer;
/// `parsed` are the snapshot's items parsed.
fn build_reserialized(snapshot: &HistorySnapshot, parsed: &[ResponseItem]) -> Vec<u8> {
    let items = snapshot.items();
    let history_len: usize = items.iter().map(|h| h.json().len() + 1).sum();
    let kept = items
        .iter()
        .zip(parsed)
        .filter(|(h, _)| replayed(h))
        .map(|(_, item)| item);
    write_whole(history_len, kept, |out, item| {
        serde_json::to_writer(&mut *out, item).unwrap();
    })
}

/// The whole body in one fresh buffer of about `history_len` bytes more than head and tail,
/// each of `items` written by `write_item`.
fn write_whole<T>(
    history_len: usize,
    items: impl Iterator<Item = T>,
    write_item: impl Fn(&mut Vec<u8>, T),
) -> Vec<u8> {
    let mut body = Vec::with_capacity(history_len + INSTRUCTIONS.len() + 1024);
    body.extend_from_slice(&head());
    body.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            body.push(b',');
        }
        write_item(&mut body, item);
    }
    body.push(b']');
    body.extend_from_slice(&tail());
    body
}

/// The floor: one copy of a buffer as long as the request.
fn copy_of(bytes: &[u8]) -> Vec<u8> {
    bytes.to_vec()
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn cached_json(bencher: Bencher<'_, '_>, n: usize) {
    let snapshot = snapshot_of(n);
    let len = build_cached(snapshot).len();
    bencher
        .counter(BytesCount::new(len))
        .bench(|| build_cached(snapshot));
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn cached_json_every_chunk_written(bencher: Bencher<'_, '_>, n: usize) {
    let snapshot = snapshot_of(n);
    let len = build_cached(snapshot).len();
    bencher
        .counter(BytesCount::new(len))
        .bench(|| build_and_write(snapshot));
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn cached_json_one_buffer(bencher: Bencher<'_, '_>, n: usize) {
    let snapshot = snapshot_of(n);
    let len = build_cached(snapshot).len();
    bencher
        .counter(BytesCount::new(len))
        .bench(|| build_one_buffer(snapshot));
}

#[divan::bench(args = SIZES, sample_count = 10)]
fn reserialize_every_item(bencher: Bencher<'_, '_>, n: usize) {
    let (snapshot, parsed) = (snapshot_of(n), parsed_of(n));
    let len = build_cached(snapshot).len();
    bencher
        .counter(BytesCount::new(len))
        .bench(|| build_reserialized(snapshot, parsed));
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn copy_floor(bencher: Bencher<'_, '_>, n: usize) {
    let bytes = build_one_buffer(snapshot_of(n));
    bencher
        .counter(BytesCount::new(bytes.len()))
        .bench(|| copy_of(&bytes));
}

/// The JSON-mode figures.
fn report() {
    let budget = Duration::from_millis(if harness::full_mode() { 400 } else { 150 });
    let samples = harness::samples(15, 30);
    for n in SIZES {
        let size = format!("{} items", harness::short(n));
        let (snapshot, parsed) = (snapshot_of(n), parsed_of(n));
        let reference = build_one_buffer(snapshot);
        assert_eq!(
            reference,
            build_cached(snapshot).concat(),
            "the streamed body must be the bytes of the one-buffer body"
        );
        assert_eq!(
            reference,
            build_reserialized(snapshot, parsed),
            "cached and re-serialized bodies must be the same bytes"
        );
        assert_eq!(build_cached(snapshot).len(), reference.len());
        let mb = reference.len() as f64 / 1e6;

        // The one-time cost: appending n items renders each item's JSON once.
        let list = items::realistic_items(n);
        let append = harness::time_with(
            harness::samples(5, 10),
            || list.clone(),
            ConversationHistory::from_items,
        );
        Figure::times("history.append", size.clone(), &append)
            .note("append n items to history: each item's JSON is rendered here, once")
            .emit();

        let iters = |f: &dyn Fn() -> usize| {
            let started = std::time::Instant::now();
            std::hint::black_box(f());
            harness::iters_for(started.elapsed(), budget / samples as u32)
        };
        // The builds take turns, sample by sample, so a noisy moment hits them alike.
        let cached_iters = iters(&|| build_cached(snapshot).len());
        let written_iters = iters(&|| build_and_write(snapshot));
        let one_iters = iters(&|| build_one_buffer(snapshot).len());
        let reser_iters = iters(&|| build_reserialized(snapshot, parsed).len());
        let copy_iters = iters(&|| copy_of(&reference).len());
        let (mut cached, mut written, mut one, mut reser, mut copy) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..samples {
            cached.extend(harness::time_iters(1, cached_iters, || {
                build_cached(snapshot)
            }));
            written.extend(harness::time_iters(1, written_iters, || {
                build_and_write(snapshot)
            }));
            one.extend(harness::time_iters(1, one_iters, || {
                build_one_buffer(snapshot)
            }));
            reser.extend(harness::time_iters(1, reser_iters, || {
                build_reserialized(snapshot, parsed)
            }));
            copy.extend(harness::time_iters(1, copy_iters, || copy_of(&reference)));
        }

        let window = HeapWindow::open();
        let body = std::hint::black_box(build_cached(snapshot));
        let built = window.close();
        let window = HeapWindow::open();
        std::hint::black_box(body.write_all());
        let writing = window.close();

        let (written_med, _, _) = harness::stats(&written);
        let (one_med, _, _) = harness::stats(&one);
        let (reser_med, _, _) = harness::stats(&reser);
        let (copy_med, _, _) = harness::stats(&copy);
        Figure::times("request.build.cached", size.clone(), &cached)
            .note(format!(
                "{mb:.1} MB body from cached item JSON: head, the items held ({} heap \
                 allocations, {:.1} KiB), tail; the items' bytes are written while it is sent",
                built.allocations,
                built.peak as f64 / 1024.0
            ))
            .emit();
        Figure::times("request.build.written", size.clone(), &written)
            .note(format!(
                "built, then every chunk written and dropped as the HTTP client pulls them \
                 ({} chunks, peak heap while writing {:.0} KiB); into one fresh buffer \
                 instead {:.2} ms",
                writing.allocations,
                writing.peak as f64 / 1024.0,
                one_med * 1e3
            ))
            .emit();
        Figure::times("request.build.one_buffer", size.clone(), &one)
            .note("the same bytes concatenated into one fresh buffer (before the body streamed)")
            .emit();
        Figure::times("request.build.reserialized", size.clone(), &reser)
            .note("same bytes, serde_json of every item per request (what the cache avoids)")
            .emit();
        Figure::times("request.build.copy_floor", size.clone(), &copy)
            .note("one memcpy into a fresh buffer as long as the body: the floor for one buffer")
            .emit();
        Figure::value(
            "request.build.ratio",
            size.clone(),
            Unit::Number,
            reser_med / written_med,
        )
        .note(format!(
            "re-serializing into one buffer ÷ cached with every chunk written (medians); \
             one buffer ÷ written = {:.2}; written ÷ copy floor = {:.2}",
            one_med / written_med,
            written_med / copy_med
        ))
        .emit();
    }
}
