//! MCP tools as registry entries: each tool of a ready server is offered to the model as
//! `mcp__<server>__<tool>`, asks under `untrusted` and `on-request` unless it is read-only or its
//! server trusted, and reports its calls as `mcp_tool_call_begin` / `mcp_tool_call_end`.

use std::sync::Arc;
use std::time::Instant;

use session_services::ToolSpec;
use session_services::mcp::{McpContent, McpError, McpManager, McpTool};
use session_state::{
    ActiveTurn, ApprovalKind, AskForApproval, ContentItem, EventMsg, ResponseItem,
};

use super::TurnHost;
use crate::inner::SessionInner;
use crate::outcome::Stop;
use crate::registry::{Tool, ToolCallContext, ToolError};

/// One MCP tool.
struct McpEntry {
    manager: Arc<McpManager>,
    tool: McpTool,
}

/// Offer the tools of every ready server that the registry does not have yet.
pub(crate) fn sync(inner: &SessionInner, manager: &Arc<McpManager>) {
    for tool in manager.tools() {
        if inner.tools.get(&tool.qualified).is_none() {
            inner.tools.register(Arc::new(McpEntry {
                manager: Arc::clone(manager),
                tool,
            }));
        }
    }
}

/// Whether a call needs the user's yes.
fn asks(tool: &McpTool, policy: AskForApproval) -> bool {
    match policy {
        AskForApproval::Untrusted | AskForApproval::OnRequest => !(tool.read_only || tool.trusted),
        AskForApproval::OnFailure | AskForApproval::Never => false,
    }
}

impl McpEntry {
    /// Settle approval: `Ok(None)` runs the call, `Ok(Some(text))` tells the model it did not.
    async fn approve(
        &self,
        inner: &SessionInner,
        turn: &ActiveTurn,
        call: &ToolCallContext<'_>,
    ) -> Result<Option<String>, Stop> {
        let policy = inner.context().approval_policy;
        let key = vec!["mcp".to_owned(), self.tool.qualified.clone()];
        if !asks(&self.tool, policy) || inner.is_approved_for_session(&key) {
            return Ok(None);
        }
        let request = EventMsg::McpApprovalRequest {
            call_id: call.call_id().to_owned(),
            server: self.tool.server.clone(),
            tool: self.tool.name.clone(),
            arguments: call.arguments().clone(),
            reason: None,
        };
        let summary = vec![
            format!("mcp {}.{}", self.tool.server, self.tool.name),
            call.arguments().to_string(),
        ];
        let decision = super::request_approval(
            inner,
            turn,
            call.call_id(),
            ApprovalKind::Exec,
            request,
            summary,
        )
        .await?;
        let rejected = format!(
            "The user rejected this call of {}.{}; it did not run.",
            self.tool.server, self.tool.name
        );
        super::settle(inner, decision, key, rejected).await
    }
}

#[async_trait::async_trait]
impl Tool for McpEntry {
    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: self.tool.qualified.clone(),
            description: self.tool.description.clone(),
            parameters: self.tool.input_schema.clone(),
        }
    }

    async fn call(&self, call: ToolCallContext<'_>) -> Result<String, ToolError> {
        let Some(host) = call.host_any().downcast_ref::<TurnHost>() else {
            return Err(ToolError::Failed(
                "an MCP tool ran outside a session turn".to_owned(),
            ));
        };
        match self.approve(&host.inner, &host.turn, &call).await {
            Ok(None) => {}
            Ok(Some(refused)) => return Ok(refused),
            Err(Stop::AbortRequested) => return Err(ToolError::Aborted),
            Err(_) => return Err(ToolError::Cancelled),
        }
        let (server, tool) = (self.tool.server.clone(), self.tool.name.clone());
        call.emit(EventMsg::McpToolCallBegin {
            call_id: call.call_id().to_owned(),
            server: server.clone(),
            tool: tool.clone(),
            arguments: call.arguments().clone(),
        });
        let started = Instant::now();
        let outcome = self
            .manager
            .call(
                &self.tool.qualified,
                call.arguments().clone(),
                call.cancel_token().clone(),
                None,
            )
            .await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let end =
            |result: Option<serde_json::Value>, error: Option<String>| EventMsg::McpToolCallEnd {
                call_id: call.call_id().to_owned(),
                server: server.clone(),
                tool: tool.clone(),
                arguments: call.arguments().clone(),
                duration_ms,
                result,
                error,
            };
        match outcome {
            Ok(result) => {
                let text = result.to_text();
                // Images go to the model as images, in a user message after the output: every
                // wire API takes images there.
                let images: Vec<ContentItem> = result
                    .content
                    .iter()
                    .filter_map(|c| match c {
                        McpContent::Image { data, mime_type } => Some(ContentItem::InputImage {
                            image_url: format!("data:{mime_type};base64,{data}"),
                        }),
                        _ => None,
                    })
                    .collect();
                if !images.is_empty() {
                    let mut content = vec![ContentItem::InputText {
                        text: format!("Images returned by {server}.{tool}:"),
                    }];
                    content.extend(images);
                    host.attachments
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(ResponseItem::Message {
                            id: None,
                            role: "user".to_owned(),
                            content,
                        });
                }
                let shown = serde_json::json!({
                    "content": text,
                    "structured_content": result.structured,
                    "is_error": result.is_error,
                });
                call.emit(end(Some(shown), None));
                Ok(if result.is_error {
                    format!("The tool reported an error:\n{text}")
                } else {
                    text
                })
            }
            Err(McpError::Cancelled { .. }) => {
                call.emit(end(None, Some("interrupted".to_owned())));
                Err(ToolError::Cancelled)
            }
            Err(e) => {
                let message = e.to_string();
                call.emit(end(None, Some(message.clone())));
                Err(ToolError::Failed(message))
            }
        }
    }
}
