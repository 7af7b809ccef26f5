//! The real recorder: one JSON Lines file per session under
//! `$home/sessions/YYYY/MM/DD/rollout-<stamp>-<id>.jsonl`.
//!
//! Lines are encoded by the caller of `record` and written by the recorder's own writer task
//! (see `writer`); files are private to the user (0600, folders 0700). It must never rewrite
//! what a recording already holds: resume only cuts a torn last line (the bytes after the last
//! `\n`), then appends; complete lines it does not know stay where they are (see `reader`).
//!
//! # One session appends at a time
//!
//! A session that appends to a recording holds an exclusive advisory lock on it (`flock`,
//! through [`File::try_lock`]) from `start` or `resume` until `shutdown`, or until the recorder
//! is dropped and its writer has written out what it had. The lock belongs to the open file
//! the writer owns, so it goes when that file is closed, also when the process dies. `resume`
//! takes it before it reads anything and waits for it only briefly (300 ms, for a killed
//! session's last fork to let go): a second session, in this process or another, gets
//! [`RecorderError::Locked`] at once and the file stays byte for byte as it
//! was (the other session's torn last line may be a write in progress, not ours to cut).
//! Without the lock two writers would interleave their buffered writes inside lines. Readers
//! (`list`, `find`, [`read_recording`], [`count_recorded_turns`]) take no lock: they see what
//! the writer has handed to the OS, at worst with a torn last line. The lock is advisory: a
//! program that does not ask for it is not stopped.
//!
//! Every I/O error names the file and the OS error (`No space left on device (os error 28)`).

mod line;
mod listing;
mod reader;
mod time;
mod writer;

use std::fs::{DirBuilder, File, OpenOptions, Permissions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use self::reader::{count_recorded_turns, read_recording};

/// A time as the recordings write it: RFC 3339, UTC, milliseconds (`2026-11-25T18:54:22.123Z`).
pub fn format_timestamp(t: std::time::SystemTime) -> String {
    time::rfc3339_millis(t)
}

/// Replay a recording held in memory (fuzzing entry point).
#[cfg(feature = "fuzzing")]
pub(crate) fn replay_bytes(bytes: &[u8]) -> Result<crate::recorder::ResumedSession, RecorderError> {
    reader::replay(bytes, std::path::Path::new("memory.jsonl")).map(|(s, _)| s)
}
use self::time::Civil;
use self::writer::Command;
use crate::recorder::{
    ListFilter, Recorder, RecorderError, ResumedSession, RolloutItem, SessionMeta, SessionSummary,
};

/// Mode of recording files.
const FILE_MODE: u32 = 0o600;
/// Mode of the folders holding recordings.
const DIR_MODE: u32 = 0o700;

/// Where the time of each line comes from.
type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The open recording.
#[derive(Debug)]
struct Open {
    path: PathBuf,
    tx: mpsc::Sender<Command>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
enum State {
    /// Before `start`/`resume`.
    Idle,
    /// `start`/`resume` is creating or reading the file.
    Opening,
    Open(Open),
    /// After `shutdown`.
    Closed,
}

/// Records sessions as JSON Lines files under `$home/sessions/`.
///
/// One recorder records one session at a time: `start` or `resume`, then `record`/`flush`,
/// then `shutdown`. `list` and `find` work at any time.
pub struct JsonlRecorder {
    home: PathBuf,
    clock: Clock,
    state: Mutex<State>,
}

impl std::fmt::Debug for JsonlRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlRecorder")
            .field("home", &self.home)
            .field("state", &self.lock())
            .finish_non_exhaustive()
    }
}

impl JsonlRecorder {
    /// A recorder keeping its files under `home/sessions/`, stamping lines with the system
    /// clock.
    pub fn new(home: PathBuf) -> Self {
        Self {
            home,
            clock: Arc::new(SystemTime::now),
            state: Mutex::new(State::Idle),
        }
    }

