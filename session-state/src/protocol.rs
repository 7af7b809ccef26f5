//! The submission/event protocol of PROTOCOL.md as Rust values.
//!
//! Every type here serializes to exactly the documented JSON: enums are internally tagged with
//! `"type"` and use `snake_case` variant names unless the protocol says otherwise (policies are
//! kebab-case). This module holds data only: it must not do I/O or know about transports.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::tokens::{RateLimitSnapshot, TokenUsageInfo};

/// One request from a front-end to the session: a client-chosen `id` and the operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// Client-chosen id, unique within the session; events caused by this submission carry it.
    pub id: String,
    /// What the client asks for.
    pub op: Op,
}

/// An operation a front-end asks the session to perform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Op {
    /// Start a turn, or queue the items into the running one.
    UserInput {
        /// What the user typed or attached.
        items: Vec<InputItem>,
    },
    /// Like `user_input`, with the turn's context; the context becomes the session default.
    UserTurn {
        /// What the user typed or attached.
        items: Vec<InputItem>,
        /// Working directory of the turn.
        cwd: PathBuf,
        /// When to ask before running commands.
        approval_policy: AskForApproval,
        /// What commands may touch.
        sandbox_policy: SandboxPolicy,
        /// Model to use.
        model: String,
        /// Reasoning effort, when the model supports it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        effort: Option<ReasoningEffort>,
        /// Reasoning summary mode, when the model supports it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<ReasoningSummary>,
    },
    /// Change the defaults for later turns.
    OverrideTurnContext(TurnContextOverride),
    /// Abort the running turn; no event when nothing runs.
    Interrupt,
    /// Answer the `exec_approval_request` whose `call_id` is `id`.
    ExecApproval {
        /// The `call_id` of the request being answered.
        id: String,
        /// The user's decision.
        decision: ReviewDecision,
    },
    /// Answer the `apply_patch_approval_request` whose `call_id` is `id`.
    PatchApproval {
        /// The `call_id` of the request being answered.
        id: String,
        /// The user's decision.
        decision: ReviewDecision,
    },
    /// Summarize the history to free context.
    Compact,
    /// Ask for the recording's path (`conversation_path`).
    GetPath,
    /// Abort any turn, make the recording durable, answer `shutdown_complete`, end.
    Shutdown,
}

/// Fields of `override_turn_context`: each one present replaces the session default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnContextOverride {
    /// New working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// New approval policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<AskForApproval>,
    /// New sandbox policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_policy: Option<SandboxPolicy>,
    /// New model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// New reasoning effort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<ReasoningEffort>,
    /// New reasoning summary mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<ReasoningSummary>,
}

/// One piece of user input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InputItem {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// An image given as a URL (usually a `data:` URL).
    Image {
        /// The image URL.
        image_url: String,
    },
    /// An image file on the user's machine; the front-end or core reads it.
    LocalImage {
        /// Path of the image file.
        path: PathBuf,
    },
}

impl InputItem {
    /// Whether this item carries nothing: empty or whitespace-only text.
    pub fn is_blank(&self) -> bool {
        match self {
            InputItem::Text { text } => text.trim().is_empty(),
            InputItem::Image { image_url } => image_url.is_empty(),
            InputItem::LocalImage { path } => path.as_os_str().is_empty(),
        }
    }
}

/// The user's answer to an approval request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Run it this once.
    Approved,
    /// Run it, and run the identical command again later without asking.
    ApprovedForSession,
    /// Do not run it; the model is told and the turn goes on.
    Denied,
    /// Do not run it, and interrupt the turn.
    Abort,
}

/// When the session asks the user before running a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AskForApproval {
    /// Only known read-only commands run without asking.
    #[default]
    Untrusted,
    /// Run everything; ask only when a command fails and should be retried unsandboxed.
    OnFailure,
    /// The model asks when it needs to.
    OnRequest,
    /// Never ask; failures go back to the model.
    Never,
}

