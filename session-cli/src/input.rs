//! Lines typed by the user, read on a thread of their own so the async front-ends can wait for a
//! line, an event and Ctrl-C at the same time.
//!
//! Plain buffered line reading, for pipes, files and `exec`'s approval questions; the chat's
//! line editor on a terminal (editing, history) lives in `chat::editor`.
//! The reading thread may stay blocked on a read when the program ends; it must never hold
//! anything the rest of the program waits for.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use tokio::sync::mpsc;

/// Lines from a reader; `None` at end of input.
#[derive(Debug)]
pub(crate) struct Lines {
    rx: mpsc::UnboundedReceiver<String>,
}

impl Lines {
    /// Lines of stdin.
    pub(crate) fn stdin() -> Self {
        Self::spawn(io::stdin())
    }

    /// Lines of the controlling terminal (`/dev/tty`).
    ///
    /// # Errors
    ///
    /// When there is no controlling terminal.
    pub(crate) fn tty() -> io::Result<Self> {
        Ok(Self::spawn(File::open("/dev/tty")?))
    }

    fn spawn(reader: impl Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        // If the thread cannot start, `tx` is dropped with its closure: the input is at its end.
        let _spawned = std::thread::Builder::new()
            .name("session-input".to_owned())
            .spawn(move || {
                let mut reader = BufReader::new(reader);
                let mut line = String::new();
                loop {
                    line.clear();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let text = line.trim_end_matches(['\n', '\r']).to_owned();
                            if tx.send(text).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        Self { rx }
    }

    /// The next line, or `None` at end of input.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a line is never lost when the future is dropped.
    pub(crate) async fn next(&mut self) -> Option<String> {
        self.rx.recv().await
    }
}