    /// The same recorder, stamping lines (and naming files whose session start time does not
    /// parse) with `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Fn() -> SystemTime + Send + Sync>) -> Self {
        self.clock = clock;
        self
    }

    /// The folder holding the recordings.
    pub fn sessions_dir(&self) -> PathBuf {
        self.home.join("sessions")
    }

    /// Where the recording of `meta` goes: the date folders and file name come from the
    /// session's start time in UTC (or from the clock when it is not RFC 3339).
    ///
    /// # Errors
    ///
    /// [`RecorderError::Io`] when the session id cannot be part of a file name.
    pub fn path_for(&self, meta: &SessionMeta) -> Result<PathBuf, RecorderError> {
        let sessions = self.sessions_dir();
        if meta.id.is_empty()
            || meta.id.contains(['/', '\\', '\0'])
            || meta.id == "."
            || meta.id == ".."
        {
            return Err(RecorderError::Io {
                path: sessions,
                cause: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("session id {:?} cannot name a file", meta.id),
                ),
            });
        }
        let civil = match time::parse_rfc3339(&meta.timestamp) {
            Some(secs) => Civil::from_unix(secs, 0),
            None => Civil::from_system_time((self.clock)()),
        };
        Ok(sessions
            .join(format!("{:04}", civil.year))
            .join(format!("{:02}", civil.month))
            .join(format!("{:02}", civil.day))
            .join(format!(
                "{}{}-{}{}",
                listing::FILE_PREFIX,
                civil.file_stamp(),
                meta.id,
                listing::FILE_SUFFIX
            )))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Move from idle (or closed) to opening, or say why not.
    fn begin_open(&self) -> Result<OpeningGuard<'_>, RecorderError> {
        let mut state = self.lock();
        match &*state {
            State::Idle | State::Closed => {
                *state = State::Opening;
                Ok(OpeningGuard {
                    recorder: self,
                    done: false,
                })
            }
            State::Opening => Err(already_open(&self.sessions_dir())),
            State::Open(open) => Err(already_open(&open.path)),
        }
    }

    /// The writer's channel and the file's path, if open.
    fn sender(&self) -> Option<(mpsc::Sender<Command>, PathBuf)> {
        match &*self.lock() {
            State::Open(open) => Some((open.tx.clone(), open.path.clone())),
            _ => None,
        }
    }
}

fn already_open(path: &Path) -> RecorderError {
    RecorderError::Io {
        path: path.to_path_buf(),
        cause: io::Error::new(io::ErrorKind::AlreadyExists, "recorder is already open"),
    }
}

/// Puts the recorder back to idle if `start`/`resume` fails or is cancelled before it opened.
struct OpeningGuard<'a> {
    recorder: &'a JsonlRecorder,
    done: bool,
}

impl OpeningGuard<'_> {
    fn opened(mut self, path: PathBuf, file: File) {
        let (tx, task) = writer::spawn(tokio::fs::File::from_std(file));
        *self.recorder.lock() = State::Open(Open { path, tx, task });
        self.done = true;
    }
}

impl Drop for OpeningGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            *self.recorder.lock() = State::Idle;
        }
    }
}

/// Run blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    path: &Path,
    work: impl FnOnce() -> Result<T, RecorderError> + Send + 'static,
) -> Result<T, RecorderError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| RecorderError::Io {
            path: path.to_path_buf(),
            cause: io::Error::other(e),
        })?
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> RecorderError + '_ {
    move |cause| RecorderError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Create `dir` as a private folder if it is missing; a folder we create gets 0700 whatever
/// the umask says.
fn create_private_dir(dir: &Path) -> Result<(), RecorderError> {
    match DirBuilder::new().mode(DIR_MODE).create(dir) {
        Ok(()) => {
            std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)).map_err(io_at(dir))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(io_at(dir)(e)),
    }
}

/// Take the exclusive lock on the recording open as `file`, waiting at most [`LOCK_GRACE`].
///
/// # Errors
///
/// [`RecorderError::Locked`] when another open file holds it (another session, in this
/// process or another); [`RecorderError::Io`] when the file system cannot lock.
fn lock_recording(file: &File, path: &Path) -> Result<(), RecorderError> {
    let mut waited = std::time::Duration::ZERO;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            // A session killed while it was starting a command leaves that fork holding its
            // descriptors until the command's `exec` closes them: a few milliseconds. Allow
            // for that, no more; a live session holds the lock for good.
            Err(TryLockError::WouldBlock) if waited < LOCK_GRACE => {
                std::thread::sleep(LOCK_POLL);
                waited += LOCK_POLL;
            }
            Err(TryLockError::WouldBlock) => {
                return Err(RecorderError::Locked {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(io_at(path)(io::Error::new(
                    e.kind(),
                    format!("cannot lock it: {e}"),
                )));
            }
        }
    }
}

/// How long `resume` waits for a lock that may be on its way out.
const LOCK_GRACE: std::time::Duration = std::time::Duration::from_millis(300);
/// How often it looks meanwhile.
const LOCK_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Create the folders and the file (0600, which must not exist yet), lock it and write its
/// first line.
fn create_recording(home: &Path, path: &Path, first_line: &[u8]) -> Result<File, RecorderError> {
    if !home.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(home)
            .map_err(io_at(home))?;
    }
    let sessions = home.join("sessions");
    let mut dir = sessions.clone();
    create_private_dir(&dir)?;
    if let Ok(rest) = path.parent().unwrap_or(&sessions).strip_prefix(&sessions) {
        for part in rest.components() {
            dir.push(part);
            create_private_dir(&dir)?;
        }
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
        .map_err(io_at(path))?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))
        .map_err(io_at(path))?;
    lock_recording(&file, path)?;
    file.write_all(first_line).map_err(io_at(path))?;
    Ok(file)
}

