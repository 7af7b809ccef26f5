//! Sample values of every op, event and protocol value, shared by the protocol tests, and the
//! exhaustive matches that make a new variant impossible to forget.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::protocol::*;
use crate::tokens::{RateLimitSnapshot, RateLimitWindow, TokenUsage, TokenUsageInfo};

/// Every `op` `type` of PROTOCOL.md, in the order of its table.
pub(super) const ALL_OP_KINDS: [&str; 9] = [
    "user_input",
    "user_turn",
    "override_turn_context",
    "interrupt",
    "exec_approval",
    "patch_approval",
    "compact",
    "get_path",
    "shutdown",
];

/// Every event `msg` `type` of PROTOCOL.md, in the order of its table.
pub(super) const ALL_EVENT_KINDS: [&str; 28] = [
    "session_configured",
    "task_started",
    "task_complete",
    "turn_aborted",
    "error",
    "stream_error",
    "background_event",
    "user_message",
    "agent_message_delta",
    "agent_message",
    "agent_reasoning_delta",
    "agent_reasoning",
    "exec_approval_request",
    "exec_command_begin",
    "exec_command_output_delta",
    "exec_command_end",
    "apply_patch_approval_request",
    "patch_apply_begin",
    "patch_apply_end",
    "turn_diff",
    "token_count",
    "conversation_path",
    "mcp_startup_update",
    "mcp_tool_call_begin",
    "mcp_tool_call_end",
    "mcp_approval_request",
    "plan_update",
    "shutdown_complete",
];

/// The `type` tag of an op. The match has no wildcard on purpose: a new `Op` variant does not
/// compile here until it is named, which sends its author to `sample_submissions` and the
/// snapshot.
pub(super) fn op_kind(op: &Op) -> &'static str {
    match op {
        Op::UserInput { .. } => "user_input",
        Op::UserTurn { .. } => "user_turn",
        Op::OverrideTurnContext(_) => "override_turn_context",
        Op::Interrupt => "interrupt",
        Op::ExecApproval { .. } => "exec_approval",
        Op::PatchApproval { .. } => "patch_approval",
        Op::Compact => "compact",
        Op::GetPath => "get_path",
        Op::Shutdown => "shutdown",
    }
}

