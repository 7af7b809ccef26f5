//! A stdio MCP server's process: started in its own process group with a minimal environment,
//! its stderr kept (the tail) for error messages, and the whole group killed when it ends.
//!
//! It must only ever signal the one group it made (a negative pid), never pid 0 or -1, and must
//! never pass on our environment beyond the default set and what the configuration names.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

use super::config::McpServerConfig;
use crate::secrets;

/// Variables passed on from our environment when set (codex's default set); everything else
/// the server gets comes from its configuration's `env`.
const DEFAULT_ENV_VARS: &[&str] = &[
    "HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ",
];

/// How much of a server's stderr is kept for messages.
const STDERR_TAIL: usize = 2 * 1024;

/// Starts `command` for `config`: piped stdio, its own process group, killed when dropped.
pub(crate) fn spawn(command: &str, config: &McpServerConfig) -> Result<Child, String> {
    let mut cmd = Command::new(command);
    cmd.args(&config.args).env_clear();
    for name in DEFAULT_ENV_VARS {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.envs(&config.env);
    if let Some(cwd) = &config.cwd {
        cmd.current_dir(cwd);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    cmd.spawn()
        .map_err(|error| format!("cannot start `{command}`: {error}"))
}

/// The last [`STDERR_TAIL`] bytes a server wrote to stderr, shared with the task reading it.
#[derive(Debug, Clone, Default)]
pub(crate) struct StderrTail(Arc<Mutex<VecDeque<String>>>);

impl StderrTail {
    /// Reads `stderr` line by line until it closes: each line is logged and kept in the tail.
    pub(crate) async fn collect(self, server: String, stderr: ChildStderr) {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = secrets::redact(&line).into_owned();
            tracing::debug!(server = %server, "stderr: {line}");
            let mut tail = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            tail.push_back(line);
            let mut size: usize = tail.iter().map(String::len).sum();
            while size > STDERR_TAIL && tail.len() > 1 {
                size -= tail.pop_front().map_or(0, |l| l.len());
            }
        }
    }

    /// `; its stderr ends with: …`, or nothing when it wrote nothing.
    pub(crate) fn describe(&self) -> String {
        let tail = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let text: Vec<&str> = tail
            .iter()
            .map(String::as_str)
            .filter(|l| !l.trim().is_empty())
            .collect();
        if text.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends with: {}", text.join(" | "))
        }
    }
}

// Killing and waiting for a process group are the shell's: one implementation of the rule
// that only that group, never pid 0 or -1, is ever signalled.
pub(crate) use crate::shell_process::group::{kill_group, wait_until_gone};