/// Open the recording at `path` for appending and lock it, then read it and cut its torn tail.
fn open_for_resume(path: &Path) -> Result<(ResumedSession, File), RecorderError> {
    // Read and write: opening a FIFO this way does not block, and the check below refuses it.
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .open(path)
        .map_err(io_at(path))?;
    reader::ensure_regular(&file.metadata().map_err(io_at(path))?).map_err(io_at(path))?;
    // Before reading anything: the holder may be in the middle of a line, and its torn tail is
    // not ours to cut.
    lock_recording(&file, path)?;
    let (session, scan) = reader::replay(io::BufReader::with_capacity(64 * 1024, &file), path)?;
    if session.skipped_lines > 0 {
        tracing::info!(
            path = %path.display(),
            lines = session.skipped_lines,
            "kept recording lines of kinds this version does not know"
        );
    }
    if scan.tail() > 0 {
        // Only the bytes after the last `\n`: the reader stops at the first complete line it
        // cannot read, so `good_end` is never before a complete line.
        tracing::info!(
            path = %path.display(),
            bytes = scan.tail(),
            "dropping the torn last line of the recording"
        );
        file.set_len(scan.good_end).map_err(io_at(path))?;
    }
    Ok((session, file))
}

#[async_trait::async_trait]
impl Recorder for JsonlRecorder {
    async fn start(&self, meta: SessionMeta) -> Result<PathBuf, RecorderError> {
        let path = self.path_for(&meta)?;
        let guard = self.begin_open()?;
        let mut first_line = Vec::with_capacity(256);
        let stamp = time::rfc3339_millis((self.clock)());
        line::encode(&stamp, &RolloutItem::SessionMeta(meta), &mut first_line)
            .map_err(|e| io_at(&path)(io::Error::other(e)))?;
        let home = self.home.clone();
        let file_path = path.clone();
        let file = blocking(&path, move || {
            create_recording(&home, &file_path, &first_line)
        })
        .await?;
        guard.opened(path.clone(), file);
        Ok(path)
    }

    async fn resume(&self, path: &Path) -> Result<ResumedSession, RecorderError> {
        let guard = self.begin_open()?;
        let owned = path.to_path_buf();
        let (session, file) = blocking(path, move || open_for_resume(&owned)).await?;
        guard.opened(path.to_path_buf(), file);
        Ok(session)
    }

    async fn record(&self, items: Vec<RolloutItem>) -> Result<(), RecorderError> {
        let (tx, path) = self.sender().ok_or(RecorderError::NotOpen)?;
        if items.is_empty() {
            return Ok(());
        }
        let stamp = time::rfc3339_millis((self.clock)());
        let mut batch = Vec::with_capacity(items.iter().map(line::estimated_len).sum());
        for item in &items {
            line::encode(&stamp, item, &mut batch)
                .map_err(|e| io_at(&path)(io::Error::other(e)))?;
        }
        tx.send(Command::Write(batch))
            .await
            .map_err(|_| RecorderError::WriterGone)
    }

    async fn flush(&self) -> Result<(), RecorderError> {
        let (tx, path) = match &*self.lock() {
            State::Open(open) => (open.tx.clone(), open.path.clone()),
            // Everything was made durable by shutdown.
            State::Closed => return Ok(()),
            State::Idle | State::Opening => return Err(RecorderError::NotOpen),
        };
        let (reply, answer) = oneshot::channel();
        tx.send(Command::Flush(reply))
            .await
            .map_err(|_| RecorderError::WriterGone)?;
        answer
            .await
            .map_err(|_| RecorderError::WriterGone)?
            .map_err(io_at(&path))
    }

    async fn shutdown(&self) -> Result<(), RecorderError> {
        let open = {
            let mut state = self.lock();
            match std::mem::replace(&mut *state, State::Closed) {
                State::Open(open) => open,
                State::Opening => {
                    *state = State::Opening;
                    return Err(RecorderError::NotOpen);
                }
                previous @ (State::Idle | State::Closed) => {
                    *state = previous;
                    return Ok(());
                }
            }
        };
        let (reply, answer) = oneshot::channel();
        let sent = open.tx.send(Command::Shutdown(reply)).await;
        drop(open.tx);
        let result = match sent {
            Ok(()) => answer.await.map_err(|_| RecorderError::WriterGone),
            Err(_) => Err(RecorderError::WriterGone),
        };
        open.task.await.map_err(|_| RecorderError::WriterGone)?;
        result?.map_err(io_at(&open.path))
    }

    async fn list(&self, filter: ListFilter) -> Result<Vec<SessionSummary>, RecorderError> {
        let root = self.sessions_dir();
        let at = root.clone();
        blocking(&at, move || listing::list(&root, &filter)).await
    }

    async fn find(&self, id: &str) -> Result<PathBuf, RecorderError> {
        let root = self.sessions_dir();
        let at = root.clone();
        let id = id.to_owned();
        blocking(&at, move || listing::find(&root, &id)).await
    }
}

#[cfg(test)]
mod tests;
