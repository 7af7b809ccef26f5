//! Reading a recording back: streamed line by line, so memory follows the history kept, not
//! the file's size.
//!
//! The writer ends every line with `\n`, so the bytes after the last `\n` are a write cut
//! short (crash, power loss): they are reported as the torn tail, never as an error, even when
//! they happen to parse, since that line's write did not finish. Every complete line is read
//! the same way wherever it is, the last one included: a kind it knows is replayed; a JSON
//! object with a `type` it does not know (a newer version's line, or a damaged payload) and a
//! blank line are skipped and counted; anything else is an error naming the line. This module
//! only reads; truncating the tail is the recorder's job on resume.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use session_state::{EventMsg, HistoryItem};

use super::line::{self, LineRecord};
use crate::recorder::{RecorderError, ResumedSession};

/// Read buffer size: big enough that a typical line is one copy.
const READ_BUF: usize = 64 * 1024;

/// Where the complete lines of a file end.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scan {
    /// Byte offset just past the last complete, well-formed line.
    pub(crate) good_end: u64,
    /// Bytes read in all.
    pub(crate) total: u64,
}

impl Scan {
    /// Bytes after the last good line.
    pub(crate) fn tail(self) -> u64 {
        self.total - self.good_end
    }
}

/// Feed every complete line of `reader` to `apply` with its 1-based number.
///
/// `apply` must change nothing when it returns `Err` (parse first, then apply). A line it
/// rejects is an error wherever it is: a complete line is never a torn write. An unterminated
/// last line is never passed to it; it is the [`Scan::tail`], so `good_end` is always just past
/// the last `\n`.
pub(crate) fn scan_lines<R: BufRead>(
    mut reader: R,
    path: &Path,
    mut apply: impl FnMut(usize, &[u8]) -> Result<(), String>,
) -> Result<Scan, RecorderError> {
    let mut buf = Vec::new();
    let mut scan = Scan {
        good_end: 0,
        total: 0,
    };
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|cause| RecorderError::Io {
                path: path.to_path_buf(),
                cause,
            })?;
        if n == 0 {
            break;
        }
        scan.total += n as u64;
        line_no += 1;
        if buf.last() != Some(&b'\n') {
            // `read_until` stops without the delimiter only at end of file.
            break;
        }
        apply(line_no, &buf).map_err(|message| RecorderError::Malformed {
            path: path.to_path_buf(),
            line: line_no,
            message,
        })?;
        scan.good_end = scan.total;
    }
    Ok(scan)
}

/// Replays lines into a [`ResumedSession`].
#[derive(Debug, Default)]
struct Replay {
    session: ResumedSession,
}

impl Replay {
    fn apply(&mut self, line_no: usize, bytes: &[u8]) -> Result<(), String> {
        let record = match line::decode(bytes) {
            Ok(record) => record,
            Err(e) if line_no == 1 => return Err(e.to_string()),
            Err(e) => {
                line::skippable(bytes).map_err(|e| e.to_string())?;
                tracing::debug!(
                    line = line_no,
                    error = %e,
                    "skipping a recording line of an unknown kind"
                );
                self.session.skipped_lines += 1;
                return Ok(());
            }
        };
        let s = &mut self.session;
        if line_no == 1 {
            return match record {
                LineRecord::SessionMeta(meta) => {
                    s.meta = Some(meta);
                    Ok(())
                }
                _ => Err(String::from("the first line is not session_meta")),
            };
        }
        match record {
            // A second meta line carries nothing the first did not; keep the first.
            LineRecord::SessionMeta(_) => {}
            // The line was parsed to validate it; history keeps the item's JSON rendered again
            // from it (not the line's bytes, which may be spelled differently), so requests
            // repeat exactly what a live session would send.
            LineRecord::ResponseItem(item) => s.history.push(Arc::new(HistoryItem::new(item))),
            LineRecord::Compacted(_) => s.history.clear(),
            LineRecord::Event(event) => {
                if let EventMsg::TokenCount { info, .. } = &event {
                    s.token_info = Some(*info);
                }
                s.events.push(event);
            }
            LineRecord::TurnContext(ctx) => s.turn_context = Some(ctx),
            LineRecord::ApprovedCommand(c) => s.approved_commands.push(c.command),
        }
        Ok(())
    }
}

/// Read a recording from `reader`; returns it and where its good lines end.
pub(crate) fn replay<R: BufRead>(
    reader: R,
    path: &Path,
) -> Result<(ResumedSession, Scan), RecorderError> {
    let mut replay = Replay::default();
    let scan = scan_lines(reader, path, |n, bytes| replay.apply(n, bytes))?;
    let mut session = replay.session;
    if session.meta.is_none() {
        return Err(RecorderError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            message: String::from("no complete session_meta line"),
        });
    }
    session.path = path.to_path_buf();
    session.truncated_tail_bytes = scan.tail();
    Ok((session, scan))
}

/// Open `path` for reading, buffered. Only a regular file is opened: a FIFO would block the
/// open, a device could stream without end.
pub(crate) fn open_buffered(path: &Path) -> Result<BufReader<File>, RecorderError> {
    let io_error = |cause| RecorderError::Io {
        path: path.to_path_buf(),
        cause,
    };
    ensure_regular(&std::fs::metadata(path).map_err(io_error)?).map_err(io_error)?;
    let file = File::open(path).map_err(io_error)?;
    ensure_regular(&file.metadata().map_err(io_error)?).map_err(io_error)?;
    Ok(BufReader::with_capacity(READ_BUF, file))
}

/// An error unless `meta` is that of a regular file.
pub(crate) fn ensure_regular(meta: &std::fs::Metadata) -> std::io::Result<()> {
    if meta.is_file() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
    }
}

/// Read a whole recording: its metadata, the history after the last compaction, the recorded
/// events, the last token count and turn context, and the approved commands.
///
/// A torn last line is left out and counted in
/// [`truncated_tail_bytes`](ResumedSession::truncated_tail_bytes); complete lines of kinds it
/// does not know are skipped and counted in [`skipped_lines`](ResumedSession::skipped_lines).
/// It takes no lock, so it also reads a recording a session is appending to. The file is not
/// changed. This blocks on file I/O; call it from a blocking context.
///
/// # Errors
///
/// [`RecorderError::Io`] when the file cannot be read, [`RecorderError::Malformed`] when a
/// complete line is not a JSON object with a `type` or the first line is not `session_meta`.
pub fn read_recording(path: &Path) -> Result<ResumedSession, RecorderError> {
    replay(open_buffered(path)?, path).map(|(session, _)| session)
}

/// Count the turns a recording holds: its `task_complete` and `turn_aborted` events. A torn last
/// line and blank lines are ignored. This blocks on file I/O; call it from a blocking context.
///
/// # Errors
///
/// [`RecorderError::Io`] when the file cannot be read, [`RecorderError::Malformed`] when a
/// complete line is not a JSON object with a `type`.
pub fn count_recorded_turns(path: &Path) -> Result<usize, RecorderError> {
    let mut turns = 0usize;
    scan_lines(open_buffered(path)?, path, |_, bytes| {
        if line::is_blank(bytes) {
            return Ok(());
        }
        let probe = line::probe(bytes).map_err(|e| e.to_string())?;
        let terminal = probe.kind == "event"
            && probe
                .payload
                .and_then(|p| p.kind)
                .is_some_and(|k| k == "task_complete" || k == "turn_aborted");
        turns += usize::from(terminal);
        Ok(())
    })?;
    Ok(turns)
}
