//! Human rendering of session events: streamed agent text, each command with its output, patch
//! summaries, diffs, and the token summary. Output goes to `out` (stdout), diagnostics to `err`
//! (stderr). Colours come from the `Style`s, which are plain when not on a terminal.
//!
//! The renderer only draws; it never answers approvals or submits anything.

use std::collections::HashSet;
use std::io::{self, Write};

use session_core::{
    EventMsg, FileChange, McpStartupStatus, StepStatus, TokenUsage, TokenUsageInfo,
};

use crate::term::{Style, display_command};

/// How a capture's omission marker ends (`[... N bytes omitted ...]`).
const OMITTED_END: &str = " bytes omitted ...]\n";

/// Renders events for a person.
#[derive(Debug)]
pub(crate) struct Renderer<O: Write, E: Write> {
    out: O,
    err: E,
    style: Style,
    err_style: Style,
    /// Whether the last byte written to `out` was a newline (or nothing was written).
    at_line_start: bool,
    /// Whether anything was written to `out`, so the next block gets a blank line before it.
    printed: bool,
    /// Deltas of agent messages are on screen.
    in_message: bool,
    /// Streamed text not yet matched by a whole `agent_message` (one response may stream
    /// several messages before the first whole one arrives).
    streamed: String,
    /// Calls whose output was streamed as it came.
    streamed_calls: HashSet<String>,
    turn_usage: TokenUsage,
    last_info: Option<TokenUsageInfo>,
}

impl<O: Write, E: Write> Renderer<O, E> {
    /// A renderer writing to `out` and `err`.
    pub(crate) fn new(out: O, err: E, style: Style, err_style: Style) -> Self {
        Self {
            out,
            err,
            style,
            err_style,
            at_line_start: true,
            printed: false,
            in_message: false,
            streamed: String::new(),
            streamed_calls: HashSet::new(),
            turn_usage: TokenUsage::default(),
            last_info: None,
        }
    }

    /// The last `token_count` info seen.
    pub(crate) fn last_info(&self) -> Option<TokenUsageInfo> {
        self.last_info
    }

    /// Render one event.
    pub(crate) fn event(&mut self, msg: &EventMsg) -> io::Result<()> {
        match msg {
            EventMsg::TaskStarted { .. } => {
                self.turn_usage = TokenUsage::default();
            }
            EventMsg::AgentMessageDelta { delta } => {
                if !self.in_message {
                    self.start_block()?;
                    self.in_message = true;
                }
                self.streamed.push_str(delta);
                self.write_out(delta)?;
            }
            EventMsg::AgentMessage { message } => {
                if self.streamed.is_empty() {
                    self.start_block()?;
                    self.write_out(message.trim_start_matches('\n'))?;
                    self.end_line()?;
                    self.in_message = false;
                } else {
                    // Already on screen: drop its text from what was streamed.
                    match self.streamed.strip_prefix(message.as_str()) {
                        Some(rest) => self.streamed = rest.to_owned(),
                        None => self.streamed.clear(),
                    }
                    if self.streamed.is_empty() {
                        self.end_line()?;
                        self.in_message = false;
                    }
                }
            }
            EventMsg::AgentReasoning { text } if self.style.enabled() => {
                self.start_block()?;
                let text = self.style.dim(&format!("thinking: {}", text.trim()));
                self.write_out(&text)?;
                self.end_line()?;
            }
            EventMsg::ExecCommandBegin { command, .. } => {
                self.start_block()?;
                let line = self.style.bold(&format!("$ {}", display_command(command)));
                self.write_out(&line)?;
                self.end_line()?;
            }
            EventMsg::ExecCommandOutputDelta { call_id, chunk, .. } => {
                self.streamed_calls.insert(call_id.clone());
                let text = String::from_utf8_lossy(chunk);
                let shown = self.style.dim(&text);
                self.write_out(&shown)?;
            }
            EventMsg::ExecCommandEnd {
                call_id,
                aggregated_output,
                exit_code,
                ..
            } => {
                if !self.streamed_calls.remove(call_id) {
                    if !aggregated_output.is_empty() {
                        let shown = self.style.dim(aggregated_output);
                        self.write_out(&shown)?;
                    }
                } else if let Some((_, tail)) = aggregated_output.rsplit_once(OMITTED_END) {
                    // The stream stopped at its cap: show the end of the output too.
                    let shown = self
                        .style
                        .dim(&format!("\n[... output not shown ...]\n{tail}"));
                    self.write_out(&shown)?;
                }
                self.end_line()?;
                if *exit_code != 0 {
                    let line = if *exit_code == -1 {
                        "(killed)".to_owned()
                    } else {
                        format!("exit code {exit_code}")
                    };
                    let line = self.style.red(&line);
                    self.write_out(&line)?;
                    self.end_line()?;
                }
            }
            EventMsg::PatchApplyBegin { changes, .. } => {
                self.start_block()?;
                let head = self.style.bold("patch:");
                self.write_out(&head)?;
                self.end_line()?;
                for (path, change) in changes {
                    let line = match change {
                        FileChange::Add { .. } => format!("  A {}", path.display()),
                        FileChange::Delete => format!("  D {}", path.display()),
                        FileChange::Update {
                            move_path: Some(to),
                            ..
                        } => format!("  M {} -> {}", path.display(), to.display()),
                        FileChange::Update { .. } => format!("  M {}", path.display()),
                    };
                    self.write_out(&line)?;
                    self.end_line()?;
                }
            }
            EventMsg::PatchApplyEnd {
                success: false,
                stderr,
                ..
            } => {
                let line = self.style.red(&format!("patch failed: {}", stderr.trim()));
                self.write_out(&line)?;
                self.end_line()?;
            }
            EventMsg::TurnDiff { unified_diff } if !unified_diff.trim().is_empty() => {
                self.start_block()?;
                for line in unified_diff.lines() {
                    let shown = if line.starts_with("+++") || line.starts_with("---") {
                        self.style.bold(line)
                    } else if line.starts_with('+') {
                        self.style.green(line)
                    } else if line.starts_with('-') {
                        self.style.red(line)
                    } else if line.starts_with("@@") {
                        self.style.cyan(line)
                    } else {
                        line.to_owned()
                    };
                    self.write_out(&shown)?;
                    self.end_line()?;
                }
            }
            EventMsg::PlanUpdate { explanation, plan } => {
                self.start_block()?;
                self.write_out(&self.style.bold("plan"))?;
                self.end_line()?;
                if let Some(why) = explanation.as_deref().filter(|w| !w.trim().is_empty()) {
                    self.write_out(&self.style.dim(&format!("  {}", why.trim())))?;
                    self.end_line()?;
                }
                for item in plan {
                    let line = match item.status {
                        StepStatus::Completed => self.style.dim(&format!("  [x] {}", item.step)),
                        StepStatus::InProgress => self.style.cyan(&format!("  [>] {}", item.step)),
                        _ => format!("  [ ] {}", item.step),
                    };
                    self.write_out(&line)?;
                    self.end_line()?;
                }
            }
            EventMsg::McpStartupUpdate { server, status } => match status {
                McpStartupStatus::Failed { error } => {
                    let line = format!("mcp server {server} failed to start: {error}");
                    self.err_line(&self.err_style.red(&line))?;
                }
                McpStartupStatus::Ready { tools } => {
                    let line = format!("mcp server {server} ready ({} tools)", tools.len());
                    self.err_line(&self.err_style.dim(&line))?;
                }
                _ => {}
            },
            EventMsg::McpToolCallBegin { server, tool, .. } => {
                self.start_block()?;
                let line = self.style.bold(&format!("mcp {server}.{tool}"));
                self.write_out(&line)?;
                self.end_line()?;
            }
            EventMsg::McpToolCallEnd {
                error: Some(error), ..
            } => {
                let line = self.style.red(&format!("  failed: {error}"));
                self.write_out(&line)?;
                self.end_line()?;
            }
            EventMsg::TokenCount { info, .. } => {
                self.turn_usage.add(&info.last_token_usage);
                self.last_info = Some(*info);
            }
            EventMsg::TaskComplete { .. } => self.finish_message()?,
            EventMsg::TurnAborted { .. } => {
                self.finish_message()?;
                self.err_line(&self.err_style.red("turn interrupted"))?;
            }
            EventMsg::Error { message } => {
                self.finish_message()?;
                self.err_line(&self.err_style.red(&format!("error: {message}")))?;
            }
            EventMsg::StreamError { message } => {
                self.err_line(&self.err_style.dim(&format!("stream error: {message}")))?;
            }
            EventMsg::BackgroundEvent { message } => {
                self.err_line(&self.err_style.dim(message))?;
            }
            _ => {}
        }
        self.out.flush()
    }

