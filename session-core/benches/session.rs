//! Benches of the `Session` façade: event throughput of a streamed reply with the JSONL
//! recorder on, proof that history items keep one JSON rendering over a session's life, and
//! the memory of idle sessions.
//!
//! `cargo bench -p session-core --bench session` shows divan's table; `cargo xtask bench` runs
//! it with `SESSION_BENCH_JSON=1` for the report. Numbers only: nothing here asserts a speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../session-state/benches/support/harness.rs"]
mod harness;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use divan::Bencher;
use divan::counter::ItemsCount;
use harness::{CountingAlloc, Figure, HeapWindow, Unit};
use session_core::services::{
    JsonlRecorder, MemoryRecorder, ScriptedModel, ScriptedResponse, SessionServices,
};
use session_core::{EventMsg, Session, SessionConfig};
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

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Read events until the turn ends; returns how many text deltas came.
async fn read_turn(session: &mut Session) -> usize {
    let mut deltas = 0;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(120), session.next_event())
            .await
            .expect("no event for 120 s")
            .expect("session ended mid-turn");
        match event.msg {
            EventMsg::AgentMessageDelta { .. } => deltas += 1,
            EventMsg::TaskComplete { .. } => return deltas,
            EventMsg::TurnAborted { .. } | EventMsg::Error { .. } => {
                panic!("turn failed: {:?}", event.msg)
            }
            _ => {}
        }
    }
}

async fn shut_down(mut session: Session) {
    session.shutdown().await.unwrap();
    while session.next_event().await.is_some() {}
}

/// One turn streaming `n` text deltas through a session recording to `home`; returns the
/// seconds from `user_input` to `task_complete`, read by a consumer that reads every event.
async fn stream_turn(n: usize, home: &Path) -> f64 {
    let text = "tok ".repeat(n);
    let model = Arc::new(ScriptedModel::new([ScriptedResponse::new().text(text, n)]));
    let services = SessionServices::builder(model)
        .recorder(Arc::new(JsonlRecorder::new(home.to_path_buf())))
        .build();
    let mut session = Session::spawn(SessionConfig::new("bench", home), services)
        .await
        .unwrap();
    let first = session.next_event().await.unwrap();
    assert!(matches!(first.msg, EventMsg::SessionConfigured { .. }));
    let started = Instant::now();
    session.user_input("stream please").await.unwrap();
    let deltas = read_turn(&mut session).await;
    let took = started.elapsed().as_secs_f64();
    assert_eq!(deltas, n, "every delta must reach the consumer");
    shut_down(session).await;
    took
}

#[divan::bench(args = [10_000, 100_000], sample_count = 10, sample_size = 1)]
fn stream_deltas_recorder_on(bencher: Bencher<'_, '_>, n: usize) {
    let rt = runtime();
    bencher
        .counter(ItemsCount::new(n))
        .with_inputs(|| TempDir::new().unwrap())
        .bench_local_values(|dir| {
            rt.block_on(stream_turn(n, dir.path()));
            dir
        });
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn spawn_1000_idle_sessions(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    bencher.bench_local(|| {
        rt.block_on(async {
            let sessions = spawn_idle(1000).await;
            for s in sessions {
                shut_down(s).await;
            }
        })
    });
}

/// `n` sessions with a scripted model and the in-memory recorder, each past its
/// `session_configured`.
async fn spawn_idle(n: usize) -> Vec<Session> {
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        let services = SessionServices::builder(Arc::new(ScriptedModel::new([])))
            .recorder(Arc::new(MemoryRecorder::new()))
            .build();
        let mut session = Session::spawn(SessionConfig::new("bench", "/tmp"), services)
            .await
            .unwrap();
        session.next_event().await.unwrap();
        sessions.push(session);
    }
    sessions
}

