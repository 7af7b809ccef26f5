//! `cargo xtask stress`: long randomized runs that are too slow for `cargo test`: the session's
//! state-machine property test (`tests/it/stateful.rs`) with many cases, the crash-recovery kill
//! loop (`session-cli/tests/cli/crash.rs`) with many kills, and the cargo-fuzz targets of
//! `tests/fuzz` for a while each. It only drives cargo and reads the tests' output; the
//! properties themselves live in the tests, never here.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Cases of the state-machine test when `--cases` is not given.
pub(crate) const DEFAULT_CASES: u64 = 10_000;

/// The line the state-machine test prints at its end, followed by the number of cases run.
const CASES_LINE: &str = "stateful cases run: ";

/// The test that `stress` runs, as a filter for the `it` test binary.
const STATEFUL_TEST: &str = "stateful::random_operation_sequences_keep_every_design_invariant";

/// Usage of the `stress` command.
pub(crate) const USAGE: &str = "\
usage: cargo xtask stress [--cases N] [--jobs J] [--kills K] [--fuzz-seconds S]

  --cases N         cases of the state-machine property test (default 10000)
  --jobs J          test processes sharing the cases (default: twice the CPUs, as the cases mostly wait)
  --kills K         SIGKILLs of `session exec` in the crash-recovery loop (default 60)
  --fuzz-seconds S  seconds per fuzz target (default 60); fuzzing needs `cargo install cargo-fuzz`
                    and is skipped, saying so, when it is missing";

/// What `stress` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Cases of the state-machine property test, over all jobs.
    pub(crate) cases: u64,
    /// Test processes run at once, each with its share of the cases (and its own random seed).
    pub(crate) jobs: u64,
    /// Kills of the crash-recovery loop.
    pub(crate) kills: u64,
    /// Seconds each fuzz target runs.
    pub(crate) fuzz_seconds: u64,
}

fn default_jobs() -> u64 {
    std::thread::available_parallelism().map_or(2, |n| 2 * n.get() as u64)
}

impl Options {
    /// Parse the arguments after `stress`.
    ///
    /// # Errors
    /// On an unknown flag, a missing value, or a count that is not a positive number.
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Options {
            cases: DEFAULT_CASES,
            jobs: default_jobs(),
            kills: DEFAULT_KILLS,
            fuzz_seconds: DEFAULT_FUZZ_SECONDS,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value)),
                None => (arg.as_str(), None),
            };
            let slot = match flag {
                "--cases" => &mut options.cases,
                "--jobs" => &mut options.jobs,
                "--kills" => &mut options.kills,
                "--fuzz-seconds" => &mut options.fuzz_seconds,
                _ => bail!("unknown argument `{arg}`\n\n{USAGE}"),
            };
            let value = match inline {
                Some(v) => v,
                None => args
                    .next()
                    .with_context(|| format!("{flag} needs a number\n\n{USAGE}"))?,
            };
            *slot = match value.parse() {
                Ok(n) if n > 0 => n,
                _ => bail!("{flag} needs a positive number, not `{value}`\n\n{USAGE}"),
            };
        }
        Ok(options)
    }
}

/// Kills of the crash-recovery loop when `--kills` is not given.
pub(crate) const DEFAULT_KILLS: u64 = 60;

/// Seconds per fuzz target when `--fuzz-seconds` is not given.
pub(crate) const DEFAULT_FUZZ_SECONDS: u64 = 60;

/// One stress stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The state-machine property test with [`Options::cases`] cases.
    Stateful,
    /// `session exec` killed [`Options::kills`] times; every recording must resume.
    Crash,
    /// Each cargo-fuzz target for [`Options::fuzz_seconds`].
    Fuzz,
}

/// The stages `stress` runs, in order, stopping at the first failure.
const STAGES: &[Stage] = &[Stage::Stateful, Stage::Crash, Stage::Fuzz];

fn run_stage(stage: Stage, root: &Path, options: &Options) -> Result<()> {
    match stage {
        Stage::Stateful => stateful(root, options),
        Stage::Crash => crash(root, options),
        Stage::Fuzz => fuzz(root, options),
    }
}

/// The crash-recovery test, and the line it ends with.
const CRASH_TEST: &str =
    "crash::killed_sessions_leave_recordings_that_resume_in_place_without_loss_or_duplicates";
const CRASH_LINE: &str = "kills: ";

/// The crash-recovery kill loop in release mode with `--kills` kills; echoes its counts.
fn crash(root: &Path, options: &Options) -> Result<()> {
    let output = Command::new(crate::cargo())
        .args([
            "test",
            "--release",
            "-p",
            "session-cli",
            "--test",
            "cli",
            "--",
            CRASH_TEST,
            "--exact",
            "--nocapture",
        ])
        .env("SESSION_CRASH_KILLS", options.kills.to_string())
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("starting the crash-recovery test")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    if !output.status.success() {
        bail!("the crash-recovery test failed ({})", output.status);
    }
    let counts = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(CRASH_LINE))
        .context("the crash-recovery test did not report its counts")?;
    println!("stress: crash recovery: {}", counts.trim());
    Ok(())
}

