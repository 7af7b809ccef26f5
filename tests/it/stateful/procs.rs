//! Finding processes a real-shell case left behind, by scanning `/proc`: any live process in a
//! process group whose leader the case's commands reported (`echo $$`), or whose command line
//! carries the case's marker. Read-only; it never signals anything.

use std::time::{Duration, Instant};

/// `(state, process group)` of a process, from `/proc/<pid>/stat`.
fn stat(pid: &str) -> Option<(char, i32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain anything: fields start after the last.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, pgrp))
}

/// Live (not zombie) processes that are one of `groups`, in one of them, or whose command line
/// contains `marker`.
pub(crate) fn leftovers(marker: &str, groups: &[i32]) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Some((state, pgrp)) = stat(pid) else {
            continue;
        };
        if state == 'Z' || state == 'X' {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let pid_n: i32 = pid.parse().unwrap_or(0);
        if groups.contains(&pgrp) || groups.contains(&pid_n) || cmdline.contains(marker) {
            found.push(format!("pid {pid} group {pgrp} state {state}: {cmdline}"));
        }
    }
    found
}

/// Wait (bounded) until the case left no process behind; returns what is still there.
pub(crate) fn wait_until_gone(marker: &str, groups: &[i32]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = leftovers(marker, groups);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Process ids a command printed as `pids <pid> [<pid>…]` lines.
pub(crate) fn reported_pids(output: &str) -> Vec<i32> {
    output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pids "))
        .flat_map(|rest| rest.split_whitespace().filter_map(|p| p.parse().ok()))
        .collect()
}
