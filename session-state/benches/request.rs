//! Building the bytes of one model request from a history of 1k, 10k and 100k realistic items,
//! from each item's cached JSON (what the Responses client does) against serializing every
//! item again (what caching avoids), with a plain copy of the same bytes as the floor.
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
use session_state::{ConversationHistory, HistorySnapshot};

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

/// The request body around the items, as `session-services`' Responses client writes it
/// (`responses::request_body` is crate-private, so this mirrors its shape), appended to `body`.
fn write_body(
    body: &mut Vec<u8>,
    snapshot: &HistorySnapshot,
    write_item: impl Fn(&mut Vec<u8>, usize),
) {
    let items = snapshot.items();
    let history_len: usize = items.iter().map(|h| h.json().len() + 1).sum();
    body.reserve(history_len + INSTRUCTIONS.len() + 1024);
    body.extend_from_slice(b"{\"model\":");
    serde_json::to_writer(&mut *body, "gpt-bench").unwrap();
    body.extend_from_slice(b",\"instructions\":");
    serde_json::to_writer(&mut *body, INSTRUCTIONS).unwrap();
    body.extend_from_slice(b",\"input\":[");
    for i in 0..items.len() {
        if i > 0 {
            body.push(b',');
        }
        write_item(body, i);
    }
    body.extend_from_slice(b"],\"tools\":");
    serde_json::to_writer(&mut *body, &*TOOLS).unwrap();
    body.extend_from_slice(
        b",\"tool_choice\":\"auto\",\"parallel_tool_calls\":false,\"store\":false,\"stream\":true}",
    );
}

/// The request from each item's cached JSON, into `body`: a copy of bytes.
fn write_cached(body: &mut Vec<u8>, snapshot: &HistorySnapshot) {
    let items = snapshot.items();
    write_body(body, snapshot, |out, i| {
        out.extend_from_slice(items[i].json().as_bytes());
    });
}

/// The same request, serializing every item again (what the cache avoids), into `body`.
fn write_reserialized(body: &mut Vec<u8>, snapshot: &HistorySnapshot) {
    let items = snapshot.items();
    write_body(body, snapshot, |out, i| {
        serde_json::to_writer(&mut *out, items[i].item()).unwrap();
    });
}

/// The request from cached JSON into a fresh buffer, as every request does today.
fn build_cached(snapshot: &HistorySnapshot) -> Vec<u8> {
    let mut body = Vec::new();
    write_cached(&mut body, snapshot);
    body
}

/// The re-serialized request into a fresh buffer.
fn build_reserialized(snapshot: &HistorySnapshot) -> Vec<u8> {
    let mut body = Vec::new();
    write_reserialized(&mut body, snapshot);
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

#[divan::bench(args = SIZES, sample_count = 10)]
fn reserialize_every_item(bencher: Bencher<'_, '_>, n: usize) {
    let snapshot = snapshot_of(n);
    let len = build_cached(snapshot).len();
    bencher
        .counter(BytesCount::new(len))
        .bench(|| build_reserialized(snapshot));
}

#[divan::bench(args = SIZES, sample_count = 20)]
fn copy_floor(bencher: Bencher<'_, '_>, n: usize) {
    let bytes = build_cached(snapshot_of(n));
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
        let snapshot = snapshot_of(n);
        let reference = build_cached(snapshot);
        assert_eq!(
            reference,
            build_reserialized(snapshot),
            "cached and re-serialized bodies must be the same bytes"
        );
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

        let iters = |f: &dyn Fn() -> Vec<u8>| {
            let started = std::time::Instant::now();
            drop(std::hint::black_box(f()));
            harness::iters_for(started.elapsed(), budget / samples as u32)
        };
        let cached_iters = iters(&|| build_cached(snapshot));
        let cached = harness::time_iters(samples, cached_iters, || build_cached(snapshot));
        let reser_iters = iters(&|| build_reserialized(snapshot));
        let reser = harness::time_iters(samples, reser_iters, || build_reserialized(snapshot));
        let copy_iters = iters(&|| copy_of(&reference));
        let copy = harness::time_iters(samples, copy_iters, || copy_of(&reference));

        // The same builds into a buffer reused from the last request: no fresh pages to
        // fault in, so what remains is the copy (or the serialization) itself.
        let mut warm = Vec::new();
        write_cached(&mut warm, snapshot);
        let warm_cached = harness::time_iters(samples, cached_iters, || {
            warm.clear();
            write_cached(&mut warm, snapshot);
            warm.len()
        });
        let warm_reser = harness::time_iters(samples, reser_iters, || {
            warm.clear();
            write_reserialized(&mut warm, snapshot);
            warm.len()
        });
        let (warm_cached_med, _, _) = harness::stats(&warm_cached);
        let (warm_reser_med, _, _) = harness::stats(&warm_reser);

        let window = HeapWindow::open();
        drop(std::hint::black_box(build_cached(snapshot)));
        let heap = window.close();

        let (cached_med, _, _) = harness::stats(&cached);
        let (reser_med, _, _) = harness::stats(&reser);
        let (copy_med, _, _) = harness::stats(&copy);
        Figure::times("request.build.cached", size.clone(), &cached)
            .note(format!(
                "{mb:.1} MB body from cached item JSON into a fresh buffer ({} heap \
                 allocation per build); into a reused buffer {:.2} ms",
                heap.allocations,
                warm_cached_med * 1e3
            ))
            .emit();
        Figure::times("request.build.reserialized", size.clone(), &reser)
            .note(format!(
                "same bytes, serde_json of every item per request (what the cache avoids); into a \
             reused buffer {:.2} ms",
                warm_reser_med * 1e3
            ))
            .emit();
        Figure::times("request.build.copy_floor", size.clone(), &copy)
            .note("one memcpy of a buffer as long as the body: the floor for any build")
            .emit();
        Figure::value(
            "request.build.ratio",
            size.clone(),
            Unit::Number,
            reser_med / cached_med,
        )
        .note(format!(
            "re-serializing ÷ cached, fresh buffers (medians); with a reused buffer {:.1}; \
             cached ÷ copy floor = {:.2}",
            warm_reser_med / warm_cached_med,
            cached_med / copy_med
        ))
        .emit();
    }
}
