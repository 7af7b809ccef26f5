//! What the user types into `session chat`: plain lines from a pipe, or, on a terminal, lines
//! from rustyline (Emacs keys, history in `$SESSION_HOME/history`).
//!
//! rustyline's `readline` blocks, so the editor runs on a thread of its own and reads one line
//! at a time, when the chat asks for it with the prompt to show: the chat keeps it reading
//! all the time (also while a turn runs, so typed input is queued into the turn), and an
//! approval request turns the next prompt into the answer prompt, so only one reader ever
//! touches the terminal. The chat also says which lines go into the history (input and
//! commands, not answers): only it knows what a line was. In raw mode Ctrl-C is a key, not a
//! signal: the editor reports it as an interrupt. This module never decides what a line means
//! and prints nothing itself but the editor's prompt and echo.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self as std_mpsc, Receiver, Sender};
use std::thread::JoinHandle;

use rustyline::error::ReadlineError;
use rustyline::{Config, DefaultEditor, EditMode};
use tokio::sync::mpsc;

use super::screen::{self, Screen};
use crate::input::Lines;

/// How many lines the history keeps.
const HISTORY_SIZE: usize = 1000;

/// Something the user did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Typed {
    /// A line.
    Line(String),
    /// Ctrl-C at the editor's prompt.
    Interrupt,
    /// Ctrl-D on an empty line, or the terminal is gone: leave now.
    Quit,
    /// The end of piped input: answer what was asked, then leave.
    End,
    /// Something the user should know (history not saved); not an answer to a read.
    Warning(String),
}

/// Where typed input comes from.
#[derive(Debug)]
pub(crate) enum Input {
    /// Plain lines (a pipe, a file).
    Plain(Lines),
    /// The line editor's thread.
    Editor(mpsc::UnboundedReceiver<Typed>),
}

impl Input {
    /// The next thing typed.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing typed is lost when the future is dropped.
    pub(crate) async fn next(&mut self) -> Typed {
        match self {
            Self::Plain(lines) => lines.next().await.map_or(Typed::End, Typed::Line),
            Self::Editor(rx) => rx.recv().await.unwrap_or(Typed::Quit),
        }
    }
}

/// What the editor's next line is for, as far as the chat knew when it asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Input or a command, at the `> ` prompt.
    Input,
    /// The answer to an approval request, at the answer prompt.
    Answer,
}

enum Request {
    /// Add a line to the history (and its file).
    Remember(String),
    /// Read a line with this prompt.
    Read(String),
    /// Leave.
    Stop,
}

/// The chat's side of the editor thread: asks it for lines.
#[derive(Debug)]
pub(crate) struct Control {
    requests: Sender<Request>,
    reading: Option<Reading>,
}

impl Control {
    /// What the editor is reading now, if it is.
    pub(crate) fn reading(&self) -> Option<Reading> {
        self.reading
    }

    /// The editor answered the last read (a line, Ctrl-C or Ctrl-D).
    pub(crate) fn answered(&mut self) {
        self.reading = None;
    }

    /// Read the next line with `prompt`, unless a read is already under way.
    pub(crate) fn read(&mut self, prompt: &str, reading: Reading) {
        if self.reading.is_some() {
            return;
        }
        if self.requests.send(Request::Read(prompt.to_owned())).is_ok() {
            self.reading = Some(reading);
        }
    }

    /// Keep `line` in the history (blank lines are not kept).
    pub(crate) fn remember(&mut self, line: &str) {
        if !line.trim().is_empty() {
            let _ = self.requests.send(Request::Remember(line.to_owned()));
        }
    }
}

/// The editor's and the printer's threads, to be waited for at the end.
#[derive(Debug)]
pub(crate) struct Threads {
    editor: JoinHandle<()>,
    printer: JoinHandle<()>,
}

