//! `session exec` (and `session resume … PROMPT`): run one turn to completion, show it, shut the
//! session down, and report how it went as an exit code.
//!
//! Human output on stdout (plain when piped), or with `--json` exactly one protocol event per
//! line and nothing else. Approvals are asked on the terminal when there is one, otherwise
//! denied with a note on stderr. It must always shut the session down before returning, except
//! on a second Ctrl-C, which leaves at once.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use anyhow::{Context, Result, bail};
use session_core::{Event, EventMsg, ReviewDecision, Session, Submitter};
use tokio::signal::unix::{SignalKind, signal};

use crate::app::Outcome;
use crate::approval::{self, Pending};
use crate::args::RunOptions;
use crate::input::Lines;
use crate::render::Renderer;
use crate::spinner::{self, Spinner};
use crate::term::{self, Quiet, Style};

/// The prompt from the argument, or from stdin for `-` or when none is given and stdin is piped.
///
/// # Errors
///
/// When there is no prompt, or it is empty.
pub(crate) fn read_prompt(arg: Option<&str>) -> Result<String> {
    let prompt = match arg {
        Some("-") => read_stdin()?,
        Some(prompt) => prompt.to_owned(),
        None if term::stdin_is_terminal() => {
            bail!("no prompt: give one as an argument, or `-` to read it from stdin")
        }
        None => read_stdin()?,
    };
    if prompt.trim().is_empty() {
        bail!("the prompt is empty");
    }
    Ok(prompt)
}

fn read_stdin() -> Result<String> {
    let mut text = String::new();
    io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the prompt from stdin")?;
    Ok(text.trim_end().to_owned())
}

/// Who answers approval requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asker {
    /// Nobody: deny, and say so on stderr.
    Nobody,
    /// Lines of stdin (a terminal).
    Stdin,
    /// Lines of `/dev/tty` (stdin is piped, stderr is a terminal).
    Tty,
}

impl Asker {
    fn detect() -> Self {
        if term::stdin_is_terminal() {
            Asker::Stdin
        } else if term::stderr_is_terminal() && std::fs::File::open("/dev/tty").is_ok() {
            Asker::Tty
        } else {
            Asker::Nobody
        }
    }
}

/// Where events go.
enum Sink {
    /// Buffered: flushed when the session has no more events waiting, so a burst of deltas
    /// becomes a few large writes instead of one syscall per event.
    Json(io::BufWriter<Quiet<io::Stdout>>),
    Human(Box<Renderer<Quiet<io::Stdout>, Quiet<io::Stderr>>>),
}

impl Sink {
    fn show(&mut self, event: &Event) -> Result<()> {
        match self {
            Sink::Json(out) => {
                serde_json::to_writer(&mut *out, event).context("cannot encode an event")?;
                out.write_all(b"\n")?;
            }
            Sink::Human(renderer) => renderer.event(&event.msg)?,
        }
        Ok(())
    }

    /// Write out what is buffered.
    fn flush(&mut self) -> Result<()> {
        if let Sink::Json(out) = self {
            out.flush()?;
        }
        Ok(())
    }
}

/// The approval requests of the turn and the answers being read.
struct Approvals {
    asker: Asker,
    lines: Option<Lines>,
    queue: VecDeque<Pending>,
    style: Style,
}

impl Approvals {
    fn asking(&self) -> bool {
        self.asker != Asker::Nobody && !self.queue.is_empty()
    }

    /// Take a new request: deny it at once when nobody can answer, or ask.
    async fn request(&mut self, pending: Pending, submitter: &Submitter) -> Result<()> {
        if self.asker == Asker::Nobody {
            term::note(&pending.auto_denied_note());
            pending.answer(submitter, ReviewDecision::Denied).await?;
            return Ok(());
        }
        if self.lines.is_none() {
            self.lines = Some(match self.asker {
                Asker::Tty => Lines::tty().context("cannot open the terminal to ask")?,
                _ => Lines::stdin(),
            });
        }
        self.queue.push_back(pending);
        if self.queue.len() == 1 {
            self.ask_front();
        }
        Ok(())
    }

    fn ask_front(&self) {
        if let Some(front) = self.queue.front() {
            let mut err = term::stderr();
            let _ = write!(err, "{}", front.question(self.style));
            let _ = err.flush();
        }
    }

    async fn next_line(&mut self) -> Option<String> {
        match &mut self.lines {
            Some(lines) => lines.next().await,
            None => std::future::pending().await,
        }
    }

