//! The recorder port: the durable recording of a session, line by line, and reading it back.
//!
//! One recorder records one session. It must keep history items in the order given, never
//! rewrite what is already on disk, and never lose more than the line being written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use session_state::{EventMsg, HistoryItem, TokenUsageInfo, TurnContext};

/// The first line of every recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// The session's id.
    pub id: String,
    /// When the session started (RFC 3339, UTC).
    pub timestamp: String,
    /// Working directory at the start.
    pub cwd: PathBuf,
    /// Model at the start.
    pub model: String,
    /// Provider id at the start.
    #[serde(default)]
    pub model_provider: String,
    /// Version of the program that wrote the recording.
    #[serde(default)]
    pub cli_version: String,
}

/// A marker that history was compacted; the items recorded after it replace what came before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactedItem {
    /// The summary the model wrote.
    pub message: String,
}

/// One line of a recording (apart from its timestamp).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RolloutItem {
    /// Session metadata; the first line.
    SessionMeta(SessionMeta),
    /// A history item, written from its cached JSON.
    ResponseItem(Arc<HistoryItem>),
    /// One of the events worth replaying (see [`is_recorded_event`]).
    Event(EventMsg),
    /// History was compacted; items after this replace those before.
    Compacted(CompactedItem),
    /// The turn context a turn ran in.
    TurnContext(TurnContext),
    /// A command the user approved for the whole session.
    ApprovedCommand(Vec<String>),
}

/// Whether an event belongs in the recording: the ones a resumed front-end replays, and token
/// counts so totals survive a resume.
pub fn is_recorded_event(msg: &EventMsg) -> bool {
    matches!(
        msg,
        EventMsg::UserMessage { .. }
            | EventMsg::AgentMessage { .. }
            | EventMsg::AgentReasoning { .. }
            | EventMsg::TokenCount { .. }
            | EventMsg::TaskComplete { .. }
            | EventMsg::TurnAborted { .. }
            | EventMsg::Error { .. }
    )
}

/// What a recording holds, replayed for resume.
#[derive(Debug, Clone, Default)]
pub struct ResumedSession {
    /// The session's metadata.
    pub meta: Option<SessionMeta>,
    /// Where the recording is.
    pub path: PathBuf,
    /// History as it stands after the last compaction.
    pub history: Vec<Arc<HistoryItem>>,
    /// The recorded events, in order.
    pub events: Vec<EventMsg>,
    /// The last token count.
    pub token_info: Option<TokenUsageInfo>,
    /// Commands approved for the session.
    pub approved_commands: Vec<Vec<String>>,
    /// The last turn context.
    pub turn_context: Option<TurnContext>,
    /// Bytes at the end that were not a whole line (a write cut short); dropped on resume.
    pub truncated_tail_bytes: u64,
    /// Complete lines of a kind this version does not know (written by a newer one, or a
    /// damaged payload): left in the file as they are, not replayed.
    pub skipped_lines: u64,
}

/// One recording in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionSummary {
    /// The session's id.
    pub id: String,
    /// Where the recording is.
    pub path: PathBuf,
    /// When the session started.
    pub started_at: String,
    /// Working directory at the start.
    pub cwd: PathBuf,
    /// The first thing the user said, if it is in the head of the file.
    pub first_user_message: Option<String>,
}

/// Which recordings to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only sessions started in this directory.
    pub cwd: Option<PathBuf>,
    /// At most this many (newest first).
    pub limit: Option<usize>,
}

/// Why recording or reading a recording failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    /// The recorder panicked; the message says where and why.
    #[error("{0}")]
    Panicked(String),
    /// A file operation failed.
    ///
    /// The OS error is part of the message (`… on /x.jsonl: No space left on device (os
    /// error 28)`) rather than a `source()`: whoever shows only `{e}`, such as the session's
    /// `error` event, still says why, and a chain printed with `{:#}` says it once.
    #[error("recording i/o failed on {path}: {cause}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        cause: std::io::Error,
    },
    /// Another session holds the recording's lock: it is appending to it now. Nothing was read
    /// into the session and the file was not changed.
    #[error("recording {path} is in use by another session (locked)")]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The recording is not a recording.
    #[error("recording {path} is malformed at line {line}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No recording matched.
    #[error("no recording found for {0}")]
    NotFound(String),
    /// The recorder was used before `start`/`resume`, or after `shutdown`.
    #[error("recorder is not open")]
    NotOpen,
    /// The recorder's writer task is gone.
    #[error("recorder writer stopped")]
    WriterGone,
}

/// Records one session. Called by the core: `start` or `resume` once, then `record` as items
/// and events happen, `flush` at every turn boundary, `shutdown` at the end.
///
/// Implementers must keep items in order, make everything `record`ed before a `flush` readable
/// after it returns, and make everything durable (fsync) before `shutdown` returns.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait::async_trait]
pub trait Recorder: Send + Sync {
    /// Begin a new recording; returns its path. The recording is this recorder's alone (see
    /// [`resume`](Self::resume)) until `shutdown` or until the recorder is dropped.
    ///
    /// # Errors
    ///
    /// [`RecorderError::Io`] when the file cannot be created.
    async fn start(&self, meta: SessionMeta) -> Result<PathBuf, RecorderError>;

    /// Read an existing recording and continue appending to it.
    ///
    /// Implementers must make sure only one session appends to a recording at a time, and
    /// must change nothing in the file before the last `\n` (only a torn last line may go).
    ///
    /// # Errors
    ///
    /// [`RecorderError::Locked`] at once, with the file untouched, when another session is
    /// appending to it; other [`RecorderError`]s when it cannot be read or opened for append.
    async fn resume(&self, path: &Path) -> Result<ResumedSession, RecorderError>;

    /// Append lines (buffered).
    ///
    /// # Errors
    ///
    /// [`RecorderError`] when the recorder is not open or its writer failed.
    async fn record(&self, items: Vec<RolloutItem>) -> Result<(), RecorderError>;

    /// Write out everything recorded so far (turn boundary).
    ///
    /// # Errors
    ///
    /// [`RecorderError`] when writing failed.
    async fn flush(&self) -> Result<(), RecorderError>;

    /// Flush and fsync; the recording is durable when this returns. Later calls do nothing.
    ///
    /// # Errors
    ///
    /// [`RecorderError`] when writing or syncing failed.
    async fn shutdown(&self) -> Result<(), RecorderError>;

    /// List recordings, newest first.
    ///
    /// # Errors
    ///
    /// [`RecorderError::Io`] when the sessions folder cannot be read.
    async fn list(&self, filter: ListFilter) -> Result<Vec<SessionSummary>, RecorderError>;

    /// Find a recording by session id (or a unique prefix of it).
    ///
    /// # Errors
    ///
    /// [`RecorderError::NotFound`] when none matches.
    async fn find(&self, id: &str) -> Result<PathBuf, RecorderError>;
}
