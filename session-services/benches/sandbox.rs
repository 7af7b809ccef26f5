//! The cost of the kernel sandbox: spawning `true` through `ProcessShell` unconfined and
//! confined (`workspace-write`), interleaved run by run so both see the same machine, and the
//! median overhead per command.
//!
//! Run with `cargo bench -p session-services --bench sandbox` for divan's table;
//! `cargo xtask bench` runs it with `SESSION_BENCH_JSON=1` for the report. Numbers only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../session-state/benches/support/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use divan::Bencher;
use harness::{CountingAlloc, Figure, Unit};
use session_services::{ExecRequest, ExecSandbox, ProcessShell, Shell};
use session_state::{CancelToken, SandboxPolicy};
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

fn request(cwd: &Path, sandbox: ExecSandbox) -> ExecRequest {
    ExecRequest {
        argv: vec!["true".to_owned()],
        cwd: cwd.to_path_buf(),
        env: HashMap::new(),
        timeout: None,
        sandbox,
    }
}

fn confined(cwd: &Path) -> ExecSandbox {
    ExecSandbox::from_policy(
        &SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access: false,
            exclude_tmp: false,
        },
        cwd,
        &[],
    )
}

fn spawn(rt: &Runtime, shell: &ProcessShell, request: ExecRequest) -> f64 {
    let started = Instant::now();
    let out = rt
        .block_on(shell.run(request, None, CancelToken::new()))
        .unwrap();
    assert_eq!(out.exit_code, 0);
    started.elapsed().as_secs_f64()
}

#[divan::bench(args = ["none", "workspace-write"])]
fn spawn_true(bencher: Bencher, mode: &str) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let shell = ProcessShell::new();
    let sandbox = if mode == "none" {
        ExecSandbox::None
    } else {
        confined(dir.path())
    };
    bencher.bench_local(|| spawn(&rt, &shell, request(dir.path(), sandbox.clone())));
}

/// The JSON-mode figures.
fn report() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let shell = ProcessShell::new();
    let sandbox = confined(dir.path());
    // Warm up both paths (the sandbox probes the kernel once).
    spawn(&rt, &shell, request(dir.path(), ExecSandbox::None));
    spawn(&rt, &shell, request(dir.path(), sandbox.clone()));
    let runs = harness::samples(200, 1000);
    let mut plain = Vec::with_capacity(runs);
    let mut boxed = Vec::with_capacity(runs);
    let mut overhead = Vec::with_capacity(runs);
    for _ in 0..runs {
        let p = spawn(&rt, &shell, request(dir.path(), ExecSandbox::None));
        let b = spawn(&rt, &shell, request(dir.path(), sandbox.clone()));
        plain.push(p);
        boxed.push(b);
        overhead.push(b - p);
    }
    Figure::times("sandbox.spawn.none", "true", &plain)
        .note("ProcessShell::run of `true`, unconfined")
        .emit();
    Figure::times("sandbox.spawn.confined", "true", &boxed)
        .note("the same, confined: landlock + seccomp + user/mount/pid namespaces")
        .emit();
    Figure::values("sandbox.spawn.overhead", "true", Unit::Seconds, &overhead)
        .note(format!(
            "confined minus unconfined, pairwise over {runs} interleaved runs"
        ))
        .emit();
}
