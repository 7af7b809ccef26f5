//! Throughput of the JSON Lines recorder: writing a long turn (10k realistic items, flushed)
//! and reading back a 100k-item recording (resume), with the heap used while reading.
//!
//! Run with `cargo bench -p session-services --bench recorder` for divan's table;
//! `cargo xtask bench` runs it with `SESSION_BENCH_JSON=1` for the report. Numbers only: no
//! assertion here may depend on speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../session-state/benches/support/harness.rs"]
mod harness;
#[path = "../../session-state/benches/support/items.rs"]
mod items;

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use divan::Bencher;
use divan::counter::BytesCount;
use harness::{CountingAlloc, Figure, HeapWindow, Unit};
use session_services::{JsonlRecorder, Recorder, RolloutItem, SessionMeta, read_recording};
use session_state::HistoryItem;
use tempfile::TempDir;
use tokio::runtime::Runtime;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    if harness::json_mode() {
        report();
    } else {
        divan::main();
    }
}

/// Items per `record` call, as a model response yields a few items at a time.
const BATCH: usize = 8;
/// Items of the written turn.
const TURN_ITEMS: usize = 10_000;
/// Items of the recording read back.
const BIG_ITEMS: usize = 100_000;

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn meta(id: &str) -> SessionMeta {
    SessionMeta {
        id: id.to_owned(),
        timestamp: "2026-11-25T18:54:22Z".to_owned(),
        cwd: PathBuf::from("/home/user/project"),
        model: "bench-model".to_owned(),
        model_provider: "bench".to_owned(),
        cli_version: "0.1.0".to_owned(),
    }
}

/// The realistic mix of `items.rs`, wrapped as history holds it.
fn items(n: usize) -> Vec<Arc<HistoryItem>> {
    items::realistic_items(n)
        .into_iter()
        .map(|i| Arc::new(HistoryItem::new(i)))
        .collect()
}

async fn record_all(rec: &JsonlRecorder, items: &[Arc<HistoryItem>]) {
    for batch in items.chunks(BATCH) {
        let lines = batch
            .iter()
            .map(|h| RolloutItem::ResponseItem(Arc::clone(h)))
            .collect();
        rec.record(lines).await.unwrap();
    }
}

/// The turn to write, and how many bytes its lines take (measured by writing it once).
static TURN: LazyLock<(Vec<Arc<HistoryItem>>, u64)> = LazyLock::new(|| {
    let items = items(TURN_ITEMS);
    let dir = TempDir::new().unwrap();
    let rt = runtime();
    let bytes = rt.block_on(async {
        let rec = JsonlRecorder::new(dir.path().to_path_buf());
        let path = rec.start(meta("measure")).await.unwrap();
        let head = std::fs::metadata(&path).unwrap().len();
        record_all(&rec, &items).await;
        rec.shutdown().await.unwrap();
        std::fs::metadata(&path).unwrap().len() - head
    });
    (items, bytes)
});

/// Record a 10k-item turn in batches, then flush (bytes handed to the OS).
#[divan::bench(sample_count = 20, sample_size = 1)]
fn write_turn_10k_items(bencher: Bencher<'_, '_>) {
    let (items, bytes) = &*TURN;
    let rt = runtime();
    bencher
        .counter(BytesCount::new(*bytes))
        .with_inputs(|| fresh_recorder(&rt))
        .bench_local_values(|(dir, rec)| {
            rt.block_on(async {
                record_all(&rec, items).await;
                rec.flush().await.unwrap();
            });
            (dir, rec)
        });
}

fn fresh_recorder(rt: &Runtime) -> (TempDir, JsonlRecorder) {
    let dir = TempDir::new().unwrap();
    let rec = JsonlRecorder::new(dir.path().to_path_buf());
    rt.block_on(rec.start(meta("write"))).unwrap();
    (dir, rec)
}

