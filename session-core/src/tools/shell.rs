//! The `shell` tool: approval by policy, then the command through the `Shell` port, confined
//! as the policy says, with its output streamed as events and kept for the model. Under
//! `on-failure` a command the sandbox stopped may be run again outside it once the user agrees.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use session_services::secrets::StreamRedactor;
use session_services::{ExecEnd, ExecOutput, ExecRequest, ExecSandbox};
use session_state::{
    ActiveTurn, ApprovalKind, AskForApproval, EventMsg, ExecOutputStream, ReviewDecision,
};
use tokio::sync::mpsc;

use super::request_approval;
use super::safety::{CommandLine, RealHost, known_safe};
use crate::inner::SessionInner;
use crate::outcome::{Stop, ToolCall};
use crate::policy::{Confine, ShellCall, ShellDecision, decide_shell, exec_sandbox};

/// Commands run at most this long unless the model asks otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Output of one command streamed as `exec_command_output_delta` events, at most.
const MAX_STREAMED_BYTES: usize = 1024 * 1024;

#[derive(Debug, Deserialize)]
struct ShellArgs {
    command: Vec<String>,
    #[serde(default)]
    workdir: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    with_escalated_permissions: Option<bool>,
    #[serde(default)]
    justification: Option<String>,
}

/// The first element of a session approval that covers running outside the sandbox, so an
/// approval to run a command confined never lets it run unconfined.
const UNSANDBOXED_KEY: &str = "\u{0}unsandboxed";

/// What a session approval of `argv` is stored under.
fn session_key(argv: &[String], confine: Confine) -> Vec<String> {
    match confine {
        Confine::Unconfined => std::iter::once(UNSANDBOXED_KEY.to_owned())
            .chain(argv.iter().cloned())
            .collect(),
        Confine::Configured | Confine::ReadOnly => argv.to_vec(),
    }
}

/// The reason given when asking to rerun a command the sandbox stopped.
const RERUN_REASON: &str = "the command failed inside the sandbox (it was denied a write or a connection); run it \
     again without the sandbox?";

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
    let escalate = args.with_escalated_permissions == Some(true);
    let enforced = inner.services.sandbox.support().is_enforced();
    let asks_for = if escalate {
        Confine::Unconfined
    } else {
        Confine::Configured
    };
    // Under `untrusted` a known read-only command runs without asking, as the check rewrote it.
    let safe = (ctx.approval_policy == AskForApproval::Untrusted && !escalate)
        .then(|| known_safe(&argv, &cwd, &RealHost))
        .flatten();
    let decision = decide_shell(
        ctx.approval_policy,
        &ctx.sandbox_policy,
        enforced,
        ShellCall {
            escalate,
            justification: args.justification.as_deref(),
            known_safe: safe.is_some(),
            approved_for_session: inner.is_approved_for_session(&session_key(&argv, asks_for)),
        },
    );
    let mut planned = CommandLine {
        argv: argv.clone(),
        env: Vec::new(),
    };
    let confine = match decision {
        ShellDecision::Run(confine) => {
            if let Some(safe) = safe {
                planned = safe;
            }
            confine
        }
        ShellDecision::Refuse(message) => return Ok(message),
        ShellDecision::Ask { reason, then } => {
            match ask(inner, turn, call, &argv, &cwd, reason).await? {
                Answer::Run { for_session } => {
                    if for_session {
                        inner.approve_for_session(session_key(&argv, then)).await;
                    }
                    then
                }
                Answer::Denied => {
                    return Ok("The user rejected this command; it did not run.".to_owned());
                }
            }
        }
    };
    let protected = &inner.config.protected_paths;
    let sandbox = exec_sandbox(confine, &ctx.sandbox_policy, &ctx.cwd, protected);
    let confined = sandbox.is_confined();
    let first = run(inner, turn, call, &planned, &cwd, args.timeout_ms, sandbox).await?;
    let stopped_by_sandbox = confined
        && ctx.approval_policy == AskForApproval::OnFailure
        && first
            .output
            .as_ref()
            .is_some_and(|out| inner.services.sandbox.denied(out));
    if !stopped_by_sandbox {
        return Ok(first.text);
    }
    let reason = Some(RERUN_REASON.to_owned());
    match ask(inner, turn, call, &argv, &cwd, reason).await? {
        Answer::Run { for_session } => {
            if for_session {
                inner
                    .approve_for_session(session_key(&argv, Confine::Unconfined))
                    .await;
            }
            let rerun = run(
                inner,
                turn,
                call,
                &CommandLine {
                    argv: argv.clone(),
                    env: Vec::new(),
                },
                &cwd,
                args.timeout_ms,
                ExecSandbox::None,
            )
            .await?;
            Ok(rerun.text)
        }
        Answer::Denied => Ok(first.text),
    }
}

/// The user's answer to a command approval request.
enum Answer {
    Run { for_session: bool },
    Denied,
}

