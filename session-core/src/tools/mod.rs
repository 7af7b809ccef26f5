//! Running tool calls through the registry: look the tool up, parse its arguments, ask for
//! approval when the tool says so, run it (a panic ends the turn with an `error`), record its
//! output. The built-in tools (`shell`, `apply_patch`, `update_plan`) live here too, as ordinary
//! registry entries.
//!
//! Every call ends in exactly one output recorded in history, unless the turn is cancelled, in
//! which case the call stays open and the turn's cleanup closes it.

mod builtin;
#[cfg(feature = "mcp")]
pub(crate) mod mcp;
mod patch;
mod patch_apply;
mod patch_parse;
mod safety;
mod shell;

use std::sync::Arc;

use futures_util::FutureExt;
use session_services::{Notification, ToolSpec};
use session_state::{ActiveTurn, ApprovalKind, EventMsg, ResponseItem, ReviewDecision};

pub(crate) use self::patch_parse::{Hunk, parse_patch};

use crate::inner::SessionInner;
use crate::outcome::{Stop, ToolCall};
use crate::registry::{CallHost, ToolApproval, ToolCallContext, ToolError, ToolPolicy};

/// Parse a patch and apply its update chunks to `file` (fuzzing entry point).
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_patch(text: &str, file: &str) {
    if let Ok(hunks) = parse_patch(text) {
        for hunk in hunks {
            if let Hunk::Update { chunks, .. } = hunk {
                let _ = patch_apply::apply_chunks(file, &chunks);
            }
        }
    }
}

/// The specs of `shell` and `apply_patch`.
pub(crate) fn tool_specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "shell".to_owned(),
            description: "Run a command and return its output. `command` is an argv array, \
                          e.g. [\"bash\", \"-lc\", \"ls -la\"]. Commands run in a sandbox: \
                          they may write only where the environment context's writable roots \
                          say (never in `.git`), and the network is off unless it says \
                          otherwise. When a command needs more (writing elsewhere, the \
                          network), set `with_escalated_permissions` to true and give a \
                          one-sentence `justification`: the user is asked to run it outside \
                          the sandbox (refused under the approval policy `never`)."
                .to_owned(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "command": {"type": "array", "items": {"type": "string"},
                                "description": "The command's argv."},
                    "workdir": {"type": "string",
                                "description": "Working directory; the session's by default."},
                    "timeout_ms": {"type": "integer",
                                   "description": "Kill the command after this many milliseconds."},
                    "with_escalated_permissions": {"type": "boolean",
                                   "description": "Ask the user to run this command outside the sandbox."},
                    "justification": {"type": "string",
                                   "description": "Why the command needs to run outside the sandbox; shown to the user."}
                },
                "required": ["command"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "apply_patch".to_owned(),
            description: "Edit files with a patch in the `*** Begin Patch` / `*** End Patch` \
                          envelope: `*** Add File: path` (lines prefixed with +), `*** Delete \
                          File: path`, `*** Update File: path` (optional `*** Move to: path`, then \
                          `@@` hunks with ' ', '-' and '+' lines)."
                .to_owned(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "input": {"type": "string", "description": "The whole patch."}
                },
                "required": ["input"],
                "additionalProperties": false
            }),
        },
    ]
}

/// The running turn, as tools see it.
pub(crate) struct TurnHost {
    pub(crate) inner: Arc<SessionInner>,
    pub(crate) turn: ActiveTurn,
    /// Items a tool adds after its output (an MCP tool's images, as a user message).
    pub(crate) attachments: std::sync::Mutex<Vec<ResponseItem>>,
}

impl CallHost for TurnHost {
    fn emit(&self, msg: EventMsg) {
        self.inner.emit_now(self.turn.sub_id(), msg);
    }

    fn cancel_token(&self) -> &session_state::CancelToken {
        self.turn.cancel_token()
    }

