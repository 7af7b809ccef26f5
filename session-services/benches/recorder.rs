//! Throughput of the JSON Lines recorder: writing a long turn (10k realistic items, flushed)
//! and reading back a 100k-item recording (resume).
//!
//! Run with `cargo bench -p session-services --bench recorder`. Numbers only: no assertion
//! here may depend on speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use divan::Bencher;
use divan::counter::BytesCount;
use session_services::{JsonlRecorder, Recorder, RolloutItem, SessionMeta, read_recording};
use session_state::{HistoryItem, ReasoningSummaryPart, ResponseItem};
use tempfile::TempDir;
use tokio::runtime::Runtime;

fn main() {
    divan::main();
}

/// Items per `record` call, as a model response yields a few items at a time.
const BATCH: usize = 8;

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

/// A realistic mix: user and assistant messages, reasoning, shell calls with arguments, and
/// their outputs of about 1 KiB.
fn items(n: usize) -> Vec<Arc<HistoryItem>> {
    let output: String = (0..24)
        .map(|i| format!("drwxr-xr-x  5 user staff  160 Nov 25 18:54 dir-{i:03}/\t\"ok\"\n"))
        .collect();
    (0..n)
        .map(|i| {
            let call_id = format!("call_{:08}", i / 5);
            let item = match i % 5 {
                0 => ResponseItem::user_text(format!(
                    "Please look at src/module_{i}.rs and fix the failing test; keep the API as it is."
                )),
                1 => ResponseItem::Reasoning {
                    id: format!("rs_{i}"),
                    summary: vec![ReasoningSummaryPart::SummaryText {
                        text: "**Inspecting files** I should list the folder first, then read the test.".to_owned(),
                    }],
                    encrypted_content: None,
                },
                2 => ResponseItem::FunctionCall {
                    id: None,
                    name: "shell".to_owned(),
                    arguments: format!(
                        r#"{{"command":["bash","-lc","ls -la src/ && grep -rn \"fn test_{i}\" ."],"workdir":"/home/user/project","timeout_ms":10000}}"#
                    ),
                    call_id: call_id.clone(),
                },
                3 => ResponseItem::FunctionCallOutput {
                    call_id,
                    output: output.clone(),
                },
                _ => ResponseItem::assistant_text(
                    "I listed the folder and found the test. The failure comes from an off-by-one \
                     in the loop bound; I will change `<=` to `<` and run the tests again.",
                ),
            };
            Arc::new(HistoryItem::new(item))
        })
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
    let items = items(10_000);
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
        .with_inputs(|| {
            let dir = TempDir::new().unwrap();
            let rec = JsonlRecorder::new(dir.path().to_path_buf());
            rt.block_on(rec.start(meta("write"))).unwrap();
            (dir, rec)
        })
        .bench_local_values(|(dir, rec)| {
            rt.block_on(async {
                record_all(&rec, items).await;
                rec.flush().await.unwrap();
            });
            (dir, rec)
        });
}

/// A 100k-item recording, written once.
static BIG: LazyLock<(TempDir, PathBuf, u64)> = LazyLock::new(|| {
    let dir = TempDir::new().unwrap();
    let rt = runtime();
    let path = rt.block_on(async {
        let rec = JsonlRecorder::new(dir.path().to_path_buf());
        let path = rec.start(meta("read")).await.unwrap();
        record_all(&rec, &items(100_000)).await;
        rec.shutdown().await.unwrap();
        path
    });
    let len = std::fs::metadata(&path).unwrap().len();
    (dir, path, len)
});

/// Read a 100k-item recording back (the reading half of resume).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn read_recording_100k_items(bencher: Bencher<'_, '_>) {
    let (_, path, len) = &*BIG;
    bencher
        .counter(BytesCount::new(*len))
        .bench_local(|| read_recording(path).unwrap().history.len());
}

/// Resume a 100k-item recording through the recorder (read, open for append, shut down).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn resume_100k_items(bencher: Bencher<'_, '_>) {
    let (dir, path, len) = &*BIG;
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
