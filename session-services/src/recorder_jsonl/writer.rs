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

/// Size of the write buffer.
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

struct Writer {
    out: BufWriter<File>,
    failure: Failure,
}

impl Writer {
    async fn write(&mut self, bytes: &[u8]) {
        if !self.failure.is_failed() {
            let result = self.out.write_all(bytes).await;
            self.failure.note(result);
        }
    }

    async fn flush(&mut self) -> io::Result<()> {
        if !self.failure.is_failed() {
            let result = self.out.flush().await;
            self.failure.note(result);
        }
        self.failure.result()
    }

    async fn sync(&mut self) -> io::Result<()> {
        self.flush().await?;
        let result = self.out.get_mut().sync_all().await;
        self.failure.note(result);
        self.failure.result()
    }
}

async fn run(file: File, mut rx: mpsc::Receiver<Command>) {
    let mut w = Writer {
        out: BufWriter::with_capacity(WRITE_BUF, file),
        failure: Failure::default(),
    };
    while let Some(command) = rx.recv().await {
        match command {
            Command::Write(bytes) => w.write(&bytes).await,
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
                        Command::Write(bytes) => w.write(&bytes).await,
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
