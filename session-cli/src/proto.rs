//! `session proto`: PROTOCOL.md over stdin and stdout, one JSON object per line.
//!
//! Each stdin line is parsed as a submission and handed to the session; a line that is not one
//! gets an `error` event written here directly (the session never saw it), and so does a line
//! longer than [`MAX_LINE`], which is dropped as it is read. Every event goes to stdout as one
//! line, flushed at once. The end of stdin shuts the session down. Nothing but protocol lines
//! may ever reach stdout.

use std::io::Write;

use anyhow::{Context, Result};
use session_core::{Event, EventMsg, Op, Session, Submission, parse_submission};
use tokio::io::BufReader;

use self::lines::{BoundedLines, Line, MAX_LINE};
use crate::app::Outcome;
use crate::term;

pub(crate) mod lines;

/// Serve the protocol until `shutdown_complete`.
///
/// # Errors
///
/// When stdout cannot be written.
pub(crate) async fn run(mut session: Session) -> Result<Outcome> {
    let submitter = session.submitter();
    // Buffered; flushed whenever the session has no more events waiting, so a client sees
    // every event promptly while a burst of deltas costs a few writes, not one per event.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, term::stdout());
    let mut write = move |event: &Event, flush: bool| -> Result<()> {
        serde_json::to_writer(&mut out, event).context("cannot encode an event")?;
        out.write_all(b"\n")?;
        if flush {
            out.flush()?;
        }
        Ok(())
    };
    let mut stdin = BoundedLines::new(
        BufReader::with_capacity(64 * 1024, tokio::io::stdin()),
        MAX_LINE,
    );
    let mut reading = true;
    loop {
        tokio::select! {
            event = session.next_event() => {
                let Some(event) = event else { break };
                let last = matches!(event.msg, EventMsg::ShutdownComplete);
                write(&event, last || !session.has_buffered_events())?;
                if matches!(event.msg, EventMsg::ShutdownComplete) {
                    break;
                }
            }
            read = stdin.next_line(), if reading => {
                let line = match read {
                    Ok(Some(Line::Complete(bytes))) => String::from_utf8(bytes),
                    Ok(Some(Line::TooLong)) => {
                        let message = format!(
                            "invalid input: line longer than {} MiB, skipped",
                            MAX_LINE / (1024 * 1024)
                        );
                        write(&error_event(String::new(), message), true)?;
                        continue;
                    }
                    // The end of input (or unreadable input) behaves like `shutdown`.
                    Ok(None) | Err(_) => {
                        reading = false;
                        let shutdown = Submission { id: String::new(), op: Op::Shutdown };
                        if submitter.submit_with_id(shutdown).await.is_err() {
                            break;
                        }
                        continue;
                    }
                };
                let Ok(line) = line else {
                    write(&error_event(String::new(), "invalid input: not UTF-8".to_owned()), true)?;
                    continue;
                };
                if line.trim().is_empty() {
                    continue;
                }
                match parse_submission(line.trim_end()) {
                    Ok(submission) => {
                        let id = submission.id.clone();
                        let is_shutdown = matches!(submission.op, Op::Shutdown);
                        if submitter.submit_with_id(submission).await.is_err() {
                            write(&error_event(id, "the session has ended".to_owned()), true)?;
                            break;
                        }
                        if is_shutdown {
                            reading = false;
                        }
                    }
                    Err(e) => write(&error_event(e.id, e.message), true)?,
                }
            }
        }
    }
    Ok(Outcome::Done)
}

fn error_event(id: String, message: String) -> Event {
    Event {
        id,
        msg: EventMsg::Error { message },
    }
}
