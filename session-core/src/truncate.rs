//! The one truncation of text bound for the model: every tool output passes through it.
//!
//! Exists so that no channel to the model (command output, a failed spawn naming a 1 MB argv,
//! a patch error, an aborted call's partial output) sends more than the budget. It keeps the
//! head and the tail, cut at line ends where the budget allows and inside a line otherwise, and
//! names what was left out. Its own output is within the budget, so applying it twice changes
//! nothing.

use std::borrow::Cow;

#[cfg(test)]
mod tests;

/// Most bytes of one output the model sees.
pub(crate) const MAX_BYTES: usize = 10 * 1024;
/// Most lines of one output the model sees.
pub(crate) const MAX_LINES: usize = 256;

/// Room kept for the omission marker, so that the result stays within [`MAX_BYTES`].
const MARKER_ROOM: usize = 64;

/// `text` as the model may see it: whole when within the budget, else its head and its tail
/// with a `[... N lines (M bytes) omitted ...]` line between them.
pub(crate) fn for_model(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_BYTES && line_count(text) <= MAX_LINES {
        return Cow::Borrowed(text);
    }
    let half_bytes = (MAX_BYTES - MARKER_ROOM) / 2;
    // One line of the budget goes to the marker.
    let half_lines = (MAX_LINES - 1) / 2;
    let head_end = head_end(text, half_bytes, half_lines);
    let tail_start = tail_start(text, half_bytes, half_lines).max(head_end);
    let (head, omitted, tail) = (
        &text[..head_end],
        &text[head_end..tail_start],
        &text[tail_start..],
    );
    let omitted_lines = line_count(omitted);
    let mut out = String::with_capacity(head.len() + tail.len() + MARKER_ROOM);
    out.push_str(head);
    if !head.is_empty() && !head.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "[... {omitted_lines} lines ({} bytes) omitted ...]\n",
        omitted.len()
    ));
    out.push_str(tail);
    Cow::Owned(out)
}

/// Lines in `text`, counting a last line without a newline.
fn line_count(text: &str) -> usize {
    let newlines = text.bytes().filter(|&b| b == b'\n').count();
    newlines + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

/// Where the head ends: after at most `lines` lines within `bytes` bytes; inside the first
/// line (at a character boundary) when even that one does not fit.
fn head_end(text: &str, bytes: usize, lines: usize) -> usize {
    let window = &text.as_bytes()[..bytes.min(text.len())];
    let mut end = None;
    let mut seen = 0;
    for (i, &b) in window.iter().enumerate() {
        if b == b'\n' {
            end = Some(i + 1);
            seen += 1;
            if seen == lines {
                break;
            }
        }
    }
    end.unwrap_or_else(|| floor_char_boundary(text, window.len()))
}

/// Where the tail starts: before at most `lines` lines within the last `bytes` bytes; inside
/// the last line (at a character boundary) when even that one does not fit.
fn tail_start(text: &str, bytes: usize, lines: usize) -> usize {
    let from = text.len().saturating_sub(bytes);
    let window = &text.as_bytes()[from..];
    // A newline ending the text closes the last line; it does not start one.
    let body = window.strip_suffix(b"\n").unwrap_or(window);
    let mut start = None;
    let mut seen = 0;
    for (i, &b) in body.iter().enumerate().rev() {
        if b == b'\n' {
            start = Some(from + i + 1);
            seen += 1;
            if seen == lines {
                break;
            }
        }
    }
    start.unwrap_or_else(|| ceil_char_boundary(text, from))
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}
