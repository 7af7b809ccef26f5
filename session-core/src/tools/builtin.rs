//! The built-in tools as registry entries: `shell` and `apply_patch` (which settle their own
//! approvals, by policy and sandbox) and `update_plan`.

use std::sync::Arc;

use serde::Deserialize;
use session_services::ToolSpec;
use session_state::{EventMsg, PlanItem};

use super::TurnHost;
use crate::outcome::{Stop, ToolCall};
use crate::registry::{Tool, ToolCallContext, ToolError, Tools};

impl Tools {
    /// The built-in tools: `shell`, `apply_patch`, `update_plan`.
    pub fn builtin() -> Self {
        let tools = Self::empty();
        tools.register(Arc::new(Shell));
        tools.register(Arc::new(ApplyPatch));
        tools.register(Arc::new(UpdatePlan));
        tools
    }
}

fn spec_named(name: &str) -> ToolSpec {
    super::tool_specs()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| ToolSpec {
            name: name.to_owned(),
            description: String::new(),
            parameters: serde_json::json!({"type": "object"}),
        })
}

/// The engine behind a built-in's call.
fn host<'a>(call: &'a ToolCallContext<'_>) -> Result<&'a TurnHost, ToolError> {
    call.host_any()
        .downcast_ref::<TurnHost>()
        .ok_or_else(|| ToolError::Failed("a built-in tool ran outside a session turn".to_owned()))
}

fn from_stop(stop: Stop) -> ToolError {
    match stop {
        Stop::Cancelled => ToolError::Cancelled,
        Stop::AbortRequested => ToolError::Aborted,
        Stop::Failed(message) => ToolError::Failed(message),
    }
}

fn tool_call(call: &ToolCallContext<'_>, name: &str) -> ToolCall {
    ToolCall {
        call_id: call.call_id().to_owned(),
        name: name.to_owned(),
        arguments: call.raw_arguments().to_owned(),
    }
}

struct Shell;

#[async_trait::async_trait]
impl Tool for Shell {
    fn spec(&self) -> ToolSpec {
        spec_named("shell")
    }

    async fn call(&self, call: ToolCallContext<'_>) -> Result<String, ToolError> {
        let host = host(&call)?;
        super::shell::handle(&host.inner, &host.turn, &tool_call(&call, "shell"))
            .await
            .map_err(from_stop)
    }
}

struct ApplyPatch;

#[async_trait::async_trait]
impl Tool for ApplyPatch {
    fn spec(&self) -> ToolSpec {
        spec_named("apply_patch")
    }

    async fn call(&self, call: ToolCallContext<'_>) -> Result<String, ToolError> {
        let host = host(&call)?;
        super::patch::handle(&host.inner, &host.turn, &tool_call(&call, "apply_patch"))
            .await
            .map_err(from_stop)
    }
}

struct UpdatePlan;

#[derive(Deserialize)]
struct PlanArgs {
    #[serde(default)]
    explanation: Option<String>,
    plan: Vec<PlanItem>,
}

#[async_trait::async_trait]
impl Tool for UpdatePlan {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "update_plan".to_owned(),
            description: "Keep a short plan of the task up to date: the steps in order, each \
                          `pending`, `in_progress` (at most one) or `completed`, and optionally \
                          why it changed. The user sees it."
                .to_owned(),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "explanation": {"type": "string"},
                    "plan": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "step": {"type": "string"},
                                "status": {"type": "string",
                                           "enum": ["pending", "in_progress", "completed"]}
                            },
                            "required": ["step", "status"],
                            "additionalProperties": false
                        }
                    }
                },
                "required": ["plan"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, call: ToolCallContext<'_>) -> Result<String, ToolError> {
        let args: PlanArgs = serde_json::from_value(call.arguments().clone())
            .map_err(|e| ToolError::Failed(format!("invalid arguments for `update_plan`: {e}")))?;
        call.emit(EventMsg::PlanUpdate {
            explanation: args.explanation,
            plan: args.plan,
        });
        Ok("Plan updated".to_owned())
    }
}