/// What commands run by the session may touch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum SandboxPolicy {
    /// Read anything, write nothing.
    ReadOnly,
    /// Write inside the working directory and the listed roots.
    WorkspaceWrite {
        /// Extra folders that may be written.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        writable_roots: Vec<PathBuf>,
        /// Whether commands may use the network.
        #[serde(default)]
        network_access: bool,
        /// Keep `$TMPDIR`, `/tmp` and `/dev/shm` read-only too.
        #[serde(default, skip_serializing_if = "is_false")]
        exclude_tmp: bool,
    },
    /// No restriction at all.
    DangerFullAccess,
}

/// How hard a reasoning model thinks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningEffort {
    /// As little as possible.
    Minimal,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// Whether and how a reasoning model summarizes its reasoning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasoningSummary {
    /// The model decides.
    Auto,
    /// Short summaries.
    Concise,
    /// Long summaries.
    Detailed,
    /// No summaries.
    None,
}

/// One event from the session: the submission that caused it and what happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Id of the submission that caused the event; `""` for `session_configured`.
    pub id: String,
    /// What happened.
    pub msg: EventMsg,
}

/// Why a turn ended without completing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnAbortReason {
    /// The user interrupted it.
    Interrupted,
    /// Another task replaced it.
    Replaced,
}

/// Which output stream a chunk of command output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecOutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One file's change in a patch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FileChange {
    /// A new file with this content.
    Add {
        /// Content of the new file.
        content: String,
    },
    /// The file is removed.
    Delete,
    /// The file is changed, and possibly moved.
    Update {
        /// The change as a unified diff.
        unified_diff: String,
        /// Where the file moves to, if it moves.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        move_path: Option<PathBuf>,
    },
}

