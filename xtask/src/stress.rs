//! `cargo xtask stress`: long randomized runs that are too slow for `cargo test`. Today it runs
//! the session's state-machine property test (`tests/it/stateful.rs`) in release mode with many
//! cases and reports how many ran. It only drives cargo and reads the test's output; the
//! properties themselves live in the test, never here.

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
usage: cargo xtask stress [--cases N] [--jobs J]

  --cases N  cases of the state-machine property test (default 10000)
  --jobs J   test processes sharing the cases (default: twice the CPUs, as the cases mostly wait)";

/// What `stress` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// Cases of the state-machine property test, over all jobs.
    pub(crate) cases: u64,
    /// Test processes run at once, each with its share of the cases (and its own random seed).
    pub(crate) jobs: u64,
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

/// One stress stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The state-machine property test with [`Options::cases`] cases.
    Stateful,
}

/// The stages `stress` runs, in order, stopping at the first failure.
///
/// This is where further long-running stages join: the crash-recovery kill loop (kill a session
/// process at random points and resume its recording) and the fuzzers each become a [`Stage`]
/// variant with its runner in [`run_stage`], and their knobs become fields of [`Options`].
const STAGES: &[Stage] = &[Stage::Stateful];

fn run_stage(stage: Stage, root: &Path, options: &Options) -> Result<()> {
    match stage {
        Stage::Stateful => stateful(root, options),
    }
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
