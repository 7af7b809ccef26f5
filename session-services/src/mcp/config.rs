//! One MCP server's configuration, in the shape of codex's `[mcp_servers.<name>]` tables.
//!
//! Exists so a codex `config.toml` entry deserializes as it is. It only describes a server; it
//! must not start anything or read the environment.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// How long a server may take to start (spawn, `initialize`, `tools/list`) by default.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one tool call may take by default.
pub const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// One MCP server: a command speaking MCP on its stdio, or a streamable HTTP endpoint.
///
/// Exactly one of `command` and `url` must be set; [`McpServerConfig::transport_error`] says
/// what is wrong when not. Deserializes from codex's keys (`startup_timeout_sec` or
/// `startup_timeout_ms`, `tool_timeout_sec`, …); unknown keys are ignored, as codex adds some.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawConfig")]
pub struct McpServerConfig {
    /// The program to run (stdio transport), looked up on `PATH`.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables set for it, on top of a small default set (`HOME`, `PATH`, `USER`, …) taken
    /// from our environment; nothing else of our environment reaches it.
    pub env: BTreeMap<String, String>,
    /// Its working directory; ours when `None`.
    pub cwd: Option<PathBuf>,
    /// The streamable HTTP endpoint (HTTP transport).
    pub url: Option<String>,
    /// The variable holding a token sent as `Authorization: Bearer <token>`.
    pub bearer_token_env_var: Option<String>,
    /// Extra headers sent with every HTTP request.
    pub http_headers: BTreeMap<String, String>,
    /// How long starting may take before the server is marked failed.
    pub startup_timeout: Duration,
    /// How long one tool call may take before it is cancelled.
    pub tool_timeout: Duration,
    /// Whether to start the server at all.
    pub enabled: bool,
    /// When set, only these of its tools are offered.
    pub enabled_tools: Option<Vec<String>>,
    /// Tools never offered (applied after `enabled_tools`).
    pub disabled_tools: Vec<String>,
    /// Whether its tools are trusted: the caller may run them without asking.
    pub trust: bool,
}

impl Default for McpServerConfig {
    fn default() -> Self {
        Self {
            command: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            cwd: None,
            url: None,
            bearer_token_env_var: None,
            http_headers: BTreeMap::new(),
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            tool_timeout: DEFAULT_TOOL_TIMEOUT,
            enabled: true,
            enabled_tools: None,
            disabled_tools: Vec::new(),
            trust: false,
        }
    }
}

impl McpServerConfig {
    /// A stdio server running `command` with `args`, everything else by default.
    pub fn stdio(
        command: impl Into<String>,
        args: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            command: Some(command.into()),
            args: args.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// A streamable HTTP server at `url`, everything else by default.
    pub fn http(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// What is wrong with the transport settings, or `None` when they name exactly one
    /// transport and only its settings are set.
    pub fn transport_error(&self) -> Option<String> {
        match (&self.command, &self.url) {
            (Some(_), Some(_)) => {
                Some("set either `command` (stdio) or `url` (streamable HTTP), not both".to_owned())
            }
            (None, None) => Some("set `command` (stdio) or `url` (streamable HTTP)".to_owned()),
            (Some(_), None)
                if self.bearer_token_env_var.is_some() || !self.http_headers.is_empty() =>
            {
                Some(
                    "`bearer_token_env_var` and `http_headers` apply only to `url` servers"
                        .to_owned(),
                )
            }
            (None, Some(_))
                if !self.args.is_empty() || !self.env.is_empty() || self.cwd.is_some() =>
            {
                Some("`args`, `env` and `cwd` apply only to `command` servers".to_owned())
            }
            _ => None,
        }
    }

    /// Whether `tool` is offered under `enabled_tools` and `disabled_tools`.
    pub fn offers(&self, tool: &str) -> bool {
        let enabled = self
            .enabled_tools
            .as_ref()
            .is_none_or(|list| list.iter().any(|t| t == tool));
        enabled && !self.disabled_tools.iter().any(|t| t == tool)
    }
}

/// The table as written: codex's keys, every one optional.
#[derive(Deserialize)]
struct RawConfig {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    bearer_token_env_var: Option<String>,
    #[serde(default)]
    http_headers: BTreeMap<String, String>,
    startup_timeout_sec: Option<f64>,
    startup_timeout_ms: Option<u64>,
    tool_timeout_sec: Option<f64>,
    enabled: Option<bool>,
    enabled_tools: Option<Vec<String>>,
    #[serde(default)]
    disabled_tools: Vec<String>,
    #[serde(default)]
    trust: bool,
}

impl TryFrom<RawConfig> for McpServerConfig {
    type Error = String;

    fn try_from(raw: RawConfig) -> Result<Self, String> {
        let startup_timeout = match (raw.startup_timeout_sec, raw.startup_timeout_ms) {
            (Some(_), Some(_)) => {
                return Err(
                    "set `startup_timeout_sec` or `startup_timeout_ms`, not both".to_owned(),
                );
            }
            (Some(secs), None) => seconds("startup_timeout_sec", secs)?,
            (None, Some(ms)) => Duration::from_millis(ms),
            (None, None) => DEFAULT_STARTUP_TIMEOUT,
        };
        let tool_timeout = match raw.tool_timeout_sec {
            Some(secs) => seconds("tool_timeout_sec", secs)?,
            None => DEFAULT_TOOL_TIMEOUT,
        };
        let config = Self {
            command: raw.command,
            args: raw.args,
            env: raw.env,
            cwd: raw.cwd,
            url: raw.url,
            bearer_token_env_var: raw.bearer_token_env_var,
            http_headers: raw.http_headers,
            startup_timeout,
            tool_timeout,
            enabled: raw.enabled.unwrap_or(true),
            enabled_tools: raw.enabled_tools,
            disabled_tools: raw.disabled_tools,
            trust: raw.trust,
        };
        match config.transport_error() {
            Some(error) => Err(error),
            None => Ok(config),
        }
    }
}

fn seconds(key: &str, secs: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("`{key}` must be a non-negative number of seconds, not {secs}"))
}

#[cfg(test)]
mod tests;
