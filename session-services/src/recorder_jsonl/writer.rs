//! The recorder's writer task: the only code that writes to an open recording.
//!
//! It owns the file behind a 64 KiB buffer and takes whole batches of encoded lines over a
//! bounded channel, so callers never wait on the disk except at `flush` and `shutdown`. It
//! fsyncs only at shutdown, never per line. After a write fails it writes nothing more (a
//! partial line must stay the file's last) and every later flush reports the failure with its
//! OS error. The file it owns carries the recording's lock, which goes when the task ends.

use std::io;

use tokio::fs::File;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Size of the write buffer, held only while batches keep coming (see [`Out`]).
const WRITE_BUF: usize = 64 * 1024;

/// Batches that may wait in the channel before `record` waits for the writer.
const CHANNEL_BATCHES: usize = 256;

/// What the recorder asks of its writer.
#[derive(Debug)]
pub(crate) enum Command {
    /// Append these complete lines.
    Write(Vec<u8>),
    /// Hand everything so far to the OS, then answer.
    Flush(oneshot::Sender<io::Result<()>>),
    /// Flush, fsync, answer, end.
    Shutdown(oneshot::Sender<io::Result<()>>),
}

/// Start the writer for `file`; it ends after `Shutdown`, or when every sender is dropped
/// (then it writes out its buffer without fsync).
pub(crate) fn spawn(file: File) -> (mpsc::Sender<Command>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
    let task = tokio::spawn(run(file, rx));
    (tx, task)
}

/// The first write failure, kept so every later flush can report it, cause and all.
#[derive(Debug, Default)]
struct Failure(Option<io::Error>);

impl Failure {
    fn note(&mut self, result: io::Result<()>) {
        if let Err(e) = result {
            tracing::warn!(error = %e, "recording write failed");
            if self.0.is_none() {
                self.0 = Some(e);
            }
        }
    }

    fn is_failed(&self) -> bool {
        self.0.is_some()
    }

    fn result(&self) -> io::Result<()> {
        match &self.0 {
            None => Ok(()),
            Some(e) => Err(copy_error(e)),
        }
    }
}

/// A copy of `e` (`io::Error` is not `Clone`) that displays the same: an OS error stays one,
/// so its text (`No space left on device (os error 28)`) survives.
fn copy_error(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// The file, buffered while batches arrive faster than they are written, bare when the queue
/// is empty: then everything is handed to the OS and the buffer freed, so an idle session (an
/// editor may hold a thousand) keeps no 64 KiB buffer and a kill loses nothing recorded.
enum Out {
    Buffered(BufWriter<File>),
    Bare(File),
}

struct Writer {
    out: Option<Out>,
    failure: Failure,
}

impl Writer {
    fn buffered(&mut self) -> &mut BufWriter<File> {
        let out = match self.out.take() {
            Some(Out::Bare(file)) => Out::Buffered(BufWriter::with_capacity(WRITE_BUF, file)),
            Some(out) => out,
            None => unreachable!("the writer always holds its file"),
        };
        match self.out.insert(out) {
            Out::Buffered(buffered) => buffered,
            Out::Bare(_) => unreachable!("just buffered"),
        }
    }

    /// Write a batch: straight to the file when nothing else waits (one batch needs no
    /// buffer), into the buffer while more are queued.
    async fn write(&mut self, bytes: &[u8], more_waiting: bool) {
        if self.failure.is_failed() {
            return;
        }
        let result = match &mut self.out {
            Some(Out::Bare(file)) if !more_waiting => file.write_all(bytes).await,
            _ => self.buffered().write_all(bytes).await,
        };
        self.failure.note(result);
    }

    async fn flush(&mut self) -> io::Result<()> {
        if !self.failure.is_failed()
            && let Some(Out::Buffered(buffered)) = &mut self.out
        {
            let result = buffered.flush().await;
            self.failure.note(result);
        }
        self.failure.result()
    }

    /// Flush, then free the buffer (kept on a failed flush: nothing may be dropped silently,
    /// and the failure is reported from now on anyway).
    async fn release(&mut self) {
        if self.flush().await.is_ok() && matches!(self.out, Some(Out::Buffered(_))) {
            self.out = match self.out.take() {
                Some(Out::Buffered(buffered)) => Some(Out::Bare(buffered.into_inner())),
                other => other,
            };
        }
    }

    async fn sync(&mut self) -> io::Result<()> {
        self.flush().await?;
        let file = match &mut self.out {
            Some(Out::Buffered(buffered)) => buffered.get_mut(),
            Some(Out::Bare(file)) => file,
            None => return self.failure.result(),
        };
        let result = file.sync_all().await;
        self.failure.note(result);
        self.failure.result()
    }
}

async fn run(file: File, mut rx: mpsc::Receiver<Command>) {
    let mut w = Writer {
        out: Some(Out::Bare(file)),
        failure: Failure::default(),
    };
    while let Some(command) = rx.recv().await {
        match command {
            Command::Write(bytes) => {
                w.write(&bytes, !rx.is_empty()).await;
                if rx.is_empty() {
                    w.release().await;
                }
            }
            Command::Flush(reply) => {
                let _ = reply.send(w.flush().await);
            }
            Command::Shutdown(reply) => {
                // A `record` racing with shutdown may already have queued its batch: take in
                // everything sent before the channel closed so no accepted batch is lost.
                rx.close();
                let mut replies = vec![reply];
                while let Ok(command) = rx.try_recv() {
                    match command {
                        Command::Write(bytes) => w.write(&bytes, true).await,
                        Command::Flush(r) | Command::Shutdown(r) => replies.push(r),
                    }
                }
                let result = w.sync().await;
                for r in replies {
                    let _ = r.send(clone_result(&result));
                }
                return;
            }
        }
    }
    // Every sender dropped without shutdown: keep what was recorded, as far as the OS goes.
    let _ = w.flush().await;
}

fn clone_result(result: &io::Result<()>) -> io::Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(e) => Err(copy_error(e)),
    }
}
