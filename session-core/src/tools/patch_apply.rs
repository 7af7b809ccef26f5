//! Applying update chunks to a file's text: find each chunk's old lines (after its `@@`
//! context), replace them with its new lines.
//!
//! Pure text; tolerant of trailing whitespace differences, strict about everything else.

use super::patch_parse::UpdateChunk;

/// Why a chunk did not apply; the message is shown to the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ApplyError(pub(crate) String);

/// The new content of a file after applying `chunks` to `old`.
pub(crate) fn apply_chunks(old: &str, chunks: &[UpdateChunk]) -> Result<String, ApplyError> {
    let mut lines: Vec<String> = old.split('\n').map(str::to_owned).collect();
    // A final newline leaves an empty last element; it is not a line.
    if lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    let mut replacements: Vec<(usize, usize, Vec<String>)> = Vec::new();
    let mut cursor = 0usize;
    for chunk in chunks {
        if let Some(ctx) = &chunk.context {
            let idx = find(&lines, std::slice::from_ref(ctx), cursor, false)
                .ok_or_else(|| ApplyError(format!("could not find the context line `{ctx}`")))?;
            cursor = idx + 1;
        }
        if chunk.old_lines.is_empty() {
            // Pure addition: at the end of the file.
            replacements.push((lines.len(), 0, chunk.new_lines.clone()));
            continue;
        }
        let mut old_lines: &[String] = &chunk.old_lines;
        let mut new_lines: &[String] = &chunk.new_lines;
        let mut found = find(&lines, old_lines, cursor, chunk.end_of_file);
        // A trailing empty line in the chunk often stands for the file's final newline.
        if found.is_none() && old_lines.last().is_some_and(String::is_empty) {
            old_lines = &old_lines[..old_lines.len() - 1];
            if new_lines.last().is_some_and(String::is_empty) {
                new_lines = &new_lines[..new_lines.len() - 1];
            }
            found = find(&lines, old_lines, cursor, chunk.end_of_file);
        }
        let idx = found.ok_or_else(|| {
            ApplyError(format!(
                "could not find these lines:\n{}",
                chunk.old_lines.join("\n")
            ))
        })?;
        replacements.push((idx, old_lines.len(), new_lines.to_vec()));
        cursor = idx + old_lines.len();
    }
    replacements.sort_by_key(|(idx, _, _)| *idx);
    for (idx, len, new) in replacements.into_iter().rev() {
        lines.splice(idx..idx + len, new);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Ok(out)
}

/// Index where `pattern` occurs in `lines` at or after `start`: exact first, then ignoring
/// trailing whitespace, then ignoring surrounding whitespace.
fn find(lines: &[String], pattern: &[String], start: usize, at_end: bool) -> Option<usize> {
    if pattern.is_empty() {
        return Some(start.min(lines.len()));
    }
    if pattern.len() > lines.len() {
        return None;
    }
    let last_start = lines.len() - pattern.len();
    let candidates: Vec<usize> = if at_end {
        vec![last_start]
    } else {
        (start.min(last_start + 1)..=last_start).collect()
    };
    let cmp: [fn(&str, &str) -> bool; 3] = [
        |a, b| a == b,
        |a, b| a.trim_end() == b.trim_end(),
        |a, b| a.trim() == b.trim(),
    ];
    for eq in cmp {
        for &i in &candidates {
            if pattern
                .iter()
                .enumerate()
                .all(|(k, p)| eq(&lines[i + k], p))
            {
                return Some(i);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
