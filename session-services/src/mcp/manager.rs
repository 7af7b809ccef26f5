//! The MCP manager: every configured server, their tools under qualified names, and tool calls
//! bounded by time and cancellation.
//!
//! Exists so the session sees MCP as a set of named tools and one `call`. It must never block
//! on a server that is starting or stuck, never let one server's failure touch another, and
//! never leave a server process running after [`McpManager::shutdown`] or a drop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolRequest, CallToolRequestParams, ClientRequest, ServerResult};
use rmcp::service::{PeerRequestOptions, ServiceError};
use serde_json::Value;
use session_state::CancelToken;
use tokio::sync::oneshot;

use super::config::McpServerConfig;
use super::content::McpCallResult;
use super::error::McpError;
use super::names;
use super::server::{Live, Phase, Slot};

/// How long a call waits to learn why a server that closed the connection ended.
const DEATH_REASON_WAIT: Duration = Duration::from_secs(1);
/// How long telling the server about a cancellation may take before we stop waiting.
const CANCEL_NOTICE_LIMIT: Duration = Duration::from_millis(250);
/// Extra time [`McpManager::wait_started`] allows beyond a server's own startup timeout.
const STARTED_SLACK: Duration = Duration::from_secs(1);

/// Called with each server's status as it changes.
pub type OnStatus = Arc<dyn Fn(&str, &McpStatus) + Send + Sync>;

/// Called with each progress notification of a call: progress so far, the total when known,
/// and the server's message.
pub type OnProgress = Box<dyn Fn(f64, Option<f64>, Option<String>) + Send>;

/// A server's state, as reported to `on_status` (PROTOCOL.md's `mcp_startup_update`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpStatus {
    /// Started, not yet ready.
    Starting,
    /// Initialized and listed; `tools` are its tools by its own names, after the
    /// configuration's filters, sorted.
    Ready {
        /// Its tool names.
        tools: Vec<String>,
    },
    /// It could not start, or it died; `error` says why in words.
    Failed {
        /// Why.
        error: String,
    },
}

/// One tool of a ready server, as offered to a model.
#[derive(Debug, Clone, PartialEq)]
pub struct McpTool {
    /// The server's configured name.
    pub server: String,
    /// The tool's name on the server.
    pub name: String,
    /// `mcp__<server>__<tool>`, sanitized to `^[a-zA-Z0-9_-]{1,64}$`, unique across servers.
    pub qualified: String,
    /// What the tool does, from the server (its title when it gave no description).
    pub description: String,
    /// The JSON schema of its arguments; `{"type": "object"}` when the server's is unusable.
    pub input_schema: Value,
    /// Whether the server says it only reads (`annotations.readOnlyHint`); a hint, not a
    /// guarantee, unless [`McpTool::trusted`].
    pub read_only: bool,
    /// Whether the server is trusted by configuration (`trust = true`).
    pub trusted: bool,
}

/// Every configured MCP server of a session.
///
/// Dropping it stops every server at once (without the graceful close of
/// [`McpManager::shutdown`]).
pub struct McpManager {
    /// The enabled servers, by name.
    slots: Vec<Arc<Slot>>,
}

