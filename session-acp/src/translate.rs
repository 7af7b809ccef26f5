//! Our events as ACP `session/update`s.
//!
//! A [`Translator`] holds what one session's stream needs to remember: whether the message
//! being streamed already went out as chunks (a model may send its text only as a final item)
//! and which tool calls the client already knows, so a call is announced once (`tool_call`)
//! and updated after (`tool_call_update`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use agent_client_protocol::v1::schema::{
    ContentBlock, ContentChunk, Diff, Plan, PlanEntry, PlanEntryPriority, PlanEntryStatus,
    SessionUpdate, TextContent, ToolCall, ToolCallContent, ToolCallId, ToolCallLocation,
    ToolCallStatus, ToolCallUpdate, ToolCallUpdateFields, ToolKind, UsageUpdate,
};
use session_core::services::FileSystem;
use session_core::{EventMsg, FileChange, PlanItem, StepStatus};

use crate::diff;

/// Longest command output sent as a tool call's content; the model sees its own bound.
const MAX_OUTPUT: usize = 64 * 1024;

/// What one session's stream remembers between events.
#[derive(Debug, Default)]
pub(crate) struct Translator {
    /// The session's working directory: patch paths are relative to it, ACP's are absolute.
    cwd: PathBuf,
    /// Replaying a recording: the user's messages are shown too (live, the client has them).
    replay: bool,
    streamed_message: bool,
    streamed_reasoning: bool,
    announced: HashSet<String>,
}

fn text(text: impl Into<String>) -> ContentBlock {
    ContentBlock::Text(TextContent::new(text))
}

/// How a call that ran ended.
fn ended(ok: bool) -> ToolCallStatus {
    if ok {
        ToolCallStatus::Completed
    } else {
        ToolCallStatus::Failed
    }
}

fn chunk(block: ContentBlock) -> ContentChunk {
    ContentChunk::new(block)
}

impl Translator {
    /// For a live session in `cwd`.
    pub(crate) fn live(cwd: PathBuf) -> Self {
        Self {
            cwd,
            ..Self::default()
        }
    }

    /// For replaying a recorded session in `cwd`.
    pub(crate) fn replay(cwd: PathBuf) -> Self {
        Self {
            cwd,
            replay: true,
            ..Self::default()
        }
    }

