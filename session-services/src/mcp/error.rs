//! The MCP port's error: why a tool call did not produce an answer.
//!
//! Every message names the server and, where there is one, the tool, so it can be shown to a
//! user or a model as it is. A tool that answered with `isError` is not an error here.

use std::time::Duration;

/// Why [`McpManager::call`](super::McpManager::call) returned no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum McpError {
    /// No configured (and enabled) server offers tools under this name's prefix.
    #[error("no MCP server offers a tool named {qualified}")]
    UnknownServer {
        /// The qualified name asked for.
        qualified: String,
    },
    /// The server is up but has no such tool (or it is disabled by configuration).
    #[error("MCP server {server} has no tool named {qualified}")]
    UnknownTool {
        /// The server the name points to.
        server: String,
        /// The qualified name asked for.
        qualified: String,
    },
    /// The server is still starting, failed to start, died, or was shut down.
    #[error("MCP server {server} is not ready: {reason}")]
    NotReady {
        /// The server.
        server: String,
        /// Why, in words.
        reason: String,
    },
    /// The call's arguments are not a JSON object.
    #[error("arguments to MCP tool {tool} of server {server} must be a JSON object")]
    InvalidArguments {
        /// The server.
        server: String,
        /// The tool, by the server's name for it.
        tool: String,
    },
    /// The call took longer than the server's `tool_timeout`; it was cancelled.
    #[error("MCP tool {tool} of server {server} timed out after {}", humanize(*.timeout))]
    Timeout {
        /// The server.
        server: String,
        /// The tool, by the server's name for it.
        tool: String,
        /// The limit that was reached.
        timeout: Duration,
    },
    /// The caller cancelled the call; the server was told.
    #[error("MCP tool {tool} of server {server} was cancelled")]
    Cancelled {
        /// The server.
        server: String,
        /// The tool, by the server's name for it.
        tool: String,
    },
    /// The server went away during the call.
    #[error("MCP server {server} died during a call of {tool}: {reason}")]
    ServerDied {
        /// The server.
        server: String,
        /// The tool, by the server's name for it.
        tool: String,
        /// What is known of its end (exit status, last stderr lines).
        reason: String,
    },
    /// The server answered with a JSON-RPC error or something that is not a tool result.
    #[error("MCP tool {tool} of server {server} failed: {message}")]
    Protocol {
        /// The server.
        server: String,
        /// The tool, by the server's name for it.
        tool: String,
        /// The server's error message, or what was wrong with its answer.
        message: String,
    },
}

/// `1.5s`, `250ms`, `10s`: short and exact enough for a message.
pub(crate) fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 && duration.as_secs() > 0 {
        format!("{}s", duration.as_secs())
    } else if duration.as_secs() == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}
