//! The MCP client: the session's Model Context Protocol servers and their tools (feature `mcp`).
//!
//! [`McpManager::start`] starts every configured server concurrently (a command on stdio in its
//! own process group, or a streamable HTTP endpoint through the crate's reqwest with rustls),
//! reports each one's [`McpStatus`], and offers the ready servers' tools as [`McpTool`]s named
//! `mcp__<server>__<tool>`. [`McpManager::call`] runs one, bounded by the server's tool timeout
//! and a [`CancelToken`](session_state::CancelToken). Built on the official SDK, rmcp, whose
//! types stay inside this module.
//!
//! This module must not know about turns, approvals or events: it reports statuses and answers
//! calls, and the session decides what they mean.

mod client;
mod config;
mod content;
mod error;
mod http;
mod manager;
mod names;
mod process;
mod server;

pub use self::config::{DEFAULT_STARTUP_TIMEOUT, DEFAULT_TOOL_TIMEOUT, McpServerConfig};
pub use self::content::{McpCallResult, McpContent};
pub use self::error::McpError;
pub use self::manager::{McpManager, McpStatus, McpTool, OnProgress, OnStatus};
