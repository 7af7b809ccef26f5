//! `session chat` (and `session resume` without a prompt): the interactive loop.
//!
//! Lines typed at the `> ` prompt (on stderr) become user input at once, also while a turn
//! runs (the core queues them into it). Approval requests take the next line as their answer.
//! Ctrl-C interrupts the running turn and returns to the prompt. `/quit` shuts the session
//! down at once (aborting a running turn); the end of input first lets the session answer
//! what was typed (approvals are then denied), so `echo question | session chat` works.
//! Plain line reading: no line editor or input history.

use std::collections::VecDeque;
use std::io::{self, Write};

use anyhow::{Context, Result};
use session_core::{EventMsg, Op, ReviewDecision, Session, Submitter, TokenUsageInfo};
use tokio::signal::unix::{SignalKind, signal};

use crate::app::Outcome;
use crate::approval::{self, Pending};
use crate::config::Settings;
use crate::input::Lines;
use crate::render::Renderer;
use crate::spinner::{self, Spinner};
use crate::term::{self, Quiet, Style};

/// What a line typed at the prompt means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Nothing (an empty line).
    Nothing,
    /// Text for the agent.
    Input(String),
    /// `/status`.
    Status,
    /// `/compact`.
    Compact,
    /// `/quit` or `/exit`.
    Quit,
    /// A slash command we do not know.
    Unknown(String),
}

/// Read a prompt line.
pub(crate) fn parse_command(line: &str) -> Command {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Command::Nothing;
    }
    match trimmed {
        "/status" => Command::Status,
        "/compact" => Command::Compact,
        "/quit" | "/exit" => Command::Quit,
        other if other.starts_with('/') && !other.contains(char::is_whitespace) => {
            Command::Unknown(other.to_owned())
        }
        _ => Command::Input(line.to_owned()),
    }
}

struct Chat<'a> {
    settings: &'a Settings,
    session_id: String,
    submitter: Submitter,
    renderer: Renderer<Quiet<io::Stdout>, Quiet<io::Stderr>>,
    err_style: Style,
    spinner: Spinner,
    running: bool,
    approvals: VecDeque<Pending>,
    /// Lines submitted that no `user_message` has shown yet: they will start a turn.
    undelivered: usize,
    /// The input has ended: nobody can answer approvals, and the chat ends once idle.
    eof: bool,
}

impl Chat<'_> {
    fn prompt(&mut self) {
        if self.running || !self.approvals.is_empty() {
            return;
        }
        let _ = self.renderer.finish_message();
        let mut err = term::stderr();
        let _ = write!(err, "{}", self.err_style.bold("> "));
        let _ = err.flush();
    }

    fn ask_front(&mut self) {
        if let Some(front) = self.approvals.front() {
            let _ = self.renderer.finish_message();
            let mut err = term::stderr();
            let _ = write!(err, "{}", front.question(self.err_style));
            let _ = err.flush();
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
                term::note(&pending.auto_denied_note());
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
            term::note(&pending.auto_denied_note());
            pending
                .answer(&self.submitter, ReviewDecision::Denied)
                .await
                .context("the session has ended")?;
        }
        Ok(())
    }

    /// Whether nothing runs and nothing submitted is still to start.
    fn idle(&self) -> bool {
        !self.running && self.undelivered == 0 && self.approvals.is_empty()
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
                term::note(&format!(
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
            term::note(approval::decision_text(decision));
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
        let mut out = term::stdout();
        write!(out, "{text}")?;
        out.flush()?;
        Ok(())
    }
}

/// The `/status` report.
pub(crate) fn status_text(
    settings: &Settings,
    session_id: &str,
    info: Option<TokenUsageInfo>,
) -> String {
    let mut text = format!(
        "model:        {} (provider {})\nsession:      {session_id}\n",
        settings.model, settings.provider_id
    );
    let total = info.map(|i| i.total_token_usage).unwrap_or_default();
    text.push_str(&format!(
        "tokens used:  {} in, {} out ({} total)\n",
        total.input_tokens, total.output_tokens, total.total_tokens
    ));
    let window = info
        .and_then(|i| i.model_context_window)
        .or(settings.context_window);
    match window {
        Some(window) if window > 0 => {
            let used = info.map_or(0, |i| i.last_token_usage.tokens_in_context());
            let left = 100u64.saturating_sub(used.saturating_mul(100) / window);
            text.push_str(&format!("context left: {left}% of {window} tokens\n"));
        }
        _ => text.push_str("context left: unknown (no context window configured)\n"),
    }
    text
}

/// Run the chat until `/quit`, the end of input, or the end of the session.
///
/// # Errors
///
/// When output cannot be written or the session cannot be reached.
pub(crate) async fn run(mut session: Session, settings: &Settings) -> Result<Outcome> {
    let terminal = term::stdout_is_terminal() && term::stderr_is_terminal();
    let mut chat = Chat {
        settings,
        session_id: session.id().to_owned(),
        submitter: session.submitter(),
        renderer: Renderer::new(
            term::stdout(),
            term::stderr(),
            Style::for_stdout(),
            Style::for_stderr(),
        ),
        err_style: Style::for_stderr(),
        spinner: Spinner::new(terminal),
        running: false,
        approvals: VecDeque::new(),
        undelivered: 0,
        eof: false,
    };
    term::note(&format!(
        "chatting with {} (provider {}); /status, /compact, /quit",
        settings.model, settings.provider_id
    ));
    let mut lines = Lines::stdin();
    let mut sigint = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let mut ticker = tokio::time::interval(spinner::TICK);
    let mut configured = false;
    loop {
        tokio::select! {
            event = session.next_event() => {
                let Some(event) = event else {
                    chat.spinner.stop();
                    return Ok(Outcome::Failed);
                };
                chat.on_event(&event.msg).await?;
                if !configured {
                    configured = true;
                    chat.prompt();
                }
                if chat.eof && chat.idle() {
                    break;
                }
            }
            line = lines.next(), if !chat.eof => {
                match line {
                    Some(line) => {
                        if !chat.on_line(&line).await? {
                            break;
                        }
                    }
                    // The end of input quits, once what was asked for is answered.
                    None => {
                        chat.on_eof().await?;
                        if chat.idle() {
                            break;
                        }
                    }
                }
            }
            _ = sigint.recv() => {
                chat.spinner.stop();
                if chat.running {
                    term::note("interrupting the turn");
                    chat.submitter.interrupt().await.context("the session has ended")?;
                } else {
                    let _ = writeln!(term::stderr());
                    term::note("type /quit (or press Ctrl-D) to leave");
                    chat.prompt();
                }
            }
            _ = ticker.tick(), if chat.spinner.is_active() => chat.spinner.tick(),
        }
    }
    chat.spinner.stop();
    let _ = chat.renderer.finish_message();
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

#[cfg(test)]
mod tests;