    /// Handle an answer line (`None`: the input ended, which denies).
    async fn answer(&mut self, line: Option<String>, submitter: &Submitter) -> Result<()> {
        let decision = match &line {
            None => ReviewDecision::Denied,
            Some(line) => match approval::parse_decision(line) {
                Some(decision) => decision,
                None => {
                    self.ask_front();
                    return Ok(());
                }
            },
        };
        if line.is_none() {
            // Nobody is left to ask: deny the rest as well.
            self.asker = Asker::Nobody;
        }
        if let Some(front) = self.queue.pop_front() {
            term::note(approval::decision_text(decision));
            front.answer(submitter, decision).await?;
        }
        if self.asker == Asker::Nobody {
            while let Some(pending) = self.queue.pop_front() {
                term::note(&pending.auto_denied_note());
                pending.answer(submitter, ReviewDecision::Denied).await?;
            }
        }
        self.ask_front();
        Ok(())
    }
}

/// Run `prompt` as one turn of `session` and shut the session down.
///
/// # Errors
///
/// When output cannot be written or the session ends before the turn does.
pub(crate) async fn run(
    mut session: Session,
    prompt: String,
    opts: &RunOptions,
) -> Result<Outcome> {
    let mut sink = if opts.json {
        Sink::Json(io::BufWriter::with_capacity(64 * 1024, term::stdout()))
    } else {
        Sink::Human(Box::new(Renderer::new(
            term::stdout(),
            term::stderr(),
            Style::for_stdout(),
            Style::for_stderr(),
        )))
    };
    let terminal = term::stdout_is_terminal() && term::stderr_is_terminal();
    let mut spinner = Spinner::new(terminal && !opts.json);
    let mut approvals = Approvals {
        asker: Asker::detect(),
        lines: None,
        queue: VecDeque::new(),
        style: Style::for_stderr(),
    };
    let mut sigint = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let mut ticker = tokio::time::interval(spinner::TICK);
    let submitter = session.submitter();

    submitter
        .user_input(prompt)
        .await
        .context("the session ended before the prompt was sent")?;
    spinner.start();

    let mut failed = false;
    let mut interrupted = false;
    let mut last_message: Option<String> = None;
    loop {
        tokio::select! {
            event = session.next_event() => {
                let Some(event) = event else {
                    spinner.stop();
                    bail!("the session ended before the turn did");
                };
                spinner.around(&event.msg);
                sink.show(&event)?;
                if !session.has_buffered_events() || event.msg.is_turn_terminal() {
                    sink.flush()?;
                }
                match &event.msg {
                    EventMsg::Error { .. } => failed = true,
                    // Ctrl-C, or `x` at an approval prompt.
                    EventMsg::TurnAborted { .. } => interrupted = true,
                    EventMsg::AgentMessage { message } => last_message = Some(message.clone()),
                    EventMsg::TaskComplete { last_agent_message: Some(message) } => {
                        last_message = Some(message.clone());
                    }
                    _ => {}
                }
                if let Some(pending) = Pending::from_event(&event.msg) {
                    approvals.request(pending, &submitter).await?;
                }
                if event.msg.is_turn_terminal() {
                    break;
                }
            }
            line = approvals.next_line(), if approvals.asking() => {
                approvals.answer(line, &submitter).await?;
            }
            _ = sigint.recv() => {
                spinner.stop();
                if interrupted {
                    return Ok(Outcome::Interrupted);
                }
                interrupted = true;
                term::note("interrupting the turn (Ctrl-C again to quit at once)");
                submitter.interrupt().await.context("cannot interrupt the turn")?;
            }
            _ = ticker.tick(), if spinner.is_active() => spinner.tick(),
        }
    }
    spinner.stop();

    if let Some(path) = &opts.output_last_message {
        std::fs::write(path, last_message.as_deref().unwrap_or_default())
            .with_context(|| format!("cannot write the last message to {}", path.display()))?;
    }
    if let Sink::Human(renderer) = &mut sink {
        renderer.token_summary()?;
    }
    shutdown(&mut session, &mut sink).await?;
    Ok(if interrupted {
        Outcome::Interrupted
    } else if failed {
        Outcome::Failed
    } else {
        Outcome::Done
    })
}

/// Shut the session down and show the remaining events, up to `shutdown_complete`.
async fn shutdown(session: &mut Session, sink: &mut Sink) -> Result<()> {
    session
        .shutdown()
        .await
        .context("cannot shut the session down")?;
    while let Some(event) = session.next_event().await {
        sink.show(&event)?;
        if matches!(event.msg, EventMsg::ShutdownComplete) {
            break;
        }
    }
    sink.flush()
}
