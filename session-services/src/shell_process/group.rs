//! Killing a command's whole process group: on cancel, on timeout, and when a run is dropped.
//!
//! Must only ever signal the one group it was made for (a negative pid), never pid 0 or -1,
//! which would hit our own group or every process we may signal.

use std::io;

/// Send SIGKILL to every process of group `pgid`; a group already gone is not an error.
pub(crate) fn kill_group(pgid: libc::pid_t) {
    if pgid <= 1 {
        // kill(0) and kill(-1) would reach far more than the command; refuse.
        return;
    }
    // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names only that group.
    let rc = unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!(pgid, error = %err, "failed to kill process group");
        }
    }
}

/// Wait until no process of group `pgid` is still running, at most `limit`. Zombies do not
/// count: a killed command's orphans are reaped by whoever adopts them, on their own time.
pub(crate) async fn wait_until_gone(pgid: libc::pid_t, limit: std::time::Duration) {
    if pgid <= 1 {
        return;
    }
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        // SAFETY: signal 0 only checks that the group exists; a negative pid names only it.
        if unsafe { libc::kill(-pgid, 0) } != 0 || !has_running_member(pgid) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(pgid, "killed process group still has running members");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_micros(500)).await;
    }
}

/// Whether a process of group `pgid` exists that is not a zombie (from `/proc/<pid>/stat`).
fn has_running_member(pgid: libc::pid_t) -> bool {
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
        let group = fields.nth(1).and_then(|g| g.parse::<libc::pid_t>().ok());
        group == Some(pgid) && state != "Z" && state != "X"
    })
}

/// Kills its process group when dropped, unless it was disarmed or already fired.
#[derive(Debug)]
pub(crate) struct GroupGuard {
    pgid: libc::pid_t,
    armed: bool,
}

impl GroupGuard {
    /// A guard for group `pgid` (the pid of a child spawned with `process_group(0)`).
    pub(crate) fn new(pgid: libc::pid_t) -> Self {
        Self { pgid, armed: true }
    }

    /// Kill the group now; the guard will not signal it again.
    pub(crate) fn kill(&mut self) {
        if self.armed {
            self.armed = false;
            kill_group(self.pgid);
        }
    }

    /// Leave the group alone from now on.
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}