    fn policy(&self) -> ToolPolicy {
        let ctx = self.inner.context();
        ToolPolicy {
            approval_policy: ctx.approval_policy,
            sandbox_policy: ctx.sandbox_policy,
            sandbox_enforced: self.inner.services.sandbox.support().is_enforced(),
            cwd: ctx.cwd,
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Run one tool call to its output.
pub(crate) async fn handle_call(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    call: ToolCall,
) -> Result<(), Stop> {
    let Some(tool) = inner.tools.get(&call.name) else {
        let known = inner.tools.names().join("`, `");
        let output = format!("unknown tool `{}`; the tools are `{known}`", call.name);
        finish_call(inner, turn, &call.call_id, output).await;
        return Ok(());
    };
    let raw = if call.arguments.trim().is_empty() {
        "{}"
    } else {
        call.arguments.as_str()
    };
    let arguments: serde_json::Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => {
            let output = format!("invalid arguments for `{}`: {e}", call.name);
            finish_call(inner, turn, &call.call_id, output).await;
            return Ok(());
        }
    };
    let host = TurnHost {
        inner: Arc::clone(inner),
        turn: turn.clone(),
        attachments: std::sync::Mutex::new(Vec::new()),
    };
    let policy = host.policy();
    if let Some(refused) = approve(
        inner,
        turn,
        &call,
        &arguments,
        tool.approval(&arguments, &policy),
        &policy,
    )
    .await?
    {
        finish_call(inner, turn, &call.call_id, refused).await;
        return Ok(());
    }
    inner.reporter.take_failure();
    let context = ToolCallContext {
        call_id: &call.call_id,
        arguments: &arguments,
        raw_arguments: raw,
        host: &host,
    };
    let ran = std::panic::AssertUnwindSafe(tool.call(context))
        .catch_unwind()
        .await;
    let output = match ran {
        Err(payload) => {
            return Err(Stop::Failed(format!(
                "the tool `{}` panicked: {}",
                call.name,
                crate::guard::panic_text(payload.as_ref())
            )));
        }
        Ok(result) => result,
    };
    // A port that panicked under the tool ends the turn; the call is closed by its cleanup.
    if let Some(message) = inner.reporter.take_failure() {
        return Err(Stop::Failed(message));
    }
    let output = match output {
        Ok(text) | Err(ToolError::Failed(text)) => text,
        Err(ToolError::Cancelled) => return Err(Stop::Cancelled),
        Err(ToolError::Aborted) => return Err(Stop::AbortRequested),
    };
    finish_call(inner, turn, &call.call_id, output).await;
    let attachments = std::mem::take(
        &mut *host
            .attachments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    inner.record_items(attachments).await;
    Ok(())
}

/// Settle the tool's answer on approval; `Some(text)` when the call does not run.
async fn approve(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    call: &ToolCall,
    arguments: &serde_json::Value,
    approval: ToolApproval,
    policy: &ToolPolicy,
) -> Result<Option<String>, Stop> {
    let reason = match approval {
        ToolApproval::Run => return Ok(None),
        ToolApproval::Refuse(text) => return Ok(Some(text)),
        ToolApproval::Ask { reason } => reason,
    };
    let key = vec!["tool".to_owned(), call.name.clone()];
    if inner.is_approved_for_session(&key) {
        return Ok(None);
    }
    if policy.approval_policy == session_state::AskForApproval::Never {
        return Ok(Some(format!(
            "`{}` was not run: it needs the user's approval, and the approval policy is `never`.",
            call.name
        )));
    }
    let command = vec![call.name.clone(), arguments.to_string()];
    let request = EventMsg::ExecApprovalRequest {
        call_id: call.call_id.clone(),
        command: command.clone(),
        cwd: policy.cwd.clone(),
        reason,
    };
    let decision = request_approval(
        inner,
        turn,
        &call.call_id,
        ApprovalKind::Exec,
        request,
        command,
    )
    .await?;
    let rejected = format!(
        "The user rejected this call of `{}`; it did not run.",
        call.name
    );
    settle(inner, decision, key, rejected).await
}

/// What a tool's approval decision means: `Ok(None)` runs the call (remembering `key` when
/// approved for the session), `Ok(Some(rejected))` tells the model it did not run.
pub(crate) async fn settle(
    inner: &SessionInner,
    decision: ReviewDecision,
    key: Vec<String>,
    rejected: String,
) -> Result<Option<String>, Stop> {
    match decision {
        ReviewDecision::Approved => Ok(None),
        ReviewDecision::ApprovedForSession => {
            inner.approve_for_session(key).await;
            Ok(None)
        }
        ReviewDecision::Abort => Err(Stop::AbortRequested),
        _ => Ok(Some(rejected)),
    }
}

/// Record a call's output, cut to the model's budget, and mark it answered.
pub(crate) async fn finish_call(
    inner: &SessionInner,
    turn: &ActiveTurn,
    call_id: &str,
    output: String,
) {
    turn.with_state(|s| s.finish_call(call_id));
    let output = match crate::truncate::for_model(&output) {
        std::borrow::Cow::Borrowed(_) => output,
        std::borrow::Cow::Owned(cut) => cut,
    };
    inner
        .record_items(vec![ResponseItem::FunctionCallOutput {
            call_id: call_id.to_owned(),
            output,
        }])
        .await;
}

/// Ask the user; resolves with the decision, or stops when the turn is cancelled.
pub(crate) async fn request_approval(
    inner: &SessionInner,
    turn: &ActiveTurn,
    call_id: &str,
    kind: ApprovalKind,
    request: EventMsg,
    summary: Vec<String>,
) -> Result<ReviewDecision, Stop> {
    let rx = match turn.with_state(|s| s.register_approval(call_id, kind)) {
        Ok(rx) => rx,
        // A second request under the same id cannot be told apart: refuse it.
        Err(_) => return Ok(ReviewDecision::Denied),
    };
    inner.emit_now(turn.sub_id(), request);
    inner
        .services
        .notifier
        .notify(&Notification::ApprovalRequested {
            thread_id: inner.id.clone(),
            turn_id: turn.sub_id().to_owned(),
            cwd: inner.context().cwd,
            call_id: call_id.to_owned(),
            command: summary,
        });
    tokio::select! {
        biased;
        () = turn.cancel_token().cancelled() => Err(Stop::Cancelled),
        // A dropped sender means the turn's state was cleaned up: treat it as abort.
        d = rx => Ok(d.unwrap_or(ReviewDecision::Abort)),
    }
}
