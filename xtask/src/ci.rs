//! The steps `cargo xtask` runs and the runner that sequences them: each step is announced on
//! stderr with its duration, and the first failure stops the run with the step's name. Steps
//! shell out to cargo or call the in-process checks; this module adds no checks of its own.

use std::env;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{layering, tidy};

/// One step of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// `cargo fmt --all -- --check`.
    Fmt,
    /// `cargo clippy` on every target and feature, warnings denied.
    Clippy,
    /// The crate-layering check.
    Layering,
    /// The repository hygiene check.
    Tidy,
    /// `cargo test` on the whole workspace.
    Test,
    /// The example programs built on `session-core` alone, run (their tests run with `Test`).
    Examples,
    /// `cargo doc` with rustdoc warnings denied.
    Docs,
}

/// The order `cargo xtask ci` runs: cheapest and most likely to fail first.
pub(crate) const CI: &[Step] = &[
    Step::Fmt,
    Step::Clippy,
    Step::Layering,
    Step::Tidy,
    Step::Test,
    Step::Examples,
    Step::Docs,
];

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Fmt => "fmt",
            Step::Clippy => "clippy",
            Step::Layering => "layering",
            Step::Tidy => "tidy",
            Step::Test => "test",
            Step::Examples => "examples",
            Step::Docs => "docs",
        }
    }

    /// The cargo arguments of a step that shells out, `None` for in-process checks.
    fn cargo_args(self) -> Option<&'static [&'static str]> {
        match self {
            Step::Fmt => Some(&["fmt", "--all", "--", "--check"]),
            Step::Clippy => Some(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]),
            Step::Test => Some(&["test", "--workspace", "--all-features"]),
            Step::Examples => Some(&[
                "run",
                "--quiet",
                "-p",
                "session-examples",
                "--bin",
                "custom-model",
            ]),
            Step::Docs => Some(&["doc", "--workspace", "--no-deps", "--all-features"]),
            Step::Layering | Step::Tidy => None,
        }
    }

    fn describe(self) -> String {
        match self.cargo_args() {
            Some(args) => format!("cargo {}", args.join(" ")),
            None => format!("{} check", self.name()),
        }
    }

    fn run(self, root: &Path) -> Result<()> {
        let Some(args) = self.cargo_args() else {
            return match self {
                Step::Layering => layering::run(root),
                _ => tidy::run(root),
            };
        };
        let mut command = Command::new(crate::cargo());
        command.args(args).current_dir(root);
        match self {
            // On CI a missing or changed snapshot must fail, never be written as pending; CI=true
            // itself is inherited so insta sees it too.
            Step::Test if env::var_os("CI").is_some_and(|v| !v.is_empty()) => {
                command.env("INSTA_UPDATE", "no");
            }
            Step::Docs => {
                let mut flags = env::var_os("RUSTDOCFLAGS").unwrap_or_default();
                if !flags.is_empty() {
                    flags.push(" ");
                }
                flags.push("-D warnings");
                command.env("RUSTDOCFLAGS", flags);
            }
            _ => {}
        }
        let status = command
            .status()
            .with_context(|| format!("starting `{}`", self.describe()))?;
        if !status.success() {
            bail!("`{}` exited with {status}", self.describe());
        }
        Ok(())
    }
}

/// Runs `steps` in order in the workspace at `root`, stopping at the first failure.
///
/// # Errors
/// Names the failing step and why it failed.
pub(crate) fn run(root: &Path, steps: &[Step]) -> Result<()> {
    let started = Instant::now();
    for &step in steps {
        eprintln!("==> {}: {}", step.name(), step.describe());
        let step_started = Instant::now();
        let result = step.run(root);
        let took = step_started.elapsed().as_secs_f64();
        match result {
            Ok(()) => eprintln!("==> {}: ok in {took:.1}s", step.name()),
            Err(error) => {
                eprintln!("==> {}: FAILED in {took:.1}s", step.name());
                return Err(error.context(format!("step `{}` failed", step.name())));
            }
        }
    }
    if steps.len() > 1 {
        eprintln!(
            "==> all {} steps ok in {:.1}s",
            steps.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The cargo that launched us (`cargo xtask` sets `CARGO`), falling back to the one on `PATH`.
pub(crate) fn cargo() -> OsString {
    env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}