/// The fuzz targets of `tests/fuzz`.
const FUZZ_TARGETS: &[&str] = &["proto", "recording", "sse", "patch"];

/// Each fuzz target for `--fuzz-seconds`, on the stable toolchain (`RUSTC_BOOTSTRAP=1`, no
/// sanitizer); reports the executions libFuzzer counted.
fn fuzz(root: &Path, options: &Options) -> Result<()> {
    let available = Command::new(crate::cargo())
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        println!(
            "stress: fuzzing not run: cargo-fuzz is not installed (`cargo install cargo-fuzz`)"
        );
        return Ok(());
    }
    let dir = root.join("tests").join("fuzz");
    let mut total = 0u64;
    for target in FUZZ_TARGETS {
        let output = Command::new(crate::cargo())
            .args([
                "fuzz",
                "run",
                "--fuzz-dir",
                ".",
                "--sanitizer",
                "none",
                target,
                "--",
            ])
            .arg(format!("-max_total_time={}", options.fuzz_seconds))
            .env("RUSTC_BOOTSTRAP", "1")
            .current_dir(&dir)
            .output()
            .with_context(|| format!("starting the fuzz target {target}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            eprintln!("{log}");
            bail!(
                "fuzz target {target} failed ({}): see the crash above",
                output.status
            );
        }
        let runs = fuzz_runs(&log).unwrap_or(0);
        total += runs;
        println!("stress: fuzz {target}: {runs} executions, no failure");
    }
    println!("stress: fuzz total: {total} executions");
    Ok(())
}

/// The execution count of libFuzzer's closing `Done N runs in S second(s)` line.
pub(crate) fn fuzz_runs(log: &str) -> Option<u64> {
    log.lines().rev().find_map(|l| {
        l.trim()
            .strip_prefix("Done ")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// Run every stage in order.
///
/// # Errors
/// Names the stage that failed and why.
pub(crate) fn run(root: &Path, options: &Options) -> Result<()> {
    for &stage in STAGES {
        let started = Instant::now();
        eprintln!("==> stress {stage:?}");
        run_stage(stage, root, options)
            .with_context(|| format!("stress stage {stage:?} failed"))?;
        eprintln!(
            "==> stress {stage:?}: ok in {:.1}s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The number in a `stateful cases run: N` line.
pub(crate) fn cases_run(line: &str) -> Option<u64> {
    line.trim().strip_prefix(CASES_LINE)?.trim().parse().ok()
}

/// `cases` split into at most `jobs` positive shares.
pub(crate) fn shares(cases: u64, jobs: u64) -> Vec<u64> {
    let jobs = jobs.clamp(1, cases.max(1));
    (0..jobs)
        .map(|i| cases / jobs + u64::from(i < cases % jobs))
        .collect()
}

/// The test executable named `it` in one line of cargo's JSON messages.
pub(crate) fn it_executable(line: &str) -> Option<PathBuf> {
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" || message["target"]["name"] != "it" {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}

/// Build the `it` test binary in release mode; returns its path.
fn build_it(root: &Path) -> Result<PathBuf> {
    let output = Command::new(crate::cargo())
        .args([
            "test",
            "--release",
            "-p",
            "session-tests",
            "--test",
            "it",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("starting `cargo test --no-run`")?;
    if !output.status.success() {
        bail!("building the integration tests failed ({})", output.status);
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(it_executable)
        .context("cargo did not name the `it` test executable")
}

/// The state-machine test in release mode, split over jobs whose output is passed through;
/// checks that all the cases asked for ran.
fn stateful(root: &Path, options: &Options) -> Result<()> {
    let binary = build_it(root)?;
    let mut running = Vec::new();
    for (job, share) in shares(options.cases, options.jobs).into_iter().enumerate() {
        let mut child = Command::new(&binary)
            .args([STATEFUL_TEST, "--exact", "--nocapture"])
            .env("PROPTEST_CASES", share.to_string())
            // Where cargo runs an integration test from.
            .current_dir(root.join("tests"))
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the test's output is not readable")?;
        let reader = std::thread::spawn(move || {
            let mut ran = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("[job {job}] {line}");
                if let Some(n) = cases_run(&line) {
                    ran = Some(n);
                }
            }
            ran
        });
        running.push((job, share, child, reader));
    }
    let mut total = 0;
    let mut failed = Vec::new();
    for (job, share, mut child, reader) in running {
        let status = child.wait().context("waiting for a test process")?;
        let ran = reader.join().ok().flatten();
        match ran {
            Some(n) if status.success() && n >= share => total += n,
            _ => failed.push(format!(
                "job {job} ({status}, cases run: {ran:?} of {share})"
            )),
        }
    }
    println!("stress: stateful cases run: {total}");
    if !failed.is_empty() {
        bail!("the state-machine test failed: {}", failed.join("; "));
    }
    if total < options.cases {
        bail!(
            "the state-machine test ran {total} cases, fewer than the {} asked for",
            options.cases
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
