//! The source half of the layering check: `session-state` must not reach for `std::fs`,
//! `std::net` or `std::process`, and library crates must not print. It scans tokens, not a
//! syntax tree, so it stays dependency-free; it must catch grouped imports
//! (`use std::{fs, io}`) and absolute paths (`::std::fs`) without flagging comments.

use std::ffi::OsStr;
use std::fs;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

use super::{Rule, STATE, Violation};
use crate::metadata::Metadata;

/// The source files the layering check reads, tagged with their crate.
#[derive(Debug, Default)]
pub(crate) struct SourceView {
    /// Every file of every scanned crate.
    pub(crate) files: Vec<SourceFile>,
}

/// One Rust source file of a workspace crate.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Name of the crate that owns the file.
    pub(crate) crate_name: String,
    /// Path relative to the workspace root, e.g. `session-state/src/lib.rs`.
    pub(crate) path: PathBuf,
    /// The file's contents.
    pub(crate) text: String,
}

impl SourceView {
    /// Reads every `.rs` file under `src/` of each workspace member named in `crates`.
    ///
    /// # Errors
    /// When a directory or file cannot be read.
    pub(crate) fn load(root: &Path, metadata: &Metadata, crates: &[&str]) -> Result<SourceView> {
        let mut files = Vec::new();
        for package in metadata
            .members()
            .filter(|p| crates.contains(&p.name.as_str()))
        {
            let Some(dir) = package.manifest_path.parent() else {
                continue;
            };
            let mut paths = Vec::new();
            collect_rs(&dir.join("src"), &mut paths)?;
            paths.sort();
            for path in paths {
                let text = fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let path = path
                    .strip_prefix(root)
                    .map(Path::to_path_buf)
                    .unwrap_or(path);
                files.push(SourceFile {
                    crate_name: package.name.clone(),
                    path,
                    text,
                });
            }
        }
        Ok(SourceView { files })
    }
}

#[cfg(test)]
impl SourceView {
    /// A view of in-memory files, each `(crate name, path, text)`.
    pub(crate) fn of(files: &[(&str, &str, &str)]) -> SourceView {
        let files = files
            .iter()
            .map(|(crate_name, path, text)| SourceFile {
                crate_name: (*crate_name).to_owned(),
                path: PathBuf::from(path),
                text: (*text).to_owned(),
            })
            .collect();
        SourceView { files }
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("listing {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_rs(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The std modules that do I/O.
const STD_IO_MODULES: &[&str] = &["fs", "net", "process"];

/// The macros that write to the terminal.
const PRINT_MACROS: &[&str] = &["println", "eprintln", "print", "eprint"];

/// Applies the source rules to every file in `sources`.
pub(super) fn check(sources: &SourceView, out: &mut Vec<Violation>) {
    for file in &sources.files {
        let library = super::LIBRARIES.contains(&file.crate_name.as_str());
        if file.crate_name == STATE {
            for (line, module) in std_io_uses(&file.text) {
                out.push(Violation {
                    rule: Rule::StdIo,
                    subject: format!("{}:{line}", file.path.display()),
                    message: format!(
                        "session-state must not use std::{module}: it holds pure data, no I/O"
                    ),
                });
            }
        }
        if library && !is_test_file(&file.path) {
            for (line, mac) in print_calls(&file.text) {
                out.push(Violation {
                    rule: Rule::Print,
                    subject: format!("{}:{line}", file.path.display()),
                    message: format!(
                        "{} must not use {mac}!: library crates never print",
                        file.crate_name
                    ),
                });
            }
        }
    }
}

/// Test-only files: `tests.rs` siblings and anything under a `tests/` directory inside `src/`
/// (directories above `src/` do not count, so a checkout under `~/tests/` is still scanned).
fn is_test_file(path: &Path) -> bool {
    let dirs: Vec<&OsStr> = path
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    let inside_src = dirs
        .iter()
        .position(|d| *d == "src")
        .map_or(&dirs[..], |i| &dirs[i + 1..]);
    path.file_name().is_some_and(|n| n == "tests.rs") || inside_src.iter().any(|d| *d == "tests")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Ident(&'a str),
    PathSep,
    Open,
    Close,
    Bang,
    Other,
}

/// Splits `text` into tokens with their 1-based line numbers, skipping lines that are comments.
/// With `stop_at_cfg_test`, everything from the first `#[cfg(test)]` line on is dropped.
fn tokens(text: &str, stop_at_cfg_test: bool) -> Vec<(usize, Tok<'_>)> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if stop_at_cfg_test && trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let number = index + 1;
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() || b == b'_' {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push((number, Tok::Ident(&line[start..i])));
                continue;
            }
            let tok = match b {
                b':' if bytes.get(i + 1) == Some(&b':') => {
                    i += 1;
                    Tok::PathSep
                }
                b'{' => Tok::Open,
                b'}' => Tok::Close,
                b'!' => Tok::Bang,
                b if b.is_ascii_whitespace() => {
                    i += 1;
                    continue;
                }
                _ => Tok::Other,
            };
            out.push((number, tok));
            i += 1;
        }
    }
    out
}

/// Every use of an I/O module of std in `text`, as (line, module).
fn std_io_uses(text: &str) -> Vec<(usize, &'static str)> {
    let toks = tokens(text, false);
    let mut found = Vec::new();
    for i in 0..toks.len() {
        if toks[i].1 != Tok::Ident("std") {
            continue;
        }
        // `foo::std::fs` is some other crate's `std`; `::std::fs` and `std::fs` are ours.
        let qualified =
            i >= 2 && toks[i - 1].1 == Tok::PathSep && matches!(toks[i - 2].1, Tok::Ident(_));
        if qualified || toks.get(i + 1).map(|t| t.1) != Some(Tok::PathSep) {
            continue;
        }
        let mut idents = Vec::new();
        collect_use_tree(&toks, i + 2, &mut idents);
        for (line, ident) in idents {
            if let Some(module) = STD_IO_MODULES.iter().find(|m| **m == ident) {
                found.push((line, *module));
            }
        }
    }
    found
}

/// Collects the identifiers of the path or use tree starting at `toks[at]`:
/// `a::b::c`, or every identifier inside a `{ … }` group, however nested.
fn collect_use_tree<'a>(
    toks: &[(usize, Tok<'a>)],
    mut at: usize,
    idents: &mut Vec<(usize, &'a str)>,
) {
    while let Some(&(line, tok)) = toks.get(at) {
        match tok {
            Tok::Ident(name) => {
                idents.push((line, name));
                if toks.get(at + 1).map(|t| t.1) != Some(Tok::PathSep) {
                    return;
                }
                at += 2;
            }
            Tok::Open => {
                let mut depth = 0usize;
                for &(line, tok) in &toks[at..] {
                    match tok {
                        Tok::Open => depth += 1,
                        Tok::Close => {
                            depth -= 1;
                            if depth == 0 {
                                return;
                            }
                        }
                        Tok::Ident(name) => idents.push((line, name)),
                        _ => {}
                    }
                }
                return;
            }
            _ => return,
        }
    }
}

/// Every print macro call in the non-test part of `text`, as (line, macro name).
fn print_calls(text: &str) -> Vec<(usize, &str)> {
    let toks = tokens(text, true);
    toks.windows(2)
        .filter_map(|pair| match pair {
            [(line, Tok::Ident(name)), (_, Tok::Bang)] if PRINT_MACROS.contains(name) => {
                Some((*line, *name))
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