impl std::fmt::Debug for McpManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpManager")
            .field(
                "servers",
                &self.slots.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl McpManager {
    /// Starts every enabled server concurrently and returns at once.
    ///
    /// `on_status(server, status)` is called with [`McpStatus::Starting`] for each enabled
    /// server before this returns, then once with `Ready` or `Failed` (a crash, a command that
    /// cannot run, a startup timeout, an `initialize` error: the reason in words), and with
    /// `Failed` again if a ready server dies. It is called from the servers' tasks, so it must
    /// not block. Must be called within a tokio runtime; without one, every server fails.
    pub fn start(
        servers: BTreeMap<String, McpServerConfig>,
        on_status: OnStatus,
    ) -> Arc<McpManager> {
        let runtime = tokio::runtime::Handle::try_current();
        let mut slots = Vec::new();
        for (name, config) in servers {
            if !config.enabled {
                continue;
            }
            let slot = Arc::new(Slot::new(name, config, Arc::clone(&on_status)));
            on_status(&slot.name, &McpStatus::Starting);
            match &runtime {
                Ok(runtime) => slot.begin(runtime),
                Err(_) => slot.report(Phase::Failed(
                    "no tokio runtime to run the server on".to_owned(),
                )),
            }
            slots.push(slot);
        }
        Arc::new(McpManager { slots })
    }

    /// Waits until every server is ready or failed (each bounded by its own startup timeout).
    pub async fn wait_started(&self) {
        let waits = self
            .slots
            .iter()
            .map(|slot| slot.settled(slot.config.startup_timeout + STARTED_SLACK));
        futures_util::future::join_all(waits).await;
    }

    /// Every enabled server's current status, by name.
    pub fn statuses(&self) -> BTreeMap<String, McpStatus> {
        self.slots
            .iter()
            .map(|slot| (slot.name.clone(), slot.status()))
            .collect()
    }

    /// The tools of the ready servers, after `enabled_tools` / `disabled_tools`, sorted by
    /// qualified name.
    pub fn tools(&self) -> Vec<McpTool> {
        let mut tools: Vec<McpTool> = self.catalog().into_iter().map(|(tool, _)| tool).collect();
        tools.sort_by(|a, b| a.qualified.cmp(&b.qualified));
        tools
    }

    /// Calls the tool named `qualified` with `arguments` (a JSON object, or null for none).
    ///
    /// Bounded by the server's `tool_timeout`. When `cancel` fires, the server is sent
    /// `notifications/cancelled` for the request and the call returns
    /// [`McpError::Cancelled`] at once. `on_progress` is called with each progress
    /// notification of this call, on the caller's task.
    ///
    /// # Errors
    /// [`McpError`]: an unknown name, a server not ready, invalid arguments, a timeout, a
    /// cancellation, the server dying during the call ([`McpError::ServerDied`]; the server is
    /// then reported failed), or a JSON-RPC error. A tool that answers with `isError` is an
    /// `Ok` whose [`McpCallResult::is_error`] is set.
    ///
    /// # Cancel safety
    /// Dropping the future abandons the call without telling the server; use `cancel` instead.
    pub async fn call(
        &self,
        qualified: &str,
        arguments: Value,
        cancel: CancelToken,
        on_progress: Option<OnProgress>,
    ) -> Result<McpCallResult, McpError> {
        let (slot, live, tool) = self.resolve(qualified)?;
        let server = slot.name.clone();
        let arguments = match arguments {
            Value::Object(map) => Some(map),
            Value::Null => None,
            _ => return Err(McpError::InvalidArguments { server, tool }),
        };
        if cancel.is_cancelled() {
            return Err(McpError::Cancelled { server, tool });
        }
        let mut params = CallToolRequestParams::new(tool.clone());
        params.arguments = arguments;
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let sent = live
            .peer
            .send_cancellable_request(request, PeerRequestOptions::no_options())
            .await;
        let mut handle = match sent {
            Ok(handle) => handle,
            Err(error) => return Err(self.failed_call(&slot, tool, error).await),
        };
        let mut route = live.progress.register(handle.progress_token.clone());
        let deadline = tokio::time::sleep(slot.config.tool_timeout);
        tokio::pin!(deadline);
        let outcome = loop {
            let event = tokio::select! {
                biased;
                () = cancel.cancelled() => Event::Cancelled,
                response = &mut handle.rx => Event::Answer(Box::new(response)),
                () = &mut deadline => Event::TimedOut,
                Some(progress) = route.rx.recv() => Event::Progress(progress),
            };
            match event {
                Event::Progress(p) => {
                    if let Some(on_progress) = &on_progress {
                        on_progress(p.progress, p.total, p.message);
                    }
                }
                Event::Cancelled => break Outcome::Cancelled,
                Event::TimedOut => break Outcome::TimedOut,
                Event::Answer(answer) => break Outcome::Answer(answer),
            }
        };
        drop(route);
        match outcome {
            Outcome::Cancelled => {
                let notice = handle.cancel(Some("cancelled by the user".to_owned()));
                let _ = tokio::time::timeout(CANCEL_NOTICE_LIMIT, notice).await;
                Err(McpError::Cancelled { server, tool })
            }
            Outcome::TimedOut => {
                let notice = handle.cancel(Some("timed out".to_owned()));
                let _ = tokio::time::timeout(CANCEL_NOTICE_LIMIT, notice).await;
                Err(McpError::Timeout {
                    server,
                    tool,
                    timeout: slot.config.tool_timeout,
                })
            }
            Outcome::Answer(boxed) => match *boxed {
                Ok(Ok(result)) => answer(server, tool, result),
                Ok(Err(error)) => Err(self.failed_call(&slot, tool, error).await),
                Err(_) => Err(self
                    .failed_call(&slot, tool, ServiceError::TransportClosed)
                    .await),
            },
        }
    }

    /// Stops every server: closes its connection, kills its whole process group, and waits
    /// until no process of it is left.
    pub async fn shutdown(&self) {
        futures_util::future::join_all(self.slots.iter().map(|slot| slot.stop())).await;
    }

    /// The server, connection and server-side tool name behind `qualified`.
    fn resolve(&self, qualified: &str) -> Result<(Arc<Slot>, Arc<Live>, String), McpError> {
        if let Some((tool, slot_index)) = self
            .catalog()
            .into_iter()
            .find(|(tool, _)| tool.qualified == qualified)
        {
            let slot = Arc::clone(&self.slots[slot_index]);
            if let Phase::Ready(live) = slot.phase() {
                return Ok((slot, live, tool.name));
            }
        }
        // Not offered: say whether its server is known, and why it offers nothing.
        let Some(slot) = self
            .slots
            .iter()
            .filter(|s| qualified.starts_with(&names::server_prefix(&s.name)))
            .max_by_key(|s| names::server_prefix(&s.name).len())
        else {
            return Err(McpError::UnknownServer {
                qualified: qualified.to_owned(),
            });
        };
        let server = slot.name.clone();
        match slot.phase() {
            Phase::Ready(_) => Err(McpError::UnknownTool {
                server,
                qualified: qualified.to_owned(),
            }),
            Phase::Starting => Err(McpError::NotReady {
                server,
                reason: "it is still starting".to_owned(),
            }),
            Phase::Failed(reason) => Err(McpError::NotReady { server, reason }),
            Phase::Stopped => Err(McpError::NotReady {
                server,
                reason: "it was shut down".to_owned(),
            }),
        }
    }

    /// Every offered tool with its slot's index, named over all ready servers at once.
    fn catalog(&self) -> Vec<(McpTool, usize)> {
        let mut entries = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            if let Phase::Ready(live) = slot.phase() {
                for tool in &live.tools {
                    entries.push((index, slot.config.trust, tool.clone()));
                }
            }
        }
        let pairs: Vec<(&str, &str)> = entries
            .iter()
            .map(|(index, _, tool)| (self.slots[*index].name.as_str(), tool.name.as_str()))
            .collect();
        let qualified = names::qualify(&pairs);
        entries
            .into_iter()
            .zip(qualified)
            .map(|((index, trusted, tool), qualified)| {
                let mcp_tool = McpTool {
                    server: self.slots[index].name.clone(),
                    name: tool.name,
                    qualified,
                    description: tool.description,
                    input_schema: tool.input_schema,
                    read_only: tool.read_only,
                    trusted,
                };
                (mcp_tool, index)
            })
            .collect()
    }

    /// The error for a call that failed below the tool: a closed connection means the server
    /// died, and we wait briefly to say how.
    async fn failed_call(&self, slot: &Slot, tool: String, error: ServiceError) -> McpError {
        let server = slot.name.clone();
        match error {
            ServiceError::TransportClosed => {
                let reason = slot
                    .failure(DEATH_REASON_WAIT)
                    .await
                    .unwrap_or_else(|| "the connection closed".to_owned());
                McpError::ServerDied {
                    server,
                    tool,
                    reason,
                }
            }
            ServiceError::McpError(error) => McpError::Protocol {
                server,
                tool,
                message: error.message.into_owned(),
            },
            other => McpError::Protocol {
                server,
                tool,
                message: other.to_string(),
            },
        }
    }
}

impl Drop for McpManager {
    fn drop(&mut self) {
        for slot in &self.slots {
            slot.stop_now();
        }
    }
}

type Answer = Box<Result<Result<ServerResult, ServiceError>, oneshot::error::RecvError>>;

/// What woke a call's wait.
enum Event {
    Cancelled,
    TimedOut,
    Answer(Answer),
    Progress(super::client::Progress),
}

/// What ended a call's wait.
enum Outcome {
    Cancelled,
    TimedOut,
    Answer(Answer),
}

fn answer(server: String, tool: String, result: ServerResult) -> Result<McpCallResult, McpError> {
    match result {
        ServerResult::CallToolResult(result) => Ok(result.into()),
        // A result with nothing in it is a call that returned nothing.
        ServerResult::EmptyResult(_) => Ok(McpCallResult {
            content: Vec::new(),
            structured: None,
            is_error: false,
        }),
        _ => Err(McpError::Protocol {
            server,
            tool,
            message: "the server answered with something that is not a tool result".to_owned(),
        }),
    }
}