    /// Render a resumed session's history: the user's and the agent's messages.
    pub(crate) fn replay(&mut self, messages: &[EventMsg]) -> io::Result<()> {
        for msg in messages {
            match msg {
                EventMsg::UserMessage { message } => {
                    self.start_block()?;
                    let line = self.style.bold(&format!("> {}", message.trim_end()));
                    self.write_out(&line)?;
                    self.end_line()?;
                }
                EventMsg::AgentMessage { message } => {
                    self.start_block()?;
                    self.write_out(message.trim())?;
                    self.end_line()?;
                }
                EventMsg::TokenCount { info, .. } => self.last_info = Some(*info),
                _ => {}
            }
        }
        self.out.flush()
    }

    /// Print the token usage of the last turn, when there was any.
    pub(crate) fn token_summary(&mut self) -> io::Result<()> {
        let usage = self.turn_usage;
        if usage.input_tokens == 0 && usage.output_tokens == 0 {
            return Ok(());
        }
        self.start_block()?;
        let mut line = format!(
            "tokens: {} in, {} out",
            usage.input_tokens, usage.output_tokens
        );
        if usage.cached_input_tokens > 0 {
            line.push_str(&format!(" ({} cached)", usage.cached_input_tokens));
        }
        let line = self.style.dim(&line);
        self.write_out(&line)?;
        self.end_line()?;
        self.out.flush()
    }

    /// End a half-written line on stdout, e.g. before a prompt.
    pub(crate) fn finish_message(&mut self) -> io::Result<()> {
        self.in_message = false;
        self.streamed.clear();
        self.end_line()?;
        self.out.flush()
    }

    fn start_block(&mut self) -> io::Result<()> {
        self.end_line()?;
        if self.printed {
            self.out.write_all(b"\n")?;
        }
        self.printed = true;
        Ok(())
    }

    fn write_out(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        self.out.write_all(text.as_bytes())?;
        self.printed = true;
        // A styled chunk ends with the reset code; look at the text before it.
        let bare = text.strip_suffix("\x1b[0m").unwrap_or(text);
        self.at_line_start = bare.ends_with('\n');
        Ok(())
    }

    fn end_line(&mut self) -> io::Result<()> {
        if !self.at_line_start {
            self.out.write_all(b"\n")?;
            self.at_line_start = true;
        }
        Ok(())
    }

    fn err_line(&mut self, line: &str) -> io::Result<()> {
        self.out.flush()?;
        writeln!(self.err, "{line}")?;
        self.err.flush()
    }
}

#[cfg(test)]
mod tests;