/// What happened, as the payload of an [`Event`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventMsg {
    /// The session is ready; always the first event.
    SessionConfigured {
        /// The session's id.
        session_id: String,
        /// The model in use.
        model: String,
        /// Where the session is recorded.
        rollout_path: PathBuf,
        /// The approval policy in force.
        approval_policy: AskForApproval,
        /// The sandbox policy in force: commands run at least this confined.
        sandbox_policy: SandboxPolicy,
        /// Events replayed from the recording on resume.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        initial_messages: Option<Vec<EventMsg>>,
    },
    /// A turn started.
    TaskStarted {
        /// The model's context window, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_context_window: Option<u64>,
    },
    /// A turn finished.
    TaskComplete {
        /// The last message the agent wrote in the turn.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_agent_message: Option<String>,
    },
    /// A turn ended early.
    TurnAborted {
        /// Why it ended.
        reason: TurnAbortReason,
    },
    /// Something failed; the session goes on.
    Error {
        /// What failed.
        message: String,
    },
    /// The model stream broke and is being retried.
    StreamError {
        /// What broke.
        message: String,
    },
    /// Information for the user that is not part of the conversation.
    BackgroundEvent {
        /// The information.
        message: String,
    },
    /// The user's message, as the model will see it.
    UserMessage {
        /// The message.
        message: String,
    },
    /// A piece of the agent's message as it streams.
    AgentMessageDelta {
        /// The new text.
        delta: String,
    },
    /// The agent's whole message.
    AgentMessage {
        /// The message.
        message: String,
    },
    /// A piece of the agent's reasoning as it streams.
    AgentReasoningDelta {
        /// The new text.
        delta: String,
    },
    /// The agent's whole reasoning text.
    AgentReasoning {
        /// The reasoning.
        text: String,
    },
    /// The agent wants to run a command and needs the user's approval.
    ExecApprovalRequest {
        /// The tool call asking; answer with `exec_approval` and this id.
        call_id: String,
        /// The command's argv.
        command: Vec<String>,
        /// Where it would run.
        cwd: PathBuf,
        /// Why the agent wants it, or why approval is needed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A command started.
    ExecCommandBegin {
        /// The tool call running it.
        call_id: String,
        /// The command's argv.
        command: Vec<String>,
        /// Where it runs.
        cwd: PathBuf,
    },
    /// A chunk of a running command's output.
    ExecCommandOutputDelta {
        /// The tool call running the command.
        call_id: String,
        /// Which stream the chunk came from.
        stream: ExecOutputStream,
        /// The raw bytes, base64 in JSON.
        #[serde(with = "crate::base64_bytes")]
        chunk: Vec<u8>,
    },
    /// A command ended (or was killed).
    ExecCommandEnd {
        /// The tool call that ran it.
        call_id: String,
        /// What it wrote to stdout.
        stdout: String,
        /// What it wrote to stderr.
        stderr: String,
        /// Both streams interleaved in arrival order.
        aggregated_output: String,
        /// Its exit code (124 on timeout, -1 when killed by interrupt).
        exit_code: i32,
        /// How long it ran.
        duration_ms: u64,
        /// The output as the model sees it.
        formatted_output: String,
    },
    /// The agent wants to apply a patch and needs the user's approval.
    ApplyPatchApprovalRequest {
        /// The tool call asking; answer with `patch_approval` and this id.
        call_id: String,
        /// What the patch would change.
        changes: BTreeMap<PathBuf, FileChange>,
        /// Why approval is needed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A patch is being applied.
    PatchApplyBegin {
        /// The tool call applying it.
        call_id: String,
        /// Whether it ran without asking the user.
        auto_approved: bool,
        /// What it changes.
        changes: BTreeMap<PathBuf, FileChange>,
    },
    /// A patch was applied, or failed.
    PatchApplyEnd {
        /// The tool call that applied it.
        call_id: String,
        /// What the patch tool reported.
        stdout: String,
        /// What went wrong, if anything.
        stderr: String,
        /// Whether every change was applied.
        success: bool,
    },
    /// All files this turn changed, against their state at the turn's start.
    TurnDiff {
        /// The unified diff.
        unified_diff: String,
    },
    /// Token usage after a model response.
    TokenCount {
        /// Totals, the last response's usage, and the context window.
        info: TokenUsageInfo,
        /// Rate limits the provider reported, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rate_limits: Option<RateLimitSnapshot>,
    },
    /// Answer to `get_path`.
    ConversationPath {
        /// The session's id.
        conversation_id: String,
        /// The recording's path.
        path: PathBuf,
    },
    /// The model updated its plan (`update_plan`).
    PlanUpdate {
        /// Why the plan changed, if the model said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        explanation: Option<String>,
        /// The steps, in order.
        plan: Vec<PlanItem>,
    },
    /// An MCP server's startup: `starting`, then `ready` with its tools or `failed` with why.
    McpStartupUpdate {
        /// The server's name in the configuration.
        server: String,
        /// Where it is.
        status: McpStartupStatus,
    },
    /// A call to an MCP tool begins.
    McpToolCallBegin {
        /// The call.
        call_id: String,
        /// The server.
        server: String,
        /// The tool, by the server's name for it.
        tool: String,
        /// The arguments the model gave.
        arguments: serde_json::Value,
    },
    /// A call to an MCP tool ended.
    McpToolCallEnd {
        /// The call.
        call_id: String,
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// The arguments the model gave.
        arguments: serde_json::Value,
        /// How long it took.
        duration_ms: u64,
        /// The tool's result, when it answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
        /// Why it failed, when it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// An MCP call needs the user's approval; answered with `exec_approval`.
    McpApprovalRequest {
        /// The call.
        call_id: String,
        /// The server.
        server: String,
        /// The tool.
        tool: String,
        /// The arguments the model gave.
        arguments: serde_json::Value,
        /// Why the model wants it, if given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The session ended; always the last event.
    ShutdownComplete,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanItem {
    /// What the step is.
    pub step: String,
    /// Where it stands.
    pub status: StepStatus,
}

/// Where a plan step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Not started.
    Pending,
    /// Being worked on.
    InProgress,
    /// Done.
    Completed,
}

/// Where an MCP server's startup is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum McpStartupStatus {
    /// Starting.
    Starting,
    /// Ready, offering these tools (the server's names).
    Ready {
        /// The tools.
        tools: Vec<String>,
    },
    /// It could not be started.
    Failed {
        /// Why, in words.
        error: String,
    },
}

impl EventMsg {
    /// Whether this event ends a turn (`task_complete` or `turn_aborted`).
    pub fn is_turn_terminal(&self) -> bool {
        matches!(
            self,
            EventMsg::TaskComplete { .. } | EventMsg::TurnAborted { .. }
        )
    }

    /// The `type` tag of this event, as in the JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            EventMsg::SessionConfigured { .. } => "session_configured",
            EventMsg::TaskStarted { .. } => "task_started",
            EventMsg::TaskComplete { .. } => "task_complete",
            EventMsg::TurnAborted { .. } => "turn_aborted",
            EventMsg::Error { .. } => "error",
            EventMsg::StreamError { .. } => "stream_error",
            EventMsg::BackgroundEvent { .. } => "background_event",
            EventMsg::UserMessage { .. } => "user_message",
            EventMsg::AgentMessageDelta { .. } => "agent_message_delta",
            EventMsg::AgentMessage { .. } => "agent_message",
            EventMsg::AgentReasoningDelta { .. } => "agent_reasoning_delta",
            EventMsg::AgentReasoning { .. } => "agent_reasoning",
            EventMsg::ExecApprovalRequest { .. } => "exec_approval_request",
            EventMsg::ExecCommandBegin { .. } => "exec_command_begin",
            EventMsg::ExecCommandOutputDelta { .. } => "exec_command_output_delta",
            EventMsg::ExecCommandEnd { .. } => "exec_command_end",
            EventMsg::ApplyPatchApprovalRequest { .. } => "apply_patch_approval_request",
            EventMsg::PatchApplyBegin { .. } => "patch_apply_begin",
            EventMsg::PatchApplyEnd { .. } => "patch_apply_end",
            EventMsg::TurnDiff { .. } => "turn_diff",
            EventMsg::TokenCount { .. } => "token_count",
            EventMsg::ConversationPath { .. } => "conversation_path",
            EventMsg::PlanUpdate { .. } => "plan_update",
            EventMsg::McpStartupUpdate { .. } => "mcp_startup_update",
            EventMsg::McpToolCallBegin { .. } => "mcp_tool_call_begin",
            EventMsg::McpToolCallEnd { .. } => "mcp_tool_call_end",
            EventMsg::McpApprovalRequest { .. } => "mcp_approval_request",
            EventMsg::ShutdownComplete => "shutdown_complete",
        }
    }
}

/// Why a submission line could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionParseError {
    /// The submission's `id`, if one could be read; `""` otherwise.
    pub id: String,
    /// What was wrong with the line.
    pub message: String,
}

/// Parse one line of `session proto` input into a submission.
///
/// Unknown fields are ignored; an unknown op `type` is an error. On error the submission's `id`
/// is returned when it could be read, so the `error` event can carry it.
///
/// # Errors
///
/// Returns [`SubmissionParseError`] when the line is not JSON or not a valid submission.
pub fn parse_submission(line: &str) -> Result<Submission, SubmissionParseError> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| SubmissionParseError {
            id: String::new(),
            message: format!("invalid JSON: {e}"),
        })?;
    let id = value
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    serde_json::from_value(value).map_err(|e| SubmissionParseError {
        id,
        message: format!("invalid submission: {e}"),
    })
}

#[cfg(test)]
mod tests;

/// For `skip_serializing_if`: leave a flag out of the JSON when it is off.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(flag: &bool) -> bool {
    !*flag
}
