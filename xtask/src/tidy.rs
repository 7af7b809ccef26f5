//! The tidy check: repository hygiene that the compiler and clippy do not see. Every `.rs` file
//! opens with a `//!` comment, no debugging leftovers or skipped tests, no pending insta
//! snapshots, no oversized files. It reports every problem with its location and never fixes
//! anything itself.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Files above this size do not belong in the repository.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Written with `concat!` so this file does not trip its own check.
const DBG: &str = concat!("dbg", "!(");
const IGNORE: &str = concat!("#[", "ignore");
const SHOULD_PANIC: &str = concat!("#[", "should_panic");

/// Left behind by `cargo insta` when a snapshot changed and was not reviewed.
const PENDING_SNAPSHOT_SUFFIXES: &[&str] = &[".snap.new", ".pending-snap"];

/// One tidy problem at a file and, where it applies, a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Path relative to the checked root.
    pub(crate) path: PathBuf,
    /// 1-based line, when the problem is on a line.
    pub(crate) line: Option<usize>,
    /// What is wrong.
    pub(crate) message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// Checks every file under `root`, skipping hidden directories and cargo target directories, and
/// returns all problems in path order.
///
/// # Errors
/// When a directory or file cannot be read.
pub(crate) fn check(root: &Path) -> Result<Vec<Problem>> {
    let mut files = Vec::new();
    collect_files(root, &mut files)?;
    files.sort();
    let mut problems = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.clone());
        let name = rel.to_string_lossy().into_owned();
        if PENDING_SNAPSHOT_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            problems.push(Problem {
                path: rel.clone(),
                line: None,
                message: "pending insta snapshot: review it with `cargo insta review`".to_owned(),
            });
        }
        let size = fs::metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        if size > MAX_FILE_BYTES {
            problems.push(Problem {
                path: rel.clone(),
                line: None,
                message: format!("file is {size} bytes, more than the 1 MiB limit"),
            });
        }
        if path.extension().is_some_and(|e| e == "rs") {
            let text =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            check_rust(&rel, &text, &mut problems);
        }
    }
    Ok(problems)
}

/// Runs the check on `root` and prints each problem on its own line.
///
/// # Errors
/// When the tree cannot be read or there is any problem.
pub(crate) fn run(root: &Path) -> Result<()> {
    let problems = check(root)?;
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        eprintln!("{problem}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

/// The rules for one Rust source file.
fn check_rust(path: &Path, text: &str, problems: &mut Vec<Problem>) {
    let mut problem = |line: usize, message: &str| {
        problems.push(Problem {
            path: path.to_path_buf(),
            line: Some(line),
            message: message.to_owned(),
        });
    };
    match text.lines().enumerate().find(|(_, l)| !l.trim().is_empty()) {
        Some((_, first)) if first.trim_start().starts_with("//!") => {}
        Some((index, _)) => {
            problem(
                index + 1,
                "the first line must be a `//!` comment saying why the module exists",
            );
        }
        None => problem(
            1,
            "empty file: it needs a `//!` comment saying why the module exists",
        ),
    }
    for (index, line) in text.lines().enumerate() {
        if line.contains(DBG) {
            problem(index + 1, "leftover dbg! call");
        }
        if has_attribute(line, IGNORE) {
            problem(index + 1, "ignored test: fix it or delete it");
        }
        if has_attribute(line, SHOULD_PANIC) {
            problem(index + 1, "should_panic test: assert on the Err instead");
        }
    }
}

/// Whether `line` has the attribute opened by `prefix` (`#[name`), with or without arguments.
fn has_attribute(line: &str, prefix: &str) -> bool {
    line.match_indices(prefix).any(|(at, _)| {
        let rest = &line[at + prefix.len()..];
        rest.trim_start().starts_with([']', '=', '('])
    })
}

/// Collects every file under `dir`, skipping hidden entries and cargo target directories.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", path.display()))?;
        if kind.is_dir() {
            if !is_target_dir(&path) {
                collect_files(&path, out)?;
            }
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Cargo build output: a `target` directory next to a manifest (the workspace's, `fuzz/`'s), or
/// any directory cargo tagged as a cache.
fn is_target_dir(dir: &Path) -> bool {
    let beside_manifest = dir.parent().is_some_and(|p| p.join("Cargo.toml").is_file());
    (dir.file_name().is_some_and(|n| n == "target") && beside_manifest)
        || dir.join("CACHEDIR.TAG").is_file()
}

#[cfg(test)]
mod tests;
