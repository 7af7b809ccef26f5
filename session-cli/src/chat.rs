//! `session chat` (and `session resume` without a prompt): the interactive loop.
//!
//! Lines typed at the `> ` prompt become user input at once, also while a turn runs (the core
//! queues them into it). Approval requests take the next line as their answer. Ctrl-C
//! interrupts the running turn and returns to the prompt. `/quit` shuts the session down at
//! once (aborting a running turn); the end of piped input first lets the session answer what
//! was typed (approvals are then denied), so `echo question | session chat` works.
//!
//! On a terminal the lines come from a line editor with history (`editor`) and all output goes
//! above its prompt (`screen`); otherwise lines are read plainly and the prompt is written on
//! stderr. This module decides what lines mean; it never reads the terminal itself.

mod command;
mod editor;
mod screen;

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use session_core::{EventMsg, Op, ReviewDecision, Session, Submitter};
use tokio::signal::unix::{SignalKind, signal};

use crate::app::Outcome;
use crate::approval::{self, Pending};
use crate::config::Settings;
use crate::input::Lines;
use crate::render::Renderer;
use crate::spinner::{self, Spinner};
use crate::term::{self, Style};
use command::{Command, parse_command, status_text};
use editor::{Control, Input, Reading, Typed};
use screen::{Output, Sink};

struct Chat<'a> {
    settings: &'a Settings,
    session_id: String,
    submitter: Submitter,
    renderer: Renderer<Sink, Sink>,
    /// Where `/status` goes (stdout).
    out: Sink,
    /// Where notes, prompts and questions go (stderr).
    err: Sink,
    err_style: Style,
    spinner: Spinner,
    running: bool,
    approvals: VecDeque<Pending>,
    /// Lines submitted that no `user_message` has shown yet: they will start a turn.
    undelivered: usize,
    /// The input has ended: nobody can answer approvals, and the chat ends once idle.
    eof: bool,
    /// The line editor, which shows its own prompt; `None` when reading plain lines.
    editor: Option<Control>,
}

