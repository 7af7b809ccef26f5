//! `cargo xtask bench`: runs every benchmark in release and writes `<target>/bench/report.md`
//! and `report.json` (figure, size, median, min, max, target, met).
//!
//! In-process figures come from the crates' bench binaries run with `SESSION_BENCH_JSON=1`
//! (one JSON object per figure on stdout; `cargo bench` alone shows divan's tables instead).
//! Whole-process figures run the release `session` binary against a loopback mock model.
//! A figure that cannot be measured becomes a "not measured: why" row, never a failure: this
//! command fails only when it cannot write its report. It must never assert a speed in tests.

mod interrupt;
mod mcp;
mod mock;
mod output;
mod process;
mod report;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use self::process::Binary;
use self::report::{Row, RunInfo};

/// How much to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The default: every target measured once at its size, few samples.
    Quick,
    /// `--full`: the large sizes too, more samples.
    Full,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }

    fn pick(self, quick: usize, full: usize) -> usize {
        match self {
            Mode::Quick => quick,
            Mode::Full => full,
        }
    }
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    /// How much to run.
    pub(crate) mode: Mode,
    /// Run only the groups whose name contains this (`--only recorder`).
    pub(crate) only: Option<String>,
}

impl Options {
    fn wants(&self, group: &str) -> bool {
        self.only.as_deref().is_none_or(|o| group.contains(o))
    }
}

/// The bench binaries, as (package, bench target).
const IN_PROCESS: &[(&str, &str)] = &[
    ("session-state", "protocol"),
    ("session-state", "request"),
    ("session-services", "recorder"),
    ("session-services", "sandbox"),
    ("session-core", "session"),
    ("session-acp", "acp"),
];

const USAGE: &str = "\
usage: cargo xtask bench [--full] [--only GROUP]

  --full        also the large sizes, and more samples
  --only GROUP  run only the groups whose name contains GROUP: protocol, request, recorder,
                sandbox, session (in-process), process (the release binary)";

/// Parses the arguments after `bench`; `None` when help was asked for.
pub(crate) fn parse_args(args: &[String]) -> Result<Option<Options>> {
    let mut options = Options {
        mode: Mode::Quick,
        only: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--full" => options.mode = Mode::Full,
            "--quick" => options.mode = Mode::Quick,
            "--only" => match args.next() {
                Some(group) => options.only = Some(group.clone()),
                None => bail!("--only needs a group name\n\n{USAGE}"),
            },
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown bench argument `{other}`\n\n{USAGE}"),
        }
    }
    Ok(Some(options))
}

