//! Where the chat's output goes: straight to stdout and stderr, or, while the line editor owns
//! the terminal, through rustyline's external printer, which clears the prompt line, prints
//! above it and draws the prompt and the half-typed input again.
//!
//! The printer ends every message with a newline, so text is handed over in whole lines only;
//! an unfinished line waits for its end (or for [`Sink::show`]). A dedicated thread calls the
//! printer, because printing may block while the editor is busy; the async side never does.
//! Nothing here decides what to print.

use std::io::{self, Write};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use rustyline::ExternalPrinter;

use crate::term::{self, Quiet};

/// Where the chat writes.
#[derive(Debug)]
pub(crate) enum Output {
    /// Straight to stdout and stderr.
    Plain,
    /// Above the line editor's prompt.
    Screen(Screen),
}

impl Output {
    /// A writer for what goes to stdout.
    pub(crate) fn out(&self) -> Sink {
        match self {
            Self::Plain => Sink::stdout(),
            Self::Screen(screen) => Sink::Screen(screen.clone()),
        }
    }

    /// A writer for what goes to stderr: above the prompt too when stderr is the terminal;
    /// a redirected stderr keeps getting its own.
    pub(crate) fn err(&self) -> Sink {
        match self {
            Self::Screen(screen) if term::stderr_is_terminal() => Sink::Screen(screen.clone()),
            _ => Sink::stderr(),
        }
    }
}

/// A writer for the chat's output.
#[derive(Debug)]
pub(crate) enum Sink {
    /// stdout, quiet on a closed pipe.
    Stdout(Quiet<io::Stdout>),
    /// stderr, quiet on a closed pipe.
    Stderr(Quiet<io::Stderr>),
    /// The terminal above the editor's prompt.
    Screen(Screen),
}

impl Sink {
    /// stdout.
    pub(crate) fn stdout() -> Self {
        Self::Stdout(term::stdout())
    }

    /// stderr.
    pub(crate) fn stderr() -> Self {
        Self::Stderr(term::stderr())
    }

    /// Write `text` and make it visible at once, in one piece, also when it does not end its
    /// line (a question waiting for its answer); on the screen such a line is then ended, as
    /// the printer ends every message.
    pub(crate) fn say(&mut self, text: &str) {
        match self {
            Self::Screen(screen) => screen.say(text),
            Self::Stdout(out) => {
                let _ = out.write_all(text.as_bytes());
                let _ = out.flush();
            }
            Self::Stderr(err) => {
                let _ = err.write_all(text.as_bytes());
                let _ = err.flush();
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Stdout(out) => out.write(buf),
            Self::Stderr(err) => err.write(buf),
            Self::Screen(screen) => screen.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Stdout(out) => out.flush(),
            Self::Stderr(err) => err.flush(),
            Self::Screen(screen) => screen.flush(),
        }
    }
}

/// A handle on the terminal above the editor's prompt; clones share one buffer, so what
/// stdout and stderr write keeps its order.
#[derive(Debug, Clone)]
pub(crate) struct Screen {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    /// Bytes of the unfinished last line.
    pending: Vec<u8>,
    tx: Sender<String>,
}

impl Inner {
    fn send(&mut self, text: String) {
        // When the printer thread is gone there is nowhere left to print.
        let _ = self.tx.send(text);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rest = String::from_utf8_lossy(&self.pending).into_owned();
            self.send(rest);
        }
    }
}

impl Screen {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The buffer stays consistent even if a writer panicked.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hand over what is pending and `text` as one message.
    fn say(&self, text: &str) {
        let mut inner = self.lock();
        inner.pending.extend_from_slice(text.as_bytes());
        let all = String::from_utf8_lossy(&std::mem::take(&mut inner.pending)).into_owned();
        if !all.is_empty() {
            inner.send(all);
        }
    }
}

impl Write for Screen {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // One uncontended lock a write: the only other user is the chat's own notes.
        let mut inner = self.lock();
        inner.pending.extend_from_slice(buf);
        if let Some(lines) = take_lines(&mut inner.pending) {
            inner.send(lines);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // An unfinished line stays until its end comes: the printer would end it early.
        Ok(())
    }
}

/// Split the whole lines off the front of `pending`, if there are any.
pub(crate) fn take_lines(pending: &mut Vec<u8>) -> Option<String> {
    let end = pending.iter().rposition(|&b| b == b'\n')? + 1;
    let rest = pending.split_off(end);
    let lines = std::mem::replace(pending, rest);
    // A newline never splits a UTF-8 sequence, so whole lines are whole characters.
    Some(String::from_utf8_lossy(&lines).into_owned())
}

/// Start the thread that feeds `printer`; it ends once every [`Screen`] handle is dropped.
///
/// # Errors
///
/// When the thread cannot start.
pub(crate) fn spawn_printer<P>(mut printer: P) -> io::Result<(Screen, JoinHandle<()>)>
where
    P: ExternalPrinter + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<String>();
    let thread = std::thread::Builder::new()
        .name("session-printer".to_owned())
        .spawn(move || {
            while let Ok(text) = rx.recv() {
                if printer.print(text).is_err() {
                    break;
                }
            }
        })?;
    let screen = Screen {
        inner: Arc::new(Mutex::new(Inner {
            pending: Vec::new(),
            tx,
        })),
    };
    Ok((screen, thread))
}

#[cfg(test)]
mod tests;
