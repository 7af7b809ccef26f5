//! Finding recordings under `$home/sessions/YYYY/MM/DD/`, newest first.
//!
//! A listing reads only the head of each file (its first lines, at most 64 KiB), so a long or
//! damaged recording costs no more than a short one. This module never writes.

use std::cmp::Reverse;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use session_state::{EventMsg, ResponseItem};

use super::line::{self, LineRecord};
use super::time::FILE_STAMP_LEN;
use crate::recorder::{ListFilter, RecorderError, SessionSummary};

/// At most this many bytes of a file are read to list it.
const HEAD_BYTES: u64 = 64 * 1024;
/// At most this many lines of a file are read to list it.
const HEAD_LINES: usize = 16;

/// File names of recordings start with this.
pub(crate) const FILE_PREFIX: &str = "rollout-";
/// File names of recordings end with this.
pub(crate) const FILE_SUFFIX: &str = ".jsonl";

/// Text a user message starts with when it is a preamble the session added, not the user.
const PREAMBLE_TAGS: [&str; 2] = ["<user_instructions>", "<environment_context>"];

/// The session id in a recording's file name (`rollout-<stamp>-<id>.jsonl`).
pub(crate) fn id_from_file_name(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(FILE_PREFIX)?.strip_suffix(FILE_SUFFIX)?;
    let id = rest.get(FILE_STAMP_LEN..)?.strip_prefix('-')?;
    (!id.is_empty()).then_some(id)
}

fn io_error(path: &Path, cause: io::Error) -> RecorderError {
    RecorderError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Entries of `dir` whose name is UTF-8, sorted by name descending; a missing `dir` is empty.
fn entries_desc(dir: &Path) -> Result<Vec<(String, PathBuf)>, RecorderError> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(dir, e)),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        if let Ok(name) = entry.file_name().into_string() {
            out.push((name, entry.path()));
        }
    }
    out.sort_by(|a, b| Reverse(&a.0).cmp(&Reverse(&b.0)));
    Ok(out)
}

/// Call `visit` with the file name and path of every recording under `root`, newest first
/// (by folder date, then by file name: stamp, then id), until it breaks.
fn walk(
    root: &Path,
    mut visit: impl FnMut(&str, &Path) -> ControlFlow<()>,
) -> Result<(), RecorderError> {
    for (_, year) in entries_desc(root)? {
        if !year.is_dir() {
            continue;
        }
        for (_, month) in entries_desc(&year)? {
            if !month.is_dir() {
                continue;
            }
            for (_, day) in entries_desc(&month)? {
                if !day.is_dir() {
                    continue;
                }
                for (name, path) in entries_desc(&day)? {
                    if id_from_file_name(&name).is_none() || !path.is_file() {
                        continue;
                    }
                    if visit(&name, &path).is_break() {
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

/// List the recordings under `root`, newest first, as `filter` asks.
pub(crate) fn list(root: &Path, filter: &ListFilter) -> Result<Vec<SessionSummary>, RecorderError> {
    let mut out = Vec::new();
    if filter.limit == Some(0) {
        return Ok(out);
    }
    walk(root, |_, path| {
        let Some(summary) = read_head(path) else {
            return ControlFlow::Continue(());
        };
        if filter.cwd.as_ref().is_some_and(|cwd| *cwd != summary.cwd) {
            return ControlFlow::Continue(());
        }
        out.push(summary);
        if filter.limit.is_some_and(|limit| out.len() >= limit) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    Ok(out)
}

/// The recording of session `id`, or of the only session whose id starts with `id`.
pub(crate) fn find(root: &Path, id: &str) -> Result<PathBuf, RecorderError> {
    if id.is_empty() {
        return Err(RecorderError::NotFound(String::new()));
    }
    let mut exact = None;
    let mut prefixed = Vec::new();
    walk(root, |name, path| match id_from_file_name(name) {
        Some(found) if found == id => {
            exact = Some(path.to_path_buf());
            ControlFlow::Break(())
        }
        Some(found) if found.starts_with(id) => {
            prefixed.push(path.to_path_buf());
            ControlFlow::Continue(())
        }
        _ => ControlFlow::Continue(()),
    })?;
    if let Some(path) = exact {
        return Ok(path);
    }
    match prefixed.len() {
        1 => Ok(prefixed.remove(0)),
        0 => Err(RecorderError::NotFound(id.to_owned())),
        n => Err(RecorderError::NotFound(format!(
            "{id} (the prefix matches {n} recordings)"
        ))),
    }
}

/// The summary of one recording from its head; `None` when the head has no session meta.
fn read_head(path: &Path) -> Option<SessionSummary> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "cannot open recording");
            return None;
        }
    };
    let mut reader = BufReader::new(file.take(HEAD_BYTES));
    let mut buf = Vec::new();
    let mut summary: Option<SessionSummary> = None;
    for _ in 0..HEAD_LINES {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if buf.last() != Some(&b'\n') {
            // Cut by the head limit or a torn write.
            break;
        }
        let record = line::decode(&buf);
        let Some(s) = summary.as_mut() else {
            let Ok(LineRecord::SessionMeta(meta)) = record else {
                tracing::debug!(path = %path.display(), "recording does not start with session_meta");
                return None;
            };
            summary = Some(SessionSummary {
                id: meta.id,
                path: path.to_path_buf(),
                started_at: meta.timestamp,
                cwd: meta.cwd,
                first_user_message: None,
            });
            continue;
        };
        let message = match record {
            Ok(LineRecord::Event(EventMsg::UserMessage { message })) => Some(message),
            Ok(LineRecord::ResponseItem(item)) => user_text(&item),
            // Later lines are best effort: a damaged one does not hide the session.
            _ => None,
        };
        if message.is_some() {
            s.first_user_message = message;
            break;
        }
    }
    summary
}

/// The text of a user message that is not a preamble.
fn user_text(item: &ResponseItem) -> Option<String> {
    if item.role() != Some("user") {
        return None;
    }
    let text = item.message_text()?;
    let trimmed = text.trim_start();
    if PREAMBLE_TAGS.iter().any(|tag| trimmed.starts_with(tag)) {
        return None;
    }
    Some(text)
}
