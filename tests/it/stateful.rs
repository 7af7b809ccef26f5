//! A property-based state-machine test of the session: random sequences of user operations
//! (input, approvals right and wrong, interrupts, compaction, context overrides, then shutdown)
//! against a scripted model whose responses are random too (text, reasoning, tool calls, delays,
//! usage, errors, disconnects), on the fake shell or, for a fraction of cases, real processes.
//! Every case checks every invariant of DESIGN.md on its events and recording, and that the
//! session left nothing behind.
//!
//! `PROPTEST_CASES` sets the number of cases (200 by default); `cargo xtask stress` runs many
//! more in release mode and reads the `stateful cases run: N` line this test prints.

mod check;
mod fake;
mod plan;
mod procs;
mod regressions;
mod run;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases run by a plain `cargo test`.
const DEFAULT_CASES: u32 = 200;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "panic without a message".to_owned()
    }
}

/// What the cases exercised, by event kind (and real process ids checked), for the summary.
type Tally = Mutex<BTreeMap<&'static str, usize>>;

fn tally(tally: &Tally, run: &run::Run) {
    let mut t = tally.lock().unwrap();
    for e in &run.events {
        *t.entry(e.msg.kind()).or_default() += 1;
    }
    *t.entry("(real process ids checked)").or_default() += run.pids.len();
}

/// Run one case and check it; a failure carries the event shape for the report.
fn run_and_check(case: &plan::Case, n: usize, seen: &Tally) -> Result<(), TestCaseError> {
    let marker = format!("stateful-case-{}-{n}", std::process::id());
    let run = run::run_case(case, &marker);
    tally(seen, &run);
    let checked = std::panic::catch_unwind(AssertUnwindSafe(|| check::check(case, &run)));
    let left = if case.real_shell {
        procs::wait_until_gone(&marker, &run.pids)
    } else {
        Vec::new()
    };
    let mut failures = Vec::new();
    if let Err(payload) = checked {
        failures.push(panic_message(payload.as_ref()));
    }
    if !left.is_empty() {
        failures.push(format!(
            "processes left behind after shutdown:\n{}",
            left.join("\n")
        ));
    }
    if failures.is_empty() {
        return Ok(());
    }
    Err(TestCaseError::fail(format!(
        "{}\n--- events ---\n{}\n--- submissions ---\n{:#?}",
        failures.join("\n"),
        crate::support::shape(&run.events),
        run.log
    )))
}

#[test]
fn random_operation_sequences_keep_every_design_invariant() {
    let config = Config {
        cases: cases(),
        // Failures are reported with their minimal case; nothing is written next to the sources.
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let runs = AtomicUsize::new(0);
    let seen = Tally::default();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&plan::case(), |case| {
        let n = runs.fetch_add(1, Ordering::Relaxed);
        run_and_check(&case, n, &seen)
    });
    println!("stateful events seen: {:?}", seen.lock().unwrap());
    println!("stateful cases run: {}", runs.load(Ordering::Relaxed));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_leak_scanner_sees_a_live_process_by_marker_and_by_group() {
    use std::os::unix::process::CommandExt;
    let marker = format!("stateful-scanner-check-{}", std::process::id());
    let mut child = std::process::Command::new("sh")
        .args(["-c", "sleep 30 & wait", &marker])
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    // Until the child has exec'd `sh`, /proc shows the test's own command line: poll.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while procs::leftovers(&marker, &[]).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!procs::leftovers(&marker, &[]).is_empty(), "by marker");
    // Wait for `sh` to have started its `sleep`, so the group has a member to orphan.
    while procs::leftovers("no-such-marker-anywhere", &[pid]).len() < 2
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Killing the leader alone leaves its `sleep` in the group: the scanner must still see it.
    child.kill().unwrap();
    child.wait().unwrap();
    // The killed leader is reaped at once, its `sleep` lives on in the group: poll for it too.
    let mut orphans = procs::leftovers("no-such-marker-anywhere", &[pid]);
    while orphans.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        orphans = procs::leftovers("no-such-marker-anywhere", &[pid]);
    }
    // SAFETY: kill(2) with a negative pid signals the process group; no memory is involved.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let left = procs::wait_until_gone(&marker, &[pid]);
    assert!(
        !orphans.is_empty(),
        "the orphaned group member was not seen"
    );
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        procs::reported_pids("x\npids 12 34\n pids 5\nno"),
        vec![12, 34, 5]
    );
}