/// Like [`op_kind`], for events: no wildcard, so a new `EventMsg` variant fails to compile here
/// until it is added to `ALL_EVENT_KINDS` and given a sample.
pub(super) fn event_kind_exhaustive(msg: &EventMsg) -> &'static str {
    match msg {
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

pub(super) fn text(t: &str) -> InputItem {
    InputItem::Text { text: t.to_owned() }
}

pub(super) fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

pub(super) fn sample_input_items() -> Vec<(&'static str, InputItem)> {
    vec![
        ("text", text("list the files")),
        (
            "image",
            InputItem::Image {
                image_url: "data:image/png;base64,iVBORw0KGgo=".to_owned(),
            },
        ),
        (
            "local_image",
            InputItem::LocalImage {
                path: PathBuf::from("/home/u/shot.png"),
            },
        ),
    ]
}

pub(super) fn sample_changes() -> BTreeMap<PathBuf, FileChange> {
    BTreeMap::from([
        (
            PathBuf::from("/repo/new.txt"),
            FileChange::Add {
                content: "hello\n".to_owned(),
            },
        ),
        (PathBuf::from("/repo/old.txt"), FileChange::Delete),
        (
            PathBuf::from("/repo/src/lib.rs"),
            FileChange::Update {
                unified_diff: "@@ -1 +1 @@\n-a\n+b\n".to_owned(),
                move_path: Some(PathBuf::from("/repo/src/main.rs")),
            },
        ),
    ])
}

pub(super) fn sample_usage_info() -> TokenUsageInfo {
    TokenUsageInfo {
        total_token_usage: TokenUsage {
            input_tokens: 1200,
            cached_input_tokens: 200,
            output_tokens: 300,
            reasoning_output_tokens: 100,
            total_tokens: 1500,
        },
        last_token_usage: TokenUsage {
            input_tokens: 700,
            cached_input_tokens: 200,
            output_tokens: 50,
            reasoning_output_tokens: 10,
            total_tokens: 750,
        },
        model_context_window: Some(200_000),
    }
}

pub(super) fn sample_submissions() -> Vec<(&'static str, Submission)> {
    let sub = |id: &str, op: Op| Submission {
        id: id.to_owned(),
        op,
    };
    vec![
        (
            "user_input",
            sub(
                "1",
                Op::UserInput {
                    items: sample_input_items().into_iter().map(|(_, i)| i).collect(),
                },
            ),
        ),
        (
            "user_turn",
            sub(
                "2",
                Op::UserTurn {
                    items: vec![text("fix the build")],
                    cwd: PathBuf::from("/repo"),
                    approval_policy: AskForApproval::OnRequest,
                    sandbox_policy: SandboxPolicy::WorkspaceWrite {
                        writable_roots: vec![PathBuf::from("/tmp")],
                        network_access: false,
                        exclude_tmp: false,
                    },
                    model: "gpt-test".to_owned(),
                    effort: Some(ReasoningEffort::High),
                    summary: Some(ReasoningSummary::Concise),
                },
            ),
        ),
        (
            "user_turn without effort and summary",
            sub(
                "3",
                Op::UserTurn {
                    items: vec![text("hi")],
                    cwd: PathBuf::from("/repo"),
                    approval_policy: AskForApproval::Never,
                    sandbox_policy: SandboxPolicy::ReadOnly,
                    model: "gpt-test".to_owned(),
                    effort: None,
                    summary: None,
                },
            ),
        ),
        (
            "override_turn_context",
            sub(
                "4",
                Op::OverrideTurnContext(TurnContextOverride {
                    cwd: Some(PathBuf::from("/other")),
                    approval_policy: Some(AskForApproval::OnFailure),
                    sandbox_policy: Some(SandboxPolicy::DangerFullAccess),
                    model: Some("gpt-other".to_owned()),
                    effort: Some(ReasoningEffort::Minimal),
                    summary: Some(ReasoningSummary::Detailed),
                }),
            ),
        ),
        (
            "override_turn_context with one field",
            sub(
                "5",
                Op::OverrideTurnContext(TurnContextOverride {
                    model: Some("gpt-other".to_owned()),
                    ..TurnContextOverride::default()
                }),
            ),
        ),
        ("interrupt", sub("6", Op::Interrupt)),
        (
            "exec_approval",
            sub(
                "7",
                Op::ExecApproval {
                    id: "call_1".to_owned(),
                    decision: ReviewDecision::ApprovedForSession,
                },
            ),
        ),
        (
            "patch_approval",
            sub(
                "8",
                Op::PatchApproval {
                    id: "call_2".to_owned(),
                    decision: ReviewDecision::Denied,
                },
            ),
        ),
        ("compact", sub("9", Op::Compact)),
        ("get_path", sub("10", Op::GetPath)),
        ("shutdown", sub("11", Op::Shutdown)),
    ]
}

pub(super) fn sample_events() -> Vec<(&'static str, Event)> {
    let ev = |id: &str, msg: EventMsg| Event {
        id: id.to_owned(),
        msg,
    };
    vec![
        (
            "session_configured",
            ev(
                "",
                EventMsg::SessionConfigured {
                    session_id: "0190-abcd".to_owned(),
                    model: "gpt-test".to_owned(),
                    rollout_path: PathBuf::from("/home/u/.sessions/0190-abcd.jsonl"),
                    approval_policy: AskForApproval::OnRequest,
                    sandbox_policy: SandboxPolicy::WorkspaceWrite {
                        writable_roots: Vec::new(),
                        network_access: false,
                        exclude_tmp: false,
                    },
                    initial_messages: None,
                },
            ),
        ),
        (
            "session_configured on resume",
            ev(
                "",
                EventMsg::SessionConfigured {
                    session_id: "0190-abcd".to_owned(),
                    model: "gpt-test".to_owned(),
                    rollout_path: PathBuf::from("/home/u/.sessions/0190-abcd.jsonl"),
                    approval_policy: AskForApproval::OnRequest,
                    sandbox_policy: SandboxPolicy::WorkspaceWrite {
                        writable_roots: Vec::new(),
                        network_access: false,
                        exclude_tmp: false,
                    },
                    initial_messages: Some(vec![
                        EventMsg::UserMessage {
                            message: "hi".to_owned(),
                        },
                        EventMsg::AgentMessage {
                            message: "hello".to_owned(),
                        },
                    ]),
                },
            ),
        ),
        (
            "task_started",
            ev(
                "1",
                EventMsg::TaskStarted {
                    model_context_window: Some(200_000),
                },
            ),
        ),
        (
            "task_started without window",
            ev(
                "1",
                EventMsg::TaskStarted {
                    model_context_window: None,
                },
            ),
        ),
        (
            "task_complete",
            ev(
                "1",
                EventMsg::TaskComplete {
                    last_agent_message: Some("done".to_owned()),
                },
            ),
        ),
        (
            "task_complete without message",
            ev(
                "1",
                EventMsg::TaskComplete {
                    last_agent_message: None,
                },
            ),
        ),
        (
            "turn_aborted interrupted",
            ev(
                "1",
                EventMsg::TurnAborted {
                    reason: TurnAbortReason::Interrupted,
                },
            ),
        ),
        (
            "turn_aborted replaced",
            ev(
                "1",
                EventMsg::TurnAborted {
                    reason: TurnAbortReason::Replaced,
                },
            ),
        ),
        (
            "error",
            ev(
                "1",
                EventMsg::Error {
                    message: "bad".to_owned(),
                },
            ),
        ),
        (
            "stream_error",
            ev(
                "1",
                EventMsg::StreamError {
                    message: "stream disconnected; retrying 1/5".to_owned(),
                },
            ),
        ),
        (
            "background_event",
            ev(
                "1",
                EventMsg::BackgroundEvent {
                    message: "compacting".to_owned(),
                },
            ),
        ),
        (
            "user_message",
            ev(
                "1",
                EventMsg::UserMessage {
                    message: "list the files".to_owned(),
                },
            ),
        ),
        (
            "agent_message_delta",
            ev(
                "1",
                EventMsg::AgentMessageDelta {
                    delta: "Here".to_owned(),
                },
            ),
        ),
        (
            "agent_message",
            ev(
                "1",
                EventMsg::AgentMessage {
                    message: "Here they are".to_owned(),
                },
            ),
        ),
        (
            "agent_reasoning_delta",
            ev(
                "1",
                EventMsg::AgentReasoningDelta {
                    delta: "Think".to_owned(),
                },
            ),
        ),
        (
            "agent_reasoning",
            ev(
                "1",
                EventMsg::AgentReasoning {
                    text: "Thinking about it".to_owned(),
                },
            ),
        ),
        (
            "exec_approval_request",
            ev(
                "1",
                EventMsg::ExecApprovalRequest {
                    call_id: "call_1".to_owned(),
                    command: argv(&["rm", "-rf", "build"]),
                    cwd: PathBuf::from("/repo"),
                    reason: Some("writes outside the sandbox".to_owned()),
                },
            ),
        ),
        (
            "exec_approval_request without reason",
            ev(
                "1",
                EventMsg::ExecApprovalRequest {
                    call_id: "call_1".to_owned(),
                    command: argv(&["ls"]),
                    cwd: PathBuf::from("/repo"),
                    reason: None,
                },
            ),
        ),
        (
            "exec_command_begin",
            ev(
                "1",
                EventMsg::ExecCommandBegin {
                    call_id: "call_1".to_owned(),
                    command: argv(&["bash", "-lc", "ls"]),
                    cwd: PathBuf::from("/repo"),
                },
            ),
        ),
        (
            "exec_command_output_delta stdout",
            ev(
                "1",
                EventMsg::ExecCommandOutputDelta {
                    call_id: "call_1".to_owned(),
                    stream: ExecOutputStream::Stdout,
                    chunk: b"a.txt\nb.txt\n".to_vec(),
                },
            ),
        ),
        (
            "exec_command_output_delta stderr",
            ev(
                "1",
                EventMsg::ExecCommandOutputDelta {
                    call_id: "call_1".to_owned(),
                    stream: ExecOutputStream::Stderr,
                    chunk: vec![0xff, 0x00, b'x'],
                },
            ),
        ),
        (
            "exec_command_end",
            ev(
                "1",
                EventMsg::ExecCommandEnd {
                    call_id: "call_1".to_owned(),
                    stdout: "a.txt\n".to_owned(),
                    stderr: "warn\n".to_owned(),
                    aggregated_output: "a.txt\nwarn\n".to_owned(),
                    exit_code: 0,
                    duration_ms: 42,
                    formatted_output: "Exit code: 0\nOutput:\na.txt\nwarn\n".to_owned(),
                },
            ),
        ),
        (
            "apply_patch_approval_request",
            ev(
                "1",
                EventMsg::ApplyPatchApprovalRequest {
                    call_id: "call_2".to_owned(),
                    changes: sample_changes(),
                    reason: Some("touches files outside cwd".to_owned()),
                },
            ),
        ),
        (
            "patch_apply_begin",
            ev(
                "1",
                EventMsg::PatchApplyBegin {
                    call_id: "call_2".to_owned(),
                    auto_approved: true,
                    changes: sample_changes(),
                },
            ),
        ),
        (
            "patch_apply_end",
            ev(
                "1",
                EventMsg::PatchApplyEnd {
                    call_id: "call_2".to_owned(),
                    stdout: "Success. Updated the following files:\nA new.txt\n".to_owned(),
                    stderr: String::new(),
                    success: true,
                },
            ),
        ),
        (
            "turn_diff",
            ev(
                "1",
                EventMsg::TurnDiff {
                    unified_diff: "diff --git a/x b/x\n".to_owned(),
                },
            ),
        ),
        (
            "token_count",
            ev(
                "1",
                EventMsg::TokenCount {
                    info: sample_usage_info(),
                    rate_limits: Some(RateLimitSnapshot {
                        requests: Some(RateLimitWindow {
                            limit: 100,
                            remaining: 90,
                            resets_in_seconds: Some(30),
                        }),
                        tokens: Some(RateLimitWindow {
                            limit: 10_000,
                            remaining: 5_000,
                            resets_in_seconds: None,
                        }),
                    }),
                },
            ),
        ),
        (
            "token_count without rate limits or window",
            ev(
                "1",
                EventMsg::TokenCount {
                    info: TokenUsageInfo {
                        model_context_window: None,
                        ..sample_usage_info()
                    },
                    rate_limits: None,
                },
            ),
        ),
        (
            "conversation_path",
            ev(
                "10",
                EventMsg::ConversationPath {
                    conversation_id: "0190-abcd".to_owned(),
                    path: PathBuf::from("/home/u/.sessions/0190-abcd.jsonl"),
                },
            ),
        ),
        (
            "mcp_startup_update",
            ev(
                "",
                EventMsg::McpStartupUpdate {
                    server: "docs".to_owned(),
                    status: McpStartupStatus::Ready {
                        tools: vec!["search".to_owned()],
                    },
                },
            ),
        ),
        (
            "mcp_tool_call_begin",
            ev(
                "7",
                EventMsg::McpToolCallBegin {
                    call_id: "call_9".to_owned(),
                    server: "docs".to_owned(),
                    tool: "search".to_owned(),
                    arguments: serde_json::json!({"q": "rust"}),
                },
            ),
        ),
        (
            "mcp_tool_call_end",
            ev(
                "7",
                EventMsg::McpToolCallEnd {
                    call_id: "call_9".to_owned(),
                    server: "docs".to_owned(),
                    tool: "search".to_owned(),
                    arguments: serde_json::json!({"q": "rust"}),
                    duration_ms: 12,
                    result: Some(
                        serde_json::json!({"content": [{"type": "text", "text": "found"}]}),
                    ),
                    error: None,
                },
            ),
        ),
        (
            "mcp_approval_request",
            ev(
                "7",
                EventMsg::McpApprovalRequest {
                    call_id: "call_9".to_owned(),
                    server: "docs".to_owned(),
                    tool: "search".to_owned(),
                    arguments: serde_json::json!({"q": "rust"}),
                    reason: None,
                },
            ),
        ),
        (
            "plan_update",
            ev(
                "7",
                EventMsg::PlanUpdate {
                    explanation: Some("found the bug".to_owned()),
                    plan: vec![
                        PlanItem {
                            step: "reproduce".to_owned(),
                            status: StepStatus::Completed,
                        },
                        PlanItem {
                            step: "fix".to_owned(),
                            status: StepStatus::InProgress,
                        },
                    ],
                },
            ),
        ),
        ("shutdown_complete", ev("11", EventMsg::ShutdownComplete)),
    ]
}
