//! The line format of a recording: `{"timestamp":…,"type":…,"payload":…}` then `\n`.
//!
//! Encoding copies a history item's cached JSON verbatim; it must never serialize a history
//! item again. Decoding ignores the timestamp, which only humans and tools read.

use serde::{Deserialize, Serialize};
use session_state::{EventMsg, ResponseItem, TurnContext};

use crate::recorder::{CompactedItem, RolloutItem, SessionMeta};

/// Payload of an `approved_command` line.
#[derive(Debug, Serialize)]
struct ApprovedCommandRef<'a> {
    command: &'a [String],
}

/// Payload of an `approved_command` line, read back.
#[derive(Debug, Deserialize)]
pub(crate) struct ApprovedCommand {
    pub(crate) command: Vec<String>,
}

/// One line read back (its timestamp ignored).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub(crate) enum LineRecord {
    SessionMeta(SessionMeta),
    ResponseItem(ResponseItem),
    Event(EventMsg),
    Compacted(
        #[expect(dead_code, reason = "checked on read; resume needs only the marker")]
        CompactedItem,
    ),
    TurnContext(TurnContext),
    ApprovedCommand(ApprovedCommand),
}

/// The `type` of a line holding `item`.
fn kind(item: &RolloutItem) -> &'static str {
    match item {
        RolloutItem::SessionMeta(_) => "session_meta",
        RolloutItem::ResponseItem(_) => "response_item",
        RolloutItem::Event(_) => "event",
        RolloutItem::Compacted(_) => "compacted",
        RolloutItem::TurnContext(_) => "turn_context",
        RolloutItem::ApprovedCommand(_) => "approved_command",
    }
}

/// Rough size of the line for `item`, to size the batch buffer once.
pub(crate) fn estimated_len(item: &RolloutItem) -> usize {
    const OVERHEAD: usize = 80;
    match item {
        RolloutItem::ResponseItem(h) => h.json().len() + OVERHEAD,
        _ => 2 * OVERHEAD,
    }
}

/// Append the line for `item` (with its `\n`) to `out`. `timestamp` must need no JSON escaping
/// (it is one of ours, RFC 3339).
///
/// # Errors
///
/// When serde cannot serialize the payload (it cannot for these types).
pub(crate) fn encode(
    timestamp: &str,
    item: &RolloutItem,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(b"{\"timestamp\":\"");
    out.extend_from_slice(timestamp.as_bytes());
    out.extend_from_slice(b"\",\"type\":\"");
    out.extend_from_slice(kind(item).as_bytes());
    out.extend_from_slice(b"\",\"payload\":");
    match item {
        RolloutItem::ResponseItem(h) => out.extend_from_slice(h.json().as_bytes()),
        RolloutItem::SessionMeta(m) => serde_json::to_writer(&mut *out, m)?,
        RolloutItem::Event(e) => serde_json::to_writer(&mut *out, e)?,
        RolloutItem::Compacted(c) => serde_json::to_writer(&mut *out, c)?,
        RolloutItem::TurnContext(c) => serde_json::to_writer(&mut *out, c)?,
        RolloutItem::ApprovedCommand(command) => {
            serde_json::to_writer(&mut *out, &ApprovedCommandRef { command })?;
        }
    }
    out.extend_from_slice(b"}\n");
    Ok(())
}

/// Parse one line (with or without its `\n`).
///
/// # Errors
///
/// When the line is not a recording line.
pub(crate) fn decode(line: &[u8]) -> Result<LineRecord, serde_json::Error> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    serde_json::from_slice(line)
}

/// Just enough of a line to count turns without building its payload.
#[derive(Debug, Deserialize)]
pub(crate) struct LineProbe<'a> {
    #[serde(rename = "type", borrow)]
    pub(crate) kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    pub(crate) payload: Option<PayloadProbe<'a>>,
}

/// The `type` of a line's payload, if it has one.
#[derive(Debug, Deserialize)]
pub(crate) struct PayloadProbe<'a> {
    #[serde(rename = "type", default, borrow)]
    pub(crate) kind: Option<std::borrow::Cow<'a, str>>,
}

/// Parse the probe of one line (with or without its `\n`).
///
/// # Errors
///
/// When the line is not a JSON object with a `type`.
pub(crate) fn probe(line: &[u8]) -> Result<LineProbe<'_>, serde_json::Error> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    serde_json::from_slice(line)
}

/// Whether a line is only whitespace.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Check that a line [`decode`] rejected may be skipped: it is blank, or a JSON object with a
/// `type` (a kind this version does not know, or a damaged payload of one it does).
///
/// # Errors
///
/// When it is neither, so not a line of a recording at all.
pub(crate) fn skippable(line: &[u8]) -> Result<(), serde_json::Error> {
    if is_blank(line) {
        return Ok(());
    }
    probe(line).map(drop)
}
