//! Parser of the `apply_patch` envelope: `*** Begin Patch`, file sections, `*** End Patch`.
//!
//! Pure text in, hunks out; never panics on any input. Paths are returned as written; the
//! caller resolves and checks them.

use std::path::PathBuf;

/// One change of a chunk of an updated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpdateChunk {
    /// The `@@ …` line's text, used to find where the chunk applies.
    pub(crate) context: Option<String>,
    /// Lines the chunk expects (context and removed).
    pub(crate) old_lines: Vec<String>,
    /// Lines it leaves (context and added).
    pub(crate) new_lines: Vec<String>,
    /// Whether the chunk must match at the end of the file.
    pub(crate) end_of_file: bool,
}

/// One file section of a patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hunk {
    /// Create a file.
    Add { path: PathBuf, contents: String },
    /// Delete a file.
    Delete { path: PathBuf },
    /// Change a file, and possibly move it.
    Update {
        path: PathBuf,
        move_to: Option<PathBuf>,
        chunks: Vec<UpdateChunk>,
    },
}

/// Why a patch could not be parsed; the message is shown to the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid patch at line {line}: {message}")]
pub(crate) struct PatchParseError {
    pub(crate) line: usize,
    pub(crate) message: String,
}

fn err(line: usize, message: impl Into<String>) -> PatchParseError {
    PatchParseError {
        line,
        message: message.into(),
    }
}

const BEGIN: &str = "*** Begin Patch";
const END: &str = "*** End Patch";
const ADD: &str = "*** Add File: ";
const DELETE: &str = "*** Delete File: ";
const UPDATE: &str = "*** Update File: ";
const MOVE: &str = "*** Move to: ";
const EOF_MARK: &str = "*** End of File";

/// Parse a whole patch.
pub(crate) fn parse_patch(text: &str) -> Result<Vec<Hunk>, PatchParseError> {
    let lines: Vec<&str> = text
        .trim()
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    match lines.first() {
        Some(first) if first.trim() == BEGIN => {}
        _ => return Err(err(1, "the first line must be `*** Begin Patch`")),
    }
    match lines.last() {
        Some(last) if lines.len() >= 2 && last.trim() == END => {}
        _ => return Err(err(lines.len(), "the last line must be `*** End Patch`")),
    }
    let body = &lines[1..lines.len() - 1];
    let mut hunks = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let line_no = i + 2;
        let line = body[i];
        if let Some(path) = line.strip_prefix(ADD) {
            let path = non_empty_path(path, line_no)?;
            i += 1;
            let mut contents = String::new();
            while i < body.len() && !body[i].starts_with("*** ") {
                match body[i].strip_prefix('+') {
                    Some(rest) => {
                        contents.push_str(rest);
                        contents.push('\n');
                    }
                    None => return Err(err(i + 2, "lines of an added file must start with `+`")),
                }
                i += 1;
            }
            hunks.push(Hunk::Add { path, contents });
        } else if let Some(path) = line.strip_prefix(DELETE) {
            hunks.push(Hunk::Delete {
                path: non_empty_path(path, line_no)?,
            });
            i += 1;
        } else if let Some(path) = line.strip_prefix(UPDATE) {
            let path = non_empty_path(path, line_no)?;
            i += 1;
            let mut move_to = None;
            if let Some(dest) = body.get(i).and_then(|l| l.strip_prefix(MOVE)) {
                move_to = Some(non_empty_path(dest, i + 2)?);
                i += 1;
            }
            let (chunks, next) = parse_chunks(body, i)?;
            if chunks.is_empty() && move_to.is_none() {
                return Err(err(line_no, "an updated file needs at least one `@@` hunk"));
            }
            i = next;
            hunks.push(Hunk::Update {
                path,
                move_to,
                chunks,
            });
        } else if line.trim().is_empty() {
            i += 1;
        } else {
            return Err(err(
                line_no,
                format!(
                    "expected `*** Add File:`, `*** Delete File:` or `*** Update File:`, found `{line}`"
                ),
            ));
        }
    }
    if hunks.is_empty() {
        return Err(err(1, "the patch changes no file"));
    }
    Ok(hunks)
}

fn non_empty_path(text: &str, line: usize) -> Result<PathBuf, PatchParseError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(err(line, "missing path"));
    }
    Ok(PathBuf::from(t))
}

fn parse_chunks(body: &[&str], mut i: usize) -> Result<(Vec<UpdateChunk>, usize), PatchParseError> {
    let mut chunks: Vec<UpdateChunk> = Vec::new();
    let mut current: Option<UpdateChunk> = None;
    while i < body.len() {
        let line = body[i];
        if line.starts_with("*** ") && line.trim() != EOF_MARK {
            break;
        }
        if line.trim() == EOF_MARK {
            match current.as_mut() {
                Some(c) => c.end_of_file = true,
                None => return Err(err(i + 2, "`*** End of File` outside a hunk")),
            }
        } else if let Some(rest) = line.strip_prefix("@@") {
            if let Some(c) = current.take() {
                chunks.push(c);
            }
            let ctx = rest.trim();
            current = Some(UpdateChunk {
                context: (!ctx.is_empty()).then(|| ctx.to_owned()),
                old_lines: Vec::new(),
                new_lines: Vec::new(),
                end_of_file: false,
            });
        } else {
            // A hunk may start without `@@` when it is the first of the file.
            let c = current.get_or_insert_with(|| UpdateChunk {
                context: None,
                old_lines: Vec::new(),
                new_lines: Vec::new(),
                end_of_file: false,
            });
            match line.chars().next() {
                Some('+') => c.new_lines.push(line[1..].to_owned()),
                Some('-') => c.old_lines.push(line[1..].to_owned()),
                Some(' ') => {
                    c.old_lines.push(line[1..].to_owned());
                    c.new_lines.push(line[1..].to_owned());
                }
                None => {
                    c.old_lines.push(String::new());
                    c.new_lines.push(String::new());
                }
                Some(_) => {
                    return Err(err(
                        i + 2,
                        format!("hunk lines start with ' ', '-' or '+', found `{line}`"),
                    ));
                }
            }
        }
        i += 1;
    }
    if let Some(c) = current {
        chunks.push(c);
    }
    Ok((chunks, i))
}

#[cfg(test)]
mod tests;