    /// The updates one event makes. `fs` reads a file's text before a patch changes it, for
    /// a whole-file diff; `None` (a replay) shows the changed regions only.
    pub(crate) async fn updates(
        &mut self,
        msg: &EventMsg,
        fs: Option<&dyn FileSystem>,
    ) -> Vec<SessionUpdate> {
        match msg {
            EventMsg::UserMessage { message } if self.replay => {
                vec![SessionUpdate::UserMessageChunk(chunk(text(
                    message.clone(),
                )))]
            }
            EventMsg::AgentMessageDelta { delta } => {
                self.streamed_message = true;
                vec![SessionUpdate::AgentMessageChunk(chunk(text(delta.clone())))]
            }
            EventMsg::AgentMessage { message } => {
                if std::mem::take(&mut self.streamed_message) || message.is_empty() {
                    Vec::new()
                } else {
                    vec![SessionUpdate::AgentMessageChunk(chunk(text(
                        message.clone(),
                    )))]
                }
            }
            EventMsg::AgentReasoningDelta { delta } => {
                self.streamed_reasoning = true;
                vec![SessionUpdate::AgentThoughtChunk(chunk(text(delta.clone())))]
            }
            EventMsg::AgentReasoning { text: thought } => {
                if std::mem::take(&mut self.streamed_reasoning) || thought.is_empty() {
                    Vec::new()
                } else {
                    vec![SessionUpdate::AgentThoughtChunk(chunk(text(
                        thought.clone(),
                    )))]
                }
            }
            EventMsg::ExecApprovalRequest {
                call_id,
                command,
                cwd,
                ..
            } => self.announce(exec_call(call_id, command, cwd, ToolCallStatus::Pending)),
            EventMsg::ExecCommandBegin {
                call_id,
                command,
                cwd,
            } => self.announce(exec_call(call_id, command, cwd, ToolCallStatus::InProgress)),
            EventMsg::ExecCommandEnd {
                call_id,
                aggregated_output,
                exit_code,
                duration_ms,
                ..
            } => {
                let status = ended(*exit_code == 0);
                let mut fields =
                    ToolCallUpdateFields::new()
                        .status(status)
                        .raw_output(serde_json::json!({
                            "exit_code": exit_code,
                            "duration_ms": duration_ms,
                        }));
                if !aggregated_output.is_empty() {
                    fields = fields
                        .content(vec![ToolCallContent::from(text(fenced(aggregated_output)))]);
                }
                self.finish(call_id, fields)
            }
            EventMsg::ApplyPatchApprovalRequest {
                call_id, changes, ..
            } => {
                let call =
                    patch_call(&self.cwd, call_id, changes, fs, ToolCallStatus::Pending).await;
                self.announce(call)
            }
            EventMsg::PatchApplyBegin {
                call_id, changes, ..
            } => {
                let call =
                    patch_call(&self.cwd, call_id, changes, fs, ToolCallStatus::InProgress).await;
                self.announce(call)
            }
            EventMsg::PatchApplyEnd {
                call_id,
                stdout,
                stderr,
                success,
            } => {
                let status = ended(*success);
                let mut fields = ToolCallUpdateFields::new()
                    .status(status)
                    .raw_output(serde_json::json!({ "stdout": stdout, "stderr": stderr }));
                // A failed patch shows why.
                if !*success && !stderr.is_empty() {
                    fields = fields.content(vec![ToolCallContent::from(text(stderr.clone()))]);
                }
                self.finish(call_id, fields)
            }
            EventMsg::McpApprovalRequest {
                call_id,
                server,
                tool,
                arguments,
                ..
            } => self.announce(mcp_call(
                call_id,
                server,
                tool,
                arguments,
                ToolCallStatus::Pending,
            )),
            EventMsg::McpToolCallBegin {
                call_id,
                server,
                tool,
                arguments,
            } => self.announce(mcp_call(
                call_id,
                server,
                tool,
                arguments,
                ToolCallStatus::InProgress,
            )),
            EventMsg::McpToolCallEnd {
                call_id,
                result,
                error,
                ..
            } => {
                let failed = error.is_some()
                    || result
                        .as_ref()
                        .and_then(|r| r.get("isError"))
                        .and_then(serde_json::Value::as_bool)
                        .unwrap_or(false);
                let status = ended(!failed);
                let shown = match (error, result) {
                    (Some(error), _) => error.clone(),
                    (None, Some(result)) => mcp_text(result),
                    (None, None) => String::new(),
                };
                let mut fields = ToolCallUpdateFields::new().status(status);
                if let Some(result) = result {
                    fields = fields.raw_output(result.clone());
                }
                if !shown.is_empty() {
                    fields = fields.content(vec![ToolCallContent::from(text(shown))]);
                }
                self.finish(call_id, fields)
            }
            EventMsg::PlanUpdate { plan, .. } => vec![SessionUpdate::Plan(plan_of(plan))],
            EventMsg::TokenCount { info, .. } => match info.model_context_window {
                Some(size) => vec![SessionUpdate::UsageUpdate(UsageUpdate::new(
                    info.last_token_usage.tokens_in_context(),
                    size,
                ))],
                None => Vec::new(),
            },
            EventMsg::TaskStarted { .. }
            | EventMsg::TaskComplete { .. }
            | EventMsg::TurnAborted { .. } => {
                self.streamed_message = false;
                self.streamed_reasoning = false;
                // A call the turn never ran (declined, or cancelled while it asked) ends with
                // the turn; the client must not keep showing it as pending.
                let mut open: Vec<String> = self.announced.drain().collect();
                open.sort();
                open.into_iter()
                    .map(|id| {
                        SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(
                            ToolCallId::new(id),
                            ToolCallUpdateFields::new().status(ToolCallStatus::Failed),
                        ))
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// A call's first appearance, or an update of the one the client already has.
    fn announce(&mut self, call: ToolCall) -> Vec<SessionUpdate> {
        let id = call.tool_call_id.0.to_string();
        if self.announced.insert(id) {
            vec![SessionUpdate::ToolCall(call)]
        } else {
            let mut fields = ToolCallUpdateFields::new()
                .status(call.status)
                .title(call.title)
                .kind(call.kind);
            // An empty list would replace what the client shows with nothing.
            if !call.content.is_empty() {
                fields = fields.content(call.content);
            }
            if !call.locations.is_empty() {
                fields = fields.locations(call.locations);
            }
            vec![SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(
                call.tool_call_id,
                fields,
            ))]
        }
    }

    fn finish(&mut self, call_id: &str, fields: ToolCallUpdateFields) -> Vec<SessionUpdate> {
        self.announced.remove(call_id);
        vec![SessionUpdate::ToolCallUpdate(ToolCallUpdate::new(
            ToolCallId::new(call_id.to_owned()),
            fields,
        ))]
    }
}

/// A tool call as the permission request shows it: what the client was told in `tool_call`.
pub(crate) fn as_update(call: &ToolCall) -> ToolCallUpdate {
    ToolCallUpdate::new(
        call.tool_call_id.clone(),
        ToolCallUpdateFields::new()
            .title(call.title.clone())
            .kind(call.kind)
            .status(call.status)
            .content(call.content.clone())
            .locations(call.locations.clone())
            .raw_input(call.raw_input.clone()),
    )
}

/// The words of a command as a shell would read them back.
fn shell_words(command: &[String]) -> String {
    command
        .iter()
        .map(|w| {
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The script of `bash -lc <script>` and the like, or the command itself.
fn script_of(command: &[String]) -> Option<&str> {
    match command {
        [shell, flag, script] if is_shell(shell) && (flag == "-c" || flag == "-lc") => {
            Some(script.as_str())
        }
        _ => None,
    }
}

fn is_shell(program: &str) -> bool {
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    matches!(name, "bash" | "sh" | "zsh" | "dash")
}

/// What a command does, for the client's icon: reading, searching, or anything else.
fn exec_kind(command: &[String]) -> ToolKind {
    let first = match script_of(command) {
        Some(script) => script.split_whitespace().next().unwrap_or(""),
        None => command.first().map_or("", String::as_str),
    };
    let has_control =
        script_of(command).is_some_and(|s| s.contains(['|', ';', '&', '>', '<', '`', '$']));
    if has_control {
        return ToolKind::Execute;
    }
    match Path::new(first).file_name().and_then(|n| n.to_str()) {
        Some("cat" | "head" | "tail" | "less" | "more" | "nl" | "wc" | "file" | "stat") => {
            ToolKind::Read
        }
        Some("grep" | "rg" | "ag" | "find" | "fd" | "ls" | "tree") => ToolKind::Search,
        _ => ToolKind::Execute,
    }
}

fn exec_call(call_id: &str, command: &[String], cwd: &Path, status: ToolCallStatus) -> ToolCall {
    let title = script_of(command).map_or_else(|| shell_words(command), str::to_owned);
    let kind = exec_kind(command);
    let mut call = ToolCall::new(call_id.to_owned(), title)
        .kind(kind)
        .status(status)
        .raw_input(serde_json::json!({ "command": command, "cwd": cwd }));
    if kind == ToolKind::Read {
        // The files it reads, where they are plain operands.
        let words: Vec<&str> = match script_of(command) {
            Some(script) => script.split_whitespace().collect(),
            None => command.iter().map(String::as_str).collect(),
        };
        // Only files inside the workspace, as they resolve: a model naming `../../etc/passwd`
        // or a symlink out must not make the editor open (follow) anything outside it.
        let root = std::fs::canonicalize(cwd).ok();
        let locations: Vec<ToolCallLocation> = words
            .iter()
            .skip(1)
            .filter(|w| !w.starts_with('-'))
            .filter_map(|w| std::fs::canonicalize(cwd.join(w)).ok())
            .filter(|p| p.is_file() && root.as_ref().is_some_and(|r| p.starts_with(r)))
            .map(ToolCallLocation::new)
            .collect();
        call = call.locations(locations);
    }
    call
}

async fn patch_call(
    cwd: &Path,
    call_id: &str,
    changes: &std::collections::BTreeMap<PathBuf, FileChange>,
    fs: Option<&dyn FileSystem>,
    status: ToolCallStatus,
) -> ToolCall {
    let mut content = Vec::with_capacity(changes.len());
    let mut locations = Vec::with_capacity(changes.len());
    for (path, change) in changes {
        let path = &cwd.join(path);
        match change {
            FileChange::Add { content: new } => {
                content.push(ToolCallContent::from(Diff::new(path, new.clone())));
                locations.push(ToolCallLocation::new(path));
            }
            FileChange::Delete => {
                let old = match fs {
                    Some(fs) => fs.read_to_string(path).await.ok(),
                    None => None,
                };
                content.push(ToolCallContent::from(
                    Diff::new(path, String::new()).old_text(old),
                ));
                locations.push(ToolCallLocation::new(path));
            }
            FileChange::Update {
                unified_diff,
                move_path,
            } => {
                let whole = match fs {
                    Some(fs) => match fs.read_to_string(path).await {
                        Ok(old) => diff::apply(&old, unified_diff).map(|new| (old, new)),
                        Err(_) => None,
                    },
                    None => None,
                };
                let (old, new) = whole.unwrap_or_else(|| diff::regions(unified_diff));
                let target = &move_path
                    .as_deref()
                    .map_or_else(|| path.clone(), |p| cwd.join(p));
                content.push(ToolCallContent::from(
                    Diff::new(target, new).old_text(Some(old)),
                ));
                locations.push(ToolCallLocation::new(target).line(diff::first_line(unified_diff)));
            }
        }
    }
    let title = match changes.keys().next() {
        // Relative in the title, as the model wrote it.
        Some(first) if changes.len() == 1 => format!("Edit {}", first.display()),
        Some(first) => format!("Edit {} and {} more", first.display(), changes.len() - 1),
        None => "Edit files".to_owned(),
    };
    ToolCall::new(call_id.to_owned(), title)
        .kind(ToolKind::Edit)
        .status(status)
        .content(content)
        .locations(locations)
}

fn mcp_call(
    call_id: &str,
    server: &str,
    tool: &str,
    arguments: &serde_json::Value,
    status: ToolCallStatus,
) -> ToolCall {
    let lower = tool.to_ascii_lowercase();
    let kind = if ["fetch", "http", "url", "web", "browse"]
        .iter()
        .any(|w| lower.contains(w))
    {
        ToolKind::Fetch
    } else if lower.contains("think") {
        ToolKind::Think
    } else if lower.contains("search") || lower.contains("find") {
        ToolKind::Search
    } else if lower.starts_with("read") || lower.starts_with("get_file") {
        ToolKind::Read
    } else {
        ToolKind::Other
    };
    ToolCall::new(call_id.to_owned(), format!("{server}: {tool}"))
        .kind(kind)
        .status(status)
        .raw_input(arguments.clone())
}

/// The text parts of an MCP result (`content[].text`), or the result as JSON.
fn mcp_text(result: &serde_json::Value) -> String {
    let parts: Vec<&str> = result
        .get("content")
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c.get("text").and_then(serde_json::Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    if parts.is_empty() {
        result.to_string()
    } else {
        parts.join("\n")
    }
}

fn plan_of(plan: &[PlanItem]) -> Plan {
    Plan::new(
        plan.iter()
            .map(|item| {
                let status = match item.status {
                    StepStatus::Pending => PlanEntryStatus::Pending,
                    StepStatus::InProgress => PlanEntryStatus::InProgress,
                    StepStatus::Completed => PlanEntryStatus::Completed,
                };
                PlanEntry::new(item.step.clone(), PlanEntryPriority::Medium, status)
            })
            .collect(),
    )
}

/// Command output as a fenced block (a fence longer than any run of backticks inside), cut to
/// [`MAX_OUTPUT`] at a character boundary.
fn fenced(output: &str) -> String {
    let mut end = output.len().min(MAX_OUTPUT);
    while !output.is_char_boundary(end) {
        end -= 1;
    }
    let shown = &output[..end];
    let longest = shown.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let cut = if end < output.len() {
        format!("\n… {} more bytes", output.len() - end)
    } else {
        String::new()
    };
    let newline = if shown.ends_with('\n') { "" } else { "\n" };
    format!("{fence}\n{shown}{newline}{fence}{cut}")
}

#[cfg(test)]
mod tests;
