//! Tools the model may call (`shell`, `apply_patch`): their specs, dispatch, and the approval
//! round trip they share.
//!
//! Every call ends in exactly one output recorded in history, unless the turn is cancelled, in
//! which case the call stays open and the turn's cleanup closes it.

mod patch;
mod patch_apply;
mod patch_parse;
mod safety;
mod shell;

use std::sync::Arc;

use session_services::{Notification, ToolSpec};
use session_state::{ActiveTurn, ApprovalKind, EventMsg, ResponseItem, ReviewDecision};

pub(crate) use self::patch_parse::{Hunk, parse_patch};

use crate::inner::SessionInner;
use crate::outcome::{Stop, ToolCall};

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

/// The tools offered to the model.
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

/// Run one tool call to its output.
pub(crate) async fn handle_call(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    call: ToolCall,
) -> Result<(), Stop> {
    inner.reporter.take_failure();
    let output = match call.name.as_str() {
        "shell" => shell::handle(inner, turn, &call).await,
        "apply_patch" => patch::handle(inner, turn, &call).await,
        other => Ok(format!(
            "unknown tool `{other}`; the tools are `shell` and `apply_patch`"
        )),
    };
    // A port that panicked under the tool ends the turn; the call is closed by its cleanup.
    if let Some(message) = inner.reporter.take_failure() {
        return Err(Stop::Failed(message));
    }
    finish_call(inner, turn, &call.call_id, output?).await;
    Ok(())
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
