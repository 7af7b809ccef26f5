//! `cargo xtask`: the project's automation as plain Rust, so CI and a developer's machine run the
//! same checks with nothing to install beyond the toolchain. It holds no product code and depends
//! on nothing from the workspace.

mod bench;
mod ci;
mod layering;
mod metadata;
mod stress;
mod tidy;

use std::env;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::ci::Step;
pub(crate) use crate::ci::cargo;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci        fmt, clippy, layering, tidy, test and docs, stopping at the first failure
  lint      cargo fmt --check and cargo clippy -D warnings
  test      cargo test on the whole workspace
  docs      cargo doc with rustdoc warnings denied
  layering  check the crate layering of DESIGN.md
  tidy      check file headers, debugging leftovers, skipped tests, pending snapshots, file sizes
  bench     build in release, run every benchmark, write target/bench/report.{md,json}
            (quick sizes by default; `bench --full` adds the large ones)
  stress    the session's state-machine property test in release with many cases
            (`stress --cases N`, 10000 by default)";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    if let Some(("bench", rest)) = args.split_first().map(|(c, r)| (c.as_str(), r)) {
        return bench::run(&workspace_root()?, rest);
    }
    if let Some(("stress", rest)) = args.split_first().map(|(c, r)| (c.as_str(), r)) {
        return stress::run(&workspace_root()?, &stress::Options::parse(rest)?);
    }
    let [command] = args else {
        bail!("expected exactly one command\n\n{USAGE}");
    };
    let steps: &[Step] = match command.as_str() {
        "ci" => ci::CI,
        "lint" => &[Step::Fmt, Step::Clippy],
        "test" => &[Step::Test],
        "docs" => &[Step::Docs],
        "layering" => &[Step::Layering],
        "tidy" => &[Step::Tidy],
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            return Ok(());
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    };
    ci::run(&workspace_root()?, steps)
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}