async fn ask(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    call: &ToolCall,
    argv: &[String],
    cwd: &Path,
    reason: Option<String>,
) -> Result<Answer, Stop> {
    let request = EventMsg::ExecApprovalRequest {
        call_id: call.call_id.clone(),
        command: argv.to_vec(),
        cwd: cwd.to_path_buf(),
        reason,
    };
    let decision = request_approval(
        inner,
        turn,
        &call.call_id,
        ApprovalKind::Exec,
        request,
        argv.to_vec(),
    )
    .await?;
    match decision {
        ReviewDecision::Approved => Ok(Answer::Run { for_session: false }),
        ReviewDecision::ApprovedForSession => Ok(Answer::Run { for_session: true }),
        ReviewDecision::Abort => Err(Stop::AbortRequested),
        _ => Ok(Answer::Denied),
    }
}

/// What a run gave: the text for the model, and the command's output when it ran.
struct Ran {
    text: String,
    output: Option<ExecOutput>,
}

async fn run(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    call: &ToolCall,
    command: &CommandLine,
    cwd: &Path,
    timeout_ms: Option<u64>,
    sandbox: ExecSandbox,
) -> Result<Ran, Stop> {
    let argv = &command.argv;
    let sub_id = turn.sub_id();
    inner.emit_now(
        sub_id,
        EventMsg::ExecCommandBegin {
            call_id: call.call_id.clone(),
            command: argv.to_vec(),
            cwd: cwd.to_path_buf(),
        },
    );
    let request = ExecRequest {
        argv: argv.to_vec(),
        cwd: cwd.to_path_buf(),
        env: command.env.iter().cloned().collect(),
        timeout: Some(timeout_ms.map_or(DEFAULT_TIMEOUT, Duration::from_millis)),
        sandbox,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let shell = Arc::clone(&inner.services.shell);
    let running = shell.run(request, Some(tx), turn.cancel_token().clone());
    tokio::pin!(running);
    let mut streamed = Streamed::default();
    let result = loop {
        tokio::select! {
            r = &mut running => break r,
            Some(chunk) = rx.recv() => forward_chunk(inner, turn, &call.call_id, chunk, &mut streamed),
        }
    };
    while let Ok(chunk) = rx.try_recv() {
        forward_chunk(inner, turn, &call.call_id, chunk, &mut streamed);
    }
    streamed.finish(inner, turn, &call.call_id);
    match result {
        Ok(out) => {
            let formatted = crate::truncate::for_model(&out.aggregated_output).into_owned();
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
            // The whole capture: the call's output is cut to the model's budget as a whole.
            text.push_str(&out.aggregated_output);
            Ok(Ran {
                text,
                output: Some(out),
            })
        }
        Err(e) => {
            // The error names the program and the OS error; the argv may be huge, so it is not
            // repeated (the model sent it).
            let message = crate::truncate::for_model(&error_chain(&e)).into_owned();
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
            Ok(Ran {
                text: message,
                output: None,
            })
        }
    }
}

/// An error and its causes on one line, so the model learns why a command did not start.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What a call streamed so far, and the end of its output held back in case it begins a
/// secret.
#[derive(Default)]
struct Streamed {
    bytes: usize,
    stdout: StreamRedactor,
    stderr: StreamRedactor,
}

impl Streamed {
    /// Stream what the redactors still hold.
    fn finish(&mut self, inner: &SessionInner, turn: &ActiveTurn, call_id: &str) {
        for stream in [ExecOutputStream::Stdout, ExecOutputStream::Stderr] {
            let held = match stream {
                ExecOutputStream::Stdout => self.stdout.finish(),
                ExecOutputStream::Stderr => self.stderr.finish(),
            };
            if !held.is_empty() && self.bytes < MAX_STREAMED_BYTES {
                emit_delta(inner, turn, call_id, stream, held);
            }
        }
    }
}

/// Keep a chunk for the call's partial output and stream it as an event, unless the call has
/// already streamed [`MAX_STREAMED_BYTES`]: past that the events stop (a slow reader of the
/// event stream must not make memory follow the command's output) and the end event carries
/// the head and the tail.
fn forward_chunk(
    inner: &SessionInner,
    turn: &ActiveTurn,
    call_id: &str,
    chunk: session_services::ExecChunk,
    streamed: &mut Streamed,
) {
    let text = String::from_utf8_lossy(&chunk.bytes);
    turn.with_state(|s| s.append_call_output(call_id, &text));
    if streamed.bytes >= MAX_STREAMED_BYTES {
        return;
    }
    streamed.bytes += chunk.bytes.len();
    let shown = match chunk.stream {
        ExecOutputStream::Stdout => streamed.stdout.push_bytes(&chunk.bytes),
        ExecOutputStream::Stderr => streamed.stderr.push_bytes(&chunk.bytes),
    };
    if !shown.is_empty() {
        emit_delta(inner, turn, call_id, chunk.stream, shown);
    }
}

fn emit_delta(
    inner: &SessionInner,
    turn: &ActiveTurn,
    call_id: &str,
    stream: ExecOutputStream,
    chunk: Vec<u8>,
) {
    inner.emit_now(
        turn.sub_id(),
        EventMsg::ExecCommandOutputDelta {
            call_id: call_id.to_owned(),
            stream,
            chunk,
        },
    );
}
