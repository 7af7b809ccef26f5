//! A stdio MCP server's process: started in its own process group with a minimal environment,
//! its stderr kept (the tail) for error messages, and the whole group killed when it ends.
//!
//! It must only ever signal the one group it made (a negative pid), never pid 0 or -1, and must
//! never pass on our environment beyond the default set and what the configuration names.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

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

/// Sends SIGKILL to every process of group `pgid`; a group already gone is not an error.
pub(crate) fn kill_group(pgid: i32) {
    if pgid <= 1 {
        // kill(0) and kill(-1) would reach far more than the server; refuse.
        return;
    }
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names only that group.
    let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(pgid, error = %err, "failed to kill an MCP server's process group");
        }
    }
}

/// Waits until no process of group `pgid` is still running (zombies do not count), at most
/// `limit`.
pub(crate) async fn wait_until_gone(pgid: i32, limit: Duration) {
    if pgid <= 1 {
        return;
    }
    let deadline = tokio::time::Instant::now() + limit;
    // SAFETY: signal 0 only checks that the group exists; a negative pid names only it.
    while unsafe { libc::kill(-pgid, 0) } == 0 && has_running_member(pgid) {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                pgid,
                "an MCP server's killed process group still has running members"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Whether a process of group `pgid` exists that is not a zombie (from `/proc/<pid>/stat`).
fn has_running_member(pgid: i32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        // Without /proc a zombie cannot be told from a live process: do not wait on it.
        return false;
    };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            return false;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return false;
        };
        // Fields after the command (which may hold spaces and parentheses): state, ppid, pgrp.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("Z");
        let group = fields.nth(1).and_then(|g| g.parse::<i32>().ok());
        group == Some(pgid) && state != "Z" && state != "X"
    })
}
