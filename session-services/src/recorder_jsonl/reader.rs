//! Reading a recording back: streamed line by line, so memory follows the history kept, not
//! the file's size.
//!
//! A last line that has no `\n` or does not parse is a write cut short (crash, power loss): it
//! is reported as the torn tail, never as an error. Any other bad line is an error naming it.
//! This module only reads; truncating the tail is the recorder's job on resume.

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
/// rejects is an error unless it is the last one; an unterminated last line is never passed to
/// it. Both end up in [`Scan::tail`].
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
    let mut rejected: Option<(usize, String)> = None;
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
        if let Some((line, message)) = rejected.take() {
            return Err(RecorderError::Malformed {
                path: path.to_path_buf(),
                line,
                message,
            });
        }
        if buf.last() != Some(&b'\n') {
            // `read_until` stops without the delimiter only at end of file.
            break;
        }
        match apply(line_no, &buf) {
            Ok(()) => scan.good_end = scan.total,
            Err(message) => rejected = Some((line_no, message)),
        }
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
        let record = line::decode(bytes).map_err(|e| e.to_string())?;
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
/// [`truncated_tail_bytes`](ResumedSession::truncated_tail_bytes). The file is not changed.
/// This blocks on file I/O; call it from a blocking context.
///
/// # Errors
///
/// [`RecorderError::Io`] when the file cannot be read, [`RecorderError::Malformed`] when a line
/// other than the last is not a recording line or the first line is not `session_meta`.
pub fn read_recording(path: &Path) -> Result<ResumedSession, RecorderError> {
    replay(open_buffered(path)?, path).map(|(session, _)| session)
}

/// Count the turns a recording holds: its `task_complete` and `turn_aborted` events. A torn last
/// line is ignored. This blocks on file I/O; call it from a blocking context.
///
/// # Errors
///
/// [`RecorderError::Io`] when the file cannot be read, [`RecorderError::Malformed`] when a line
/// other than the last is not a JSON object with a `type`.
pub fn count_recorded_turns(path: &Path) -> Result<usize, RecorderError> {
    let mut turns = 0usize;
    scan_lines(open_buffered(path)?, path, |_, bytes| {
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
