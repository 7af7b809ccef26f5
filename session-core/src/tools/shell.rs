//! The `shell` tool: approval by policy, then the command through the `Shell` port with its
//! output streamed as events and kept for the model.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use session_services::{ExecEnd, ExecRequest};
use session_state::{ActiveTurn, ApprovalKind, AskForApproval, EventMsg, ReviewDecision};
use tokio::sync::mpsc;

use super::{is_known_safe_command, request_approval};
use crate::inner::SessionInner;
use crate::turn::{Stop, ToolCall};

/// Commands run at most this long unless the model asks otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// What the model sees of a command's output, at most.
const MODEL_OUTPUT_MAX_BYTES: usize = 10 * 1024;
const MODEL_OUTPUT_MAX_LINES: usize = 256;

#[derive(Debug, Deserialize)]
struct ShellArgs {
    command: Vec<String>,
    #[serde(default)]
    workdir: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
}

pub(super) async fn handle(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    call: &ToolCall,
) -> Result<String, Stop> {
    let args: ShellArgs = match serde_json::from_str(&call.arguments) {
        Ok(a) => a,
        Err(e) => return Ok(format!("invalid arguments for `shell`: {e}")),
    };
    if args.command.is_empty() || args.command[0].is_empty() {
        return Ok("invalid arguments for `shell`: `command` is empty".to_owned());
    }
    let ctx = inner.context();
    let cwd: PathBuf = match &args.workdir {
        Some(w) => ctx.cwd.join(w),
        None => ctx.cwd.clone(),
    };
    let argv = args.command;
    let needs_approval = ctx.approval_policy == AskForApproval::Untrusted
        && !is_known_safe_command(&argv)
        && !inner.is_approved_for_session(&argv);
    if needs_approval {
        let request = EventMsg::ExecApprovalRequest {
            call_id: call.call_id.clone(),
            command: argv.clone(),
            cwd: cwd.clone(),
            reason: None,
        };
        let decision = request_approval(
            inner,
            turn,
            &call.call_id,
            ApprovalKind::Exec,
            request,
            argv.clone(),
        )
        .await?;
        match decision {
            ReviewDecision::Approved => {}
            ReviewDecision::ApprovedForSession => inner.approve_for_session(argv.clone()).await,
            ReviewDecision::Denied => {
                return Ok("The user rejected this command; it did not run.".to_owned());
            }
            ReviewDecision::Abort => return Err(Stop::AbortRequested),
        }
    }
    run(inner, turn, call, argv, cwd, args.timeout_ms).await
}

async fn run(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    call: &ToolCall,
    argv: Vec<String>,
    cwd: PathBuf,
    timeout_ms: Option<u64>,
) -> Result<String, Stop> {
    let sub_id = turn.sub_id();
    inner.emit_now(
        sub_id,
        EventMsg::ExecCommandBegin {
            call_id: call.call_id.clone(),
            command: argv.clone(),
            cwd: cwd.clone(),
        },
    );
    let request = ExecRequest {
        argv: argv.clone(),
        cwd,
        env: std::collections::HashMap::new(),
        timeout: Some(timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis)),
    };
    let (tx, mut rx) = mpsc::channel(64);
    let shell = Arc::clone(&inner.services.shell);
    let running = shell.run(request, Some(tx), turn.cancel_token().clone());
    tokio::pin!(running);
    let result = loop {
        tokio::select! {
            r = &mut running => break r,
            Some(chunk) = rx.recv() => forward_chunk(inner, turn, &call.call_id, chunk),
        }
    };
    while let Ok(chunk) = rx.try_recv() {
        forward_chunk(inner, turn, &call.call_id, chunk);
    }
    match result {
        Ok(out) => {
            let formatted = format_for_model(&out.aggregated_output);
            inner.emit_now(
                sub_id,
                EventMsg::ExecCommandEnd {
                    call_id: call.call_id.clone(),
                    stdout: out.stdout.clone(),
                    stderr: out.stderr.clone(),
                    aggregated_output: out.aggregated_output.clone(),
                    exit_code: out.exit_code,
                    duration_ms: u64::try_from(out.duration.as_millis()).unwrap_or(u64::MAX),
                    formatted_output: formatted.clone(),
                },
            );
            if out.end == ExecEnd::Cancelled {
                // The turn's cleanup closes the call with what was captured.
                return Err(Stop::Cancelled);
            }
            let mut text = format!(
                "Exit code: {}\nWall time: {:.1} seconds\n",
                out.exit_code,
                out.duration.as_secs_f64()
            );
            if out.end == ExecEnd::TimedOut {
                text.push_str("The command timed out and was killed.\n");
            }
            text.push_str("Output:\n");
            text.push_str(&formatted);
            Ok(text)
        }
        Err(e) => {
            let message = format!("failed to run `{}`: {e}", argv.join(" "));
            inner.emit_now(
                sub_id,
                EventMsg::ExecCommandEnd {
                    call_id: call.call_id.clone(),
                    stdout: String::new(),
                    stderr: message.clone(),
                    aggregated_output: message.clone(),
                    exit_code: 127,
                    duration_ms: 0,
                    formatted_output: message.clone(),
                },
            );
            if turn.cancel_token().is_cancelled() {
                return Err(Stop::Cancelled);
            }
            Ok(message)
        }
    }
}

fn forward_chunk(
    inner: &SessionInner,
    turn: &ActiveTurn,
    call_id: &str,
    chunk: session_services::ExecChunk,
) {
    let text = String::from_utf8_lossy(&chunk.bytes);
    turn.with_state(|s| s.append_call_output(call_id, &text));
    inner.emit_now(
        turn.sub_id(),
        EventMsg::ExecCommandOutputDelta {
            call_id: call_id.to_owned(),
            stream: chunk.stream,
            chunk: chunk.bytes,
        },
    );
}

/// Head and tail of the output, within the model's budget of bytes and lines.
pub(crate) fn format_for_model(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    if output.len() <= MODEL_OUTPUT_MAX_BYTES && lines.len() <= MODEL_OUTPUT_MAX_LINES {
        return output.to_owned();
    }
    let half_lines = MODEL_OUTPUT_MAX_LINES / 2;
    let half_bytes = MODEL_OUTPUT_MAX_BYTES / 2;
    let mut head = String::new();
    let mut head_n = 0;
    for l in &lines {
        if head_n >= half_lines || head.len() + l.len() + 1 > half_bytes {
            break;
        }
        head.push_str(l);
        head.push('\n');
        head_n += 1;
    }
    let mut tail: Vec<&str> = Vec::new();
    let mut tail_bytes = 0;
    for l in lines[head_n..].iter().rev() {
        if tail.len() >= half_lines || tail_bytes + l.len() + 1 > half_bytes {
            break;
        }
        tail_bytes += l.len() + 1;
        tail.push(l);
    }
    tail.reverse();
    let omitted = lines.len() - head_n - tail.len();
    let mut out = head;
    out.push_str(&format!("[... {omitted} lines omitted ...]\n"));
    for l in tail {
        out.push_str(l);
        out.push('\n');
    }
    out
}
