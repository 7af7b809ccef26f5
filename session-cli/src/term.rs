//! Terminal plumbing shared by the front-ends: whether we talk to a terminal, ANSI styles that
//! are empty when we do not, and writers that treat a closed pipe as "stop writing" rather
//! than a crash. It must not decide what to print.

use std::io::{self, IsTerminal, Write};

/// Whether stdout is a terminal.
pub(crate) fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// Whether stderr is a terminal.
pub(crate) fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Whether stdin is a terminal.
pub(crate) fn stdin_is_terminal() -> bool {
    io::stdin().is_terminal()
}

/// ANSI styles, or nothing when colours are off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    enabled: bool,
}

impl Style {
    /// Colours on stdout when it is a terminal and `NO_COLOR` is not set.
    pub(crate) fn for_stdout() -> Self {
        Self {
            enabled: stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// Colours on stderr when it is a terminal and `NO_COLOR` is not set.
    pub(crate) fn for_stderr() -> Self {
        Self {
            enabled: stderr_is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    /// No colours (text a line editor measures, tests).
    pub(crate) fn plain() -> Self {
        Self { enabled: false }
    }

    /// Whether colours are on (also: whether this is a terminal worth decorating).
    pub(crate) fn enabled(self) -> bool {
        self.enabled
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Bold text.
    pub(crate) fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    /// Dim text.
    pub(crate) fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    /// Red text.
    pub(crate) fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    /// Green text.
    pub(crate) fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    /// Cyan text.
    pub(crate) fn cyan(self, text: &str) -> String {
        self.wrap("36", text)
    }
}

/// A writer that stops writing (silently) once its pipe is closed, so `session exec | head`
/// ends quietly instead of failing. It is also the CLI's last redaction point: everything the
/// program prints passes it, and a registered secret in a write is replaced (events are
/// redacted by the session already; this catches the CLI's own messages).
#[derive(Debug)]
pub(crate) struct Quiet<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> Quiet<W> {
    /// Wrap `inner`.
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            closed: false,
        }
    }
}

impl<W: Write> Write for Quiet<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        if let std::borrow::Cow::Owned(redacted) =
            session_core::services::secrets::redact_slice(buf)
        {
            return match self.inner.write_all(&redacted) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    self.closed = true;
                    Ok(buf.len())
                }
                other => other.map(|()| buf.len()),
            };
        }
        match self.inner.write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// stdout, quiet on a closed pipe.
pub(crate) fn stdout() -> Quiet<io::Stdout> {
    Quiet::new(io::stdout())
}

/// stderr, quiet on a closed pipe.
pub(crate) fn stderr() -> Quiet<io::Stderr> {
    Quiet::new(io::stderr())
}

/// Print `session: <message>` on stderr.
pub(crate) fn note(message: &str) {
    let mut err = stderr();
    let _ = writeln!(err, "session: {message}");
    let _ = err.flush();
}

/// A command line for display: `bash -lc SCRIPT` shows the script, other arguments are quoted
/// when they need it.
pub(crate) fn display_command(argv: &[String]) -> String {
    if let [shell, flag, script] = argv {
        let name = shell.rsplit('/').next().unwrap_or(shell);
        if matches!(name, "bash" | "sh" | "zsh") && (flag == "-lc" || flag == "-c") {
            return script.clone();
        }
    }
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