/// Runs `turns` turns and checks, across every request the model received, that each history
/// item was handed over with the JSON rendered when it was appended.
///
/// The model keeps every request, so every snapshot stays alive and no address can be reused:
/// an item whose JSON was rendered again for a later request would show a new address at its
/// position. Returns (re-renderings found, item appearances, distinct items, requests).
async fn json_renderings(turns: usize) -> (usize, usize, usize, usize) {
    let responses = (0..turns)
        .map(|t| ScriptedResponse::new().text(format!("answer number {t} in a few words"), 4));
    let model = Arc::new(ScriptedModel::new(responses));
    let services = SessionServices::builder(model.clone())
        .recorder(Arc::new(MemoryRecorder::new()))
        .build();
    let mut session = Session::spawn(SessionConfig::new("bench", "/tmp"), services)
        .await
        .unwrap();
    session.next_event().await.unwrap();
    for t in 0..turns {
        session.user_input(format!("question {t}")).await.unwrap();
        read_turn(&mut session).await;
    }
    shut_down(session).await;
    let requests = model.requests();
    let mut first_seen: Vec<usize> = Vec::new();
    let (mut rerendered, mut appearances) = (0, 0);
    for request in &requests {
        for (at, item) in request.input.items().iter().enumerate() {
            appearances += 1;
            let address = item.json().as_ptr() as usize;
            match first_seen.get(at) {
                Some(&first) if first != address => rerendered += 1,
                Some(_) => {}
                None => first_seen.push(address),
            }
        }
    }
    (rerendered, appearances, first_seen.len(), requests.len())
}

/// The JSON-mode figures.
fn report() {
    let rt = runtime();

    let sizes: &[usize] = if harness::full_mode() {
        &[10_000, 100_000, 1_000_000]
    } else {
        &[10_000]
    };
    for &n in sizes {
        let samples = if n >= 1_000_000 {
            3
        } else {
            harness::samples(7, 10)
        };
        // Each sample times itself from `user_input` to `task_complete`; session start and
        // shutdown stay outside.
        let measured: Vec<f64> = (0..samples)
            .map(|_| {
                let dir = TempDir::new().unwrap();
                rt.block_on(stream_turn(n, dir.path()))
            })
            .collect();
        Figure::rate(
            "session.throughput",
            format!("{} deltas", harness::short(n)),
            Unit::PerSecond("deltas/s"),
            n as f64,
            &measured,
        )
        .note("ScriptedModel → Session → consumer reading every event; JSONL recorder on a temp dir; user_input to task_complete")
        .emit();
    }

    let (rerendered, appearances, items, requests) = rt.block_on(json_renderings(50));
    Figure::value(
        "session.json_rerendered",
        format!("{requests} requests"),
        Unit::Number,
        rerendered as f64,
    )
    .note(format!(
        "item JSON re-rendered between requests: {rerendered} of {appearances} item appearances \
         ({items} items); each appearance shares the allocation made at append"
    ))
    .emit();

    let n = 1000;
    let rss_before = harness::rss_bytes();
    let window = HeapWindow::open();
    let sessions = rt.block_on(async {
        let sessions = spawn_idle(n).await;
        // Let every submission loop reach its first wait.
        tokio::time::sleep(Duration::from_millis(100)).await;
        sessions
    });
    let heap = window.close();
    let rss_after = harness::rss_bytes();
    let rss_note = match (rss_before, rss_after) {
        (Some(b), Some(a)) => format!(
            "; RSS grew {:.1} KiB per session",
            (a as f64 - b as f64) / n as f64 / 1024.0
        ),
        _ => String::new(),
    };
    Figure::value(
        "session.idle_bytes",
        format!("{} sessions", harness::short(n)),
        Unit::Bytes,
        heap.net as f64 / n as f64,
    )
    .note(format!(
        "heap bytes live per idle session (ScriptedModel + MemoryRecorder, past session_configured){rss_note}"
    ))
    .emit();
    rt.block_on(async {
        for s in sessions {
            shut_down(s).await;
        }
    });
}