/// A 100k-item recording, written once, with the sum of its items' JSON sizes.
static BIG: LazyLock<(TempDir, PathBuf, u64, u64)> = LazyLock::new(|| {
    let dir = TempDir::new().unwrap();
    let rt = runtime();
    let items = items(BIG_ITEMS);
    let json_bytes: u64 = items.iter().map(|h| h.json().len() as u64).sum();
    let path = rt.block_on(async {
        let rec = JsonlRecorder::new(dir.path().to_path_buf());
        let path = rec.start(meta("read")).await.unwrap();
        record_all(&rec, &items).await;
        rec.shutdown().await.unwrap();
        path
    });
    let len = std::fs::metadata(&path).unwrap().len();
    (dir, path, len, json_bytes)
});

/// Read a 100k-item recording back (the reading half of resume).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn read_recording_100k_items(bencher: Bencher<'_, '_>) {
    let (_, path, len, _) = &*BIG;
    bencher
        .counter(BytesCount::new(*len))
        .bench_local(|| read_recording(path).unwrap().history.len());
}

/// Resume a 100k-item recording through the recorder (read, open for append, shut down).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn resume_100k_items(bencher: Bencher<'_, '_>) {
    let (dir, path, len, _) = &*BIG;
    let rt = runtime();
    bencher.counter(BytesCount::new(*len)).bench_local(|| {
        rt.block_on(async {
            let rec = JsonlRecorder::new(dir.path().to_path_buf());
            let resumed = rec.resume(path).await.unwrap();
            rec.shutdown().await.unwrap();
            resumed.history.len()
        })
    });
}

/// The JSON-mode figures.
fn report() {
    let rt = runtime();

    let (turn, turn_bytes) = &*TURN;
    let mut write = Vec::new();
    for _ in 0..harness::samples(10, 20) {
        let (dir, rec) = fresh_recorder(&rt);
        let started = Instant::now();
        rt.block_on(async {
            record_all(&rec, turn).await;
            rec.flush().await.unwrap();
        });
        write.push(started.elapsed().as_secs_f64());
        rt.block_on(rec.shutdown()).unwrap();
        drop(dir);
    }
    let size = format!("{} items", harness::short(TURN_ITEMS));
    Figure::rate(
        "recorder.write",
        size,
        Unit::BytesPerSecond,
        *turn_bytes as f64,
        &write,
    )
    .note(format!(
        "{:.1} MB of lines recorded in batches of {BATCH}, then flushed (not fsynced)",
        *turn_bytes as f64 / 1e6
    ))
    .emit();

    let (dir, path, len, json_bytes) = &*BIG;
    let size = format!("{} items", harness::short(BIG_ITEMS));
    let read = harness::time_with(
        harness::samples(7, 15),
        || (),
        |()| read_recording(path).unwrap(),
    );
    Figure::rate(
        "recorder.read",
        size.clone(),
        Unit::BytesPerSecond,
        *len as f64,
        &read,
    )
    .note(format!(
        "read_recording of a {:.1} MB file",
        *len as f64 / 1e6
    ))
    .emit();
    Figure::times("recorder.read.time", size.clone(), &read)
        .note("read_recording: parse every line, rebuild history")
        .emit();

    let mut resume = Vec::new();
    for _ in 0..harness::samples(7, 15) {
        let rec = JsonlRecorder::new(dir.path().to_path_buf());
        let started = Instant::now();
        let resumed = rt.block_on(rec.resume(path)).unwrap();
        resume.push(started.elapsed().as_secs_f64());
        rt.block_on(rec.shutdown()).unwrap();
        assert_eq!(resumed.history.len(), BIG_ITEMS);
    }
    Figure::times("recorder.resume", size.clone(), &resume)
        .note("JsonlRecorder::resume: read, cut any torn tail, reopen for append")
        .emit();

    let window = HeapWindow::open();
    let resumed = read_recording(path).unwrap();
    let heap = window.close();
    assert_eq!(resumed.history.len(), BIG_ITEMS);
    drop(resumed);
    Figure::value(
        "recorder.read.peak",
        size,
        Unit::Number,
        heap.peak as f64 / *json_bytes as f64,
    )
    .note(format!(
        "peak heap during read_recording {:.1} MB ÷ items' JSON {:.1} MB; {:.1} MB kept after \
         (peak ÷ kept = {:.3}): history holds each item as its JSON and a small header",
        heap.peak as f64 / 1e6,
        *json_bytes as f64 / 1e6,
        heap.net as f64 / 1e6,
        heap.peak as f64 / heap.net as f64
    ))
    .emit();
}