impl Chat<'_> {
    fn note(&mut self, message: &str) {
        self.err.say(&format!("session: {message}\n"));
    }

    fn prompt(&mut self) {
        if self.running || !self.approvals.is_empty() {
            return;
        }
        let _ = self.renderer.finish_message();
        if self.editor.is_some() {
            return;
        }
        let prompt = self.err_style.bold("> ");
        self.err.say(&prompt);
    }

    fn ask_front(&mut self) {
        let Some(front) = self.approvals.front() else {
            return;
        };
        let question = front.question(self.err_style);
        let text = match &self.editor {
            // The editor is about to read the answer: its prompt is the question's last line.
            Some(editor) if editor.reading().is_none() => match question.rsplit_once('\n') {
                Some((body, _)) => format!("{body}\n"),
                None => question,
            },
            _ => question,
        };
        let _ = self.renderer.finish_message();
        // One piece, so the question never shows without its end.
        self.err.say(&text);
    }

    /// Keep the editor reading: the answer to the front approval, or the next input.
    fn listen(&mut self) {
        let Some(editor) = &mut self.editor else {
            return;
        };
        match self.approvals.front() {
            Some(front) => {
                let question = front.question(Style::plain());
                let prompt = question.rsplit('\n').next().unwrap_or("> ");
                editor.read(prompt, Reading::Answer);
            }
            None => editor.read("> ", Reading::Input),
        }
    }

    async fn on_event(&mut self, msg: &EventMsg) -> Result<()> {
        self.spinner.around(msg);
        if let EventMsg::SessionConfigured {
            initial_messages: Some(messages),
            ..
        } = msg
        {
            self.renderer.replay(messages)?;
        }
        self.renderer.event(msg)?;
        match msg {
            EventMsg::TaskStarted { .. } => self.running = true,
            EventMsg::UserMessage { message } => {
                // Chat input is one line a submission; input delivered together is joined
                // with newlines.
                self.undelivered = self
                    .undelivered
                    .saturating_sub(message.lines().count().max(1));
            }
            EventMsg::Error { .. } if !self.running => self.prompt(),
            _ if msg.is_turn_terminal() => {
                self.running = false;
                self.approvals.clear();
                self.prompt();
            }
            _ => {}
        }
        if let Some(pending) = Pending::from_event(msg) {
            if self.eof {
                self.note(&pending.auto_denied_note());
                pending
                    .answer(&self.submitter, ReviewDecision::Denied)
                    .await
                    .context("the session has ended")?;
            } else {
                self.approvals.push_back(pending);
                if self.approvals.len() == 1 {
                    self.ask_front();
                }
            }
        }
        Ok(())
    }

    /// The input ended: deny what waits for an answer; the chat ends once idle.
    async fn on_eof(&mut self) -> Result<()> {
        self.eof = true;
        while let Some(pending) = self.approvals.pop_front() {
            self.note(&pending.auto_denied_note());
            pending
                .answer(&self.submitter, ReviewDecision::Denied)
                .await
                .context("the session has ended")?;
        }
        Ok(())
    }

    /// Ctrl-C: interrupt the running turn, or remind how to leave.
    async fn on_interrupt(&mut self) -> Result<()> {
        self.spinner.stop();
        if self.running {
            self.note("interrupting the turn");
            self.submitter
                .interrupt()
                .await
                .context("the session has ended")?;
        } else {
            if self.editor.is_none() {
                // End the line the terminal echoed `^C` on.
                self.err.say("\n");
            }
            self.note("type /quit (or press Ctrl-D) to leave");
            self.prompt();
        }
        Ok(())
    }

    /// Whether nothing runs and nothing submitted is still to start.
    fn idle(&self) -> bool {
        !self.running && self.undelivered == 0 && self.approvals.is_empty()
    }

    /// Handle what was typed; `false` when the chat should end.
    async fn on_typed(&mut self, typed: Typed) -> Result<bool> {
        // A warning comes between reads; everything else answers the editor's read.
        if let (Some(editor), false) = (&mut self.editor, matches!(typed, Typed::Warning(_))) {
            editor.answered();
        }
        let go_on = match typed {
            Typed::Line(line) => {
                // Input and commands go into the history; answers to approvals do not.
                if let (Some(editor), true) = (&mut self.editor, self.approvals.is_empty()) {
                    editor.remember(&line);
                }
                self.on_line(&line).await?
            }
            Typed::Interrupt => {
                self.on_interrupt().await?;
                true
            }
            Typed::Quit => false,
            // The end of piped input quits, once what was asked for is answered.
            Typed::End => {
                self.on_eof().await?;
                !self.idle()
            }
            Typed::Warning(text) => {
                self.note(&text);
                return Ok(true);
            }
        };
        if go_on {
            self.listen();
        }
        Ok(go_on)
    }

    /// Handle a line; `false` when the chat should end.
    async fn on_line(&mut self, line: &str) -> Result<bool> {
        if !self.approvals.is_empty() {
            match approval::parse_decision(line) {
                Some(decision) => self.decide(decision).await?,
                None => self.ask_front(),
            }
            return Ok(true);
        }
        match parse_command(line) {
            Command::Nothing => self.prompt(),
            Command::Input(text) => {
                self.submitter
                    .user_input(text)
                    .await
                    .context("the session has ended")?;
                self.undelivered += 1;
                self.start_waiting();
            }
            Command::Status => {
                self.status()?;
                self.prompt();
            }
            Command::Compact => {
                self.submitter
                    .submit(Op::Compact)
                    .await
                    .context("the session has ended")?;
                self.start_waiting();
            }
            Command::Quit => return Ok(false),
            Command::Unknown(name) => {
                self.note(&format!(
                    "unknown command `{name}`; try /status, /compact or /quit"
                ));
                self.prompt();
            }
        }
        Ok(true)
    }

    fn start_waiting(&mut self) {
        if !self.running {
            self.running = true;
            self.spinner.start();
        }
    }

    async fn decide(&mut self, decision: ReviewDecision) -> Result<()> {
        if let Some(front) = self.approvals.pop_front() {
            self.note(approval::decision_text(decision));
            front
                .answer(&self.submitter, decision)
                .await
                .context("the session has ended")?;
        }
        self.ask_front();
        Ok(())
    }

    fn status(&mut self) -> Result<()> {
        let text = status_text(self.settings, &self.session_id, self.renderer.last_info());
        let _ = self.renderer.finish_message();
        write!(self.out, "{text}")?;
        self.out.flush()?;
        Ok(())
    }
}