impl Threads {
    /// Stop the editor and wait for both threads, once every [`Screen`] handle is dropped.
    ///
    /// While the editor is still inside `readline` it cannot be stopped: then nothing is
    /// waited for (the thread holds nothing the program needs).
    pub(crate) fn finish(self, control: Control) {
        let idle = control.reading.is_none();
        let _ = control.requests.send(Request::Stop);
        drop(control);
        if idle {
            let _ = self.editor.join();
            // The editor has left raw mode, so the printer writes straight to the terminal
            // and cannot block any more.
            let _ = self.printer.join();
        }
    }
}

/// A running line editor.
#[derive(Debug)]
pub(crate) struct Editor {
    /// Asks for lines.
    pub(crate) control: Control,
    /// What was typed.
    pub(crate) input: Input,
    /// Output above the prompt.
    pub(crate) screen: Screen,
    /// To wait for at the end.
    pub(crate) threads: Threads,
    /// A problem worth telling (the history could not be loaded).
    pub(crate) warning: Option<String>,
}

/// The history file under `home`.
pub(crate) fn history_path(home: &Path) -> PathBuf {
    home.join("history")
}

/// Start the editor on the terminal, with its history in `history` (none when `None`).
///
/// `None` when the terminal cannot be edited (an unsupported `TERM`, no terminal on stdin or
/// stdout): then plain line reading is the way.
pub(crate) fn start(history: Option<PathBuf>) -> Option<Editor> {
    let config = Config::builder()
        .edit_mode(EditMode::Emacs)
        .auto_add_history(false)
        .history_ignore_dups(true)
        .ok()?
        .max_history_size(HISTORY_SIZE)
        .ok()?
        .build();
    let mut editor = DefaultEditor::with_config(config).ok()?;
    // Fails when rustyline cannot drive this terminal.
    let printer = editor.create_external_printer().ok()?;
    let warning = history
        .as_deref()
        .and_then(|path| load_history(&mut editor, path));
    let (screen, printer) = screen::spawn_printer(printer).ok()?;
    let (requests, requests_rx) = std_mpsc::channel();
    let (typed_tx, typed_rx) = mpsc::unbounded_channel();
    let editor = std::thread::Builder::new()
        .name("session-editor".to_owned())
        .spawn(move || serve(editor, history, &requests_rx, &typed_tx))
        .ok()?;
    Some(Editor {
        control: Control {
            requests,
            reading: None,
        },
        input: Input::Editor(typed_rx),
        screen,
        threads: Threads { editor, printer },
        warning,
    })
}

fn load_history(editor: &mut DefaultEditor, path: &Path) -> Option<String> {
    if !path.exists() {
        return None;
    }
    editor
        .load_history(path)
        .err()
        .map(|e| format!("cannot read the input history {}: {e}", path.display()))
}

/// The editor thread: one `readline` per request, until told to stop or nobody listens.
fn serve(
    mut editor: DefaultEditor,
    history: Option<PathBuf>,
    requests: &Receiver<Request>,
    typed: &mpsc::UnboundedSender<Typed>,
) {
    let mut warned = false;
    loop {
        let prompt = match requests.recv() {
            Ok(Request::Read(prompt)) => prompt,
            Ok(Request::Remember(line)) => {
                if let Err(problem) = remember(&mut editor, history.as_deref(), &line)
                    && !warned
                {
                    warned = true;
                    let _ = typed.send(Typed::Warning(problem));
                }
                continue;
            }
            Ok(Request::Stop) | Err(_) => break,
        };
        let answer = match editor.readline(&prompt) {
            Ok(line) => Typed::Line(line),
            Err(ReadlineError::Interrupted) => Typed::Interrupt,
            Err(ReadlineError::Eof) => Typed::Quit,
            Err(e) => {
                let _ = typed.send(Typed::Warning(format!("cannot read the terminal: {e}")));
                Typed::Quit
            }
        };
        if typed.send(answer).is_err() {
            break;
        }
    }
}

/// Add `line` to the history and append it to the file (created with mode 0600).
fn remember(editor: &mut DefaultEditor, path: Option<&Path>, line: &str) -> Result<(), String> {
    let _ = editor.add_history_entry(line);
    let Some(path) = path else {
        return Ok(());
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    editor
        .append_history(path)
        .map_err(|e| format!("cannot save the input history {}: {e}", path.display()))
}