/// Runs the benches and writes the report.
///
/// # Errors
/// Only when the arguments are wrong or the report cannot be written.
pub(crate) fn run(root: &Path, args: &[String]) -> Result<()> {
    let Some(options) = parse_args(args)? else {
        println!("{USAGE}");
        return Ok(());
    };
    let mode = options.mode;
    let started = Instant::now();
    let target = target_dir(root);
    let out_dir = target.join("bench");
    fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let mut rows = Vec::new();
    for &(package, bench) in IN_PROCESS.iter().filter(|(_, b)| options.wants(b)) {
        eprintln!("==> bench: {package} --bench {bench} ({})", mode.name());
        rows.extend(in_process(root, package, bench, mode));
    }
    if mode == Mode::Quick && options.wants("session") {
        for size in ["100k deltas", "1M deltas"] {
            rows.push(Row::not_measured(
                "session.throughput",
                size,
                "quick mode: run `cargo xtask bench --full`",
            ));
        }
    }
    if options.wants("process") {
        rows.extend(whole_process(root, &target, &out_dir, mode));
    }
    report::judge(&mut rows);

    let info = RunInfo {
        mode: mode.name(),
        only: options.only.clone(),
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        finished_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    };
    let markdown = report::markdown(&info, &rows);
    let md_path = out_dir.join("report.md");
    let json_path = out_dir.join("report.json");
    fs::write(&md_path, &markdown).with_context(|| format!("writing {}", md_path.display()))?;
    let json = serde_json::to_string_pretty(&report::json(&info, &rows))?;
    fs::write(&json_path, json).with_context(|| format!("writing {}", json_path.display()))?;
    println!("{markdown}");
    let missed = rows.iter().filter(|r| r.met == Some(false)).count();
    eprintln!(
        "==> bench: wrote {} and {} in {:.0}s ({missed} target(s) missed)",
        md_path.display(),
        json_path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the workspace) or `target/`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// Runs one bench binary in JSON mode and reads its figures.
fn in_process(root: &Path, package: &str, bench: &str, mode: Mode) -> Vec<Row> {
    let mut command = Command::new(crate::cargo());
    command
        .args(["bench", "-p", package, "--bench", bench])
        .env("SESSION_BENCH_JSON", "1")
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if mode == Mode::Full {
        command.env("SESSION_BENCH_FULL", "1");
    }
    let id = format!("{package}/{bench}");
    let output = match command.output() {
        Ok(o) => o,
        Err(e) => {
            return vec![Row::not_measured(
                &id,
                "",
                format!("cannot start cargo: {e}"),
            )];
        }
    };
    let (mut rows, bad) = parse_figures(&String::from_utf8_lossy(&output.stdout));
    if !output.status.success() {
        rows.push(Row::not_measured(
            &id,
            "",
            format!("`cargo bench -p {package} --bench {bench}` exited with {}; figures after the failure are missing", output.status),
        ));
    } else if rows.is_empty() {
        rows.push(Row::not_measured(&id, "", "the bench printed no figure"));
    }
    if let Some(line) = bad {
        rows.push(Row::not_measured(
            &id,
            "",
            format!("unreadable figure line: {line}"),
        ));
    }
    rows
}

/// The figure lines of a bench binary's stdout (JSON objects, one a line); other lines are
/// ignored. Also returns the first line that looked like a figure but did not parse.
pub(crate) fn parse_figures(stdout: &str) -> (Vec<Row>, Option<String>) {
    let mut rows = Vec::new();
    let mut bad = None;
    for line in stdout.lines().map(str::trim).filter(|l| l.starts_with('{')) {
        match serde_json::from_str::<Row>(line) {
            Ok(row) => rows.push(row),
            Err(_) if bad.is_none() => bad = Some(line.chars().take(200).collect()),
            Err(_) => {}
        }
    }
    (rows, bad)
}

/// Builds the release binary and runs the whole-process figures.
fn whole_process(root: &Path, target: &Path, out_dir: &Path, mode: Mode) -> Vec<Row> {
    let ids = [
        ("exec.wall", "100k deltas"),
        ("exec.rss", "100k deltas"),
        ("startup.wall", "one-word reply"),
        ("startup.rss", "one-word reply"),
        ("interrupt.latency", "proto"),
        ("tools.wall.none", "20 calls"),
        ("tools.wall.confined", "20 calls"),
        ("output.rss.delta", "1 GB − 1 MB output"),
        ("mcp.configured", "3 servers"),
        ("mcp.ready", "3 servers"),
        ("mcp.call.overhead", "per call"),
    ];
    let none = |reason: &str| -> Vec<Row> {
        ids.iter()
            .map(|(id, size)| Row::not_measured(id, size, reason))
            .collect()
    };
    eprintln!("==> bench: cargo build --release -p session-cli");
    let built = Command::new(crate::cargo())
        .args(["build", "--release", "-p", "session-cli"])
        .current_dir(root)
        .status();
    match built {
        Ok(s) if s.success() => {}
        Ok(s) => {
            return none(&format!(
                "`cargo build --release -p session-cli` exited with {s}"
            ));
        }
        Err(e) => return none(&format!("cannot start cargo: {e}")),
    }
    let scratch = out_dir.join("scratch");
    drop(fs::remove_dir_all(&scratch));
    if let Err(e) = fs::create_dir_all(&scratch) {
        return none(&format!("cannot create {}: {e}", scratch.display()));
    }
    let binary = Binary {
        path: target.join("release").join("session"),
        scratch: scratch.clone(),
    };
    eprintln!("==> bench: whole process ({})", binary.path.display());
    let rows = match process::probe(&binary) {
        Err(e) => none(&format!("session exec against the mock: {e:#}")),
        Ok(()) => {
            let mut rows = Vec::new();
            let runs = mode.pick(5, 10);
            for (deltas, size) in [
                (1_000, "1k deltas"),
                (10_000, "10k deltas"),
                (100_000, "100k deltas"),
            ] {
                eprintln!("==> bench: exec, {size}");
                rows.extend(process::exec_rows(&binary, deltas, size, runs));
            }
            eprintln!("==> bench: exec, one-word reply");
            rows.extend(process::startup_rows(&binary, mode.pick(10, 20)));
            eprintln!("==> bench: 20 tool calls, unconfined and sandboxed");
            rows.extend(process::tool_rows(&binary, mode.pick(5, 15)));
            eprintln!("==> bench: exec printing 1 MB and 1 GB, peak RSS");
            rows.extend(output::rows(&binary, mode.pick(3, 5)));
            eprintln!("==> bench: interrupt latency");
            rows.extend(interrupt::rows(&binary, mode.pick(50, 200)));
            eprintln!("==> bench: 3 MCP servers: start, ready, call overhead");
            rows.extend(mcp::rows(&binary, root, target, mode.pick(3, 5)));
            rows
        }
    };
    drop(fs::remove_dir_all(&scratch));
    rows
}

#[cfg(test)]
mod tests;