/// Run the chat until `/quit`, Ctrl-D, the end of input, or the end of the session.
///
/// # Errors
///
/// When output cannot be written or the session cannot be reached.
pub(crate) async fn run(mut session: Session, settings: &Settings, home: &Path) -> Result<Outcome> {
    // Listen for Ctrl-C before the editor starts: rustyline swaps the SIGINT handler while it
    // reads and puts back the one it found, which must be tokio's.
    let mut sigint = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    term::note(&format!(
        "chatting with {} (provider {}); /status, /compact, /quit",
        settings.model, settings.provider_id
    ));
    let editor = if term::stdin_is_terminal() && term::stdout_is_terminal() {
        editor::start(Some(editor::history_path(home)))
    } else {
        None
    };
    let Some(editor) = editor else {
        let terminal = term::stdout_is_terminal() && term::stderr_is_terminal();
        let mut chat = Chat::new(
            &session,
            settings,
            &Output::Plain,
            Spinner::new(terminal),
            None,
        );
        let mut input = Input::Plain(Lines::stdin());
        let outcome = drive(&mut chat, &mut session, &mut input, &mut sigint).await;
        return finish(&mut chat, &mut session, outcome).await;
    };
    let output = Output::Screen(editor.screen);
    // A spinner would draw over the editor's prompt.
    let mut chat = Chat::new(
        &session,
        settings,
        &output,
        Spinner::new(false),
        Some(editor.control),
    );
    drop(output);
    if let Some(warning) = &editor.warning {
        chat.note(warning);
    }
    let mut input = editor.input;
    let outcome = drive(&mut chat, &mut session, &mut input, &mut sigint).await;
    let outcome = finish(&mut chat, &mut session, outcome).await;
    let control = chat.editor.take();
    // The screen handles go with the chat; then the printer can finish.
    drop(chat);
    if let Some(control) = control {
        editor.threads.finish(control);
    }
    outcome
}

impl<'a> Chat<'a> {
    fn new(
        session: &Session,
        settings: &'a Settings,
        output: &Output,
        spinner: Spinner,
        editor: Option<Control>,
    ) -> Self {
        Self {
            settings,
            session_id: session.id().to_owned(),
            submitter: session.submitter(),
            renderer: Renderer::new(
                output.out(),
                output.err(),
                Style::for_stdout(),
                Style::for_stderr(),
            ),
            out: output.out(),
            err: output.err(),
            err_style: Style::for_stderr(),
            spinner,
            running: false,
            approvals: VecDeque::new(),
            undelivered: 0,
            eof: false,
            editor,
        }
    }
}

/// The event loop: events, typed input, Ctrl-C and spinner ticks, until the chat ends.
async fn drive(
    chat: &mut Chat<'_>,
    session: &mut Session,
    input: &mut Input,
    sigint: &mut tokio::signal::unix::Signal,
) -> Result<Outcome> {
    let mut ticker = tokio::time::interval(spinner::TICK);
    let mut configured = false;
    loop {
        tokio::select! {
            event = session.next_event() => {
                let Some(event) = event else {
                    return Ok(Outcome::Failed);
                };
                chat.on_event(&event.msg).await?;
                if !configured {
                    configured = true;
                    chat.prompt();
                    chat.listen();
                }
                if chat.eof && chat.idle() {
                    return Ok(Outcome::Done);
                }
            }
            typed = input.next(), if !chat.eof => {
                if !chat.on_typed(typed).await? {
                    return Ok(Outcome::Done);
                }
            }
            _ = sigint.recv() => chat.on_interrupt().await?,
            _ = ticker.tick(), if chat.spinner.is_active() => chat.spinner.tick(),
        }
    }
}

/// Shut the session down after the loop ended with `outcome`.
async fn finish(
    chat: &mut Chat<'_>,
    session: &mut Session,
    outcome: Result<Outcome>,
) -> Result<Outcome> {
    chat.spinner.stop();
    let _ = chat.renderer.finish_message();
    match outcome {
        Ok(Outcome::Done) => {}
        other => return other,
    }
    session
        .shutdown()
        .await
        .context("cannot shut the session down")?;
    // What the aborted turn still sends is not shown; only problems are.
    while let Some(event) = session.next_event().await {
        match event.msg {
            EventMsg::ShutdownComplete => break,
            EventMsg::Error { .. } => chat.renderer.event(&event.msg)?,
            _ => {}
        }
    }
    Ok(Outcome::Done)
}
