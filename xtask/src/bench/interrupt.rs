//! Interrupt latency of the release binary: `session proto` runs a `["sleep","30"]` tool call
//! from the mock, the bench writes an `interrupt` op once `exec_command_begin` is out and the
//! `sleep` exists, and times until the `turn_aborted` line is read. It also checks, in `/proc`,
//! that the `sleep` is gone when `turn_aborted` arrives.
//!
//! Linux only (`/proc`). It must never leave a child running: every session is shut down, and
//! killed if it does not exit.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::mock::{self, MockServer};
use super::process::{Binary, wait_timeout};
use super::report::{Row, percentile};

/// Generous bound on every wait, so a broken binary fails the figure instead of hanging.
const WAIT: Duration = Duration::from_secs(10);

/// What one interrupt showed.
struct Interrupted {
    latency: Duration,
    /// The `sleep` was still running (not even a zombie) when `turn_aborted` was read.
    sleep_alive: bool,
}

/// `runs` interrupts: the latency row and the leftover-process row.
pub(crate) fn rows(binary: &Binary, runs: usize) -> Vec<Row> {
    let size = format!("{runs} runs");
    let router: mock::Router = {
        let call = mock::http_response(&mock::shell_call_stream("call_sleep", &["sleep", "30"]));
        let done = mock::http_response(&mock::text_stream(&["stopped"]));
        std::sync::Arc::new(move |body: &[u8]| {
            if contains(body, b"function_call_output") {
                std::sync::Arc::clone(&done)
            } else {
                std::sync::Arc::clone(&call)
            }
        })
    };
    let server = match MockServer::start(router) {
        Ok(s) => s,
        Err(e) => {
            return vec![Row::not_measured(
                "interrupt.latency",
                &size,
                format!("{e:#}"),
            )];
        }
    };
    let mut latencies = Vec::with_capacity(runs);
    let mut alive = 0usize;
    for run in 0..runs {
        match interrupt_once(binary, &server.base_url()) {
            Ok(r) => {
                latencies.push(r.latency.as_secs_f64());
                alive += usize::from(r.sleep_alive);
            }
            Err(e) => {
                return vec![Row::not_measured(
                    "interrupt.latency",
                    &size,
                    format!("run {}: {e:#}", run + 1),
                )];
            }
        }
    }
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let mut latency = Row::from_values("interrupt.latency", &size, "s", &latencies).with_note(
        "interrupt written after exec_command_begin and the sleep's start, until the \
         turn_aborted line is read; median is p50",
    );
    latency.p99 = percentile(&sorted, 99.0);
    let orphans = Row::from_values("interrupt.orphans", &size, "number", &[alive as f64])
        .with_note("runs where /proc still showed the `sleep 30` child running at turn_aborted");
    vec![latency, orphans]
}

fn interrupt_once(binary: &Binary, base_url: &str) -> Result<Interrupted> {
    let mut command = binary.command(&[], base_url, &["proto"], &["approval_policy=\"never\""])?;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().context("starting session proto")?;
    let pid = child.id();
    let mut stdin = child.stdin.take().context("no stdin")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (tx, lines) = mpsc::channel::<(Instant, String)>();
    // Timestamps are taken where the line is read, so the channel adds nothing to the latency.
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        while stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
            if tx
                .send((Instant::now(), std::mem::take(&mut line)))
                .is_err()
            {
                break;
            }
        }
    });
    let result = drive(&mut stdin, &lines, pid);
    // Shut down in every case; kill if it does not go.
    let leftover = sleep_descendant(pid);
    drop(send(&mut stdin, r#"{"id":"s","op":{"type":"shutdown"}}"#));
    drop(stdin);
    let exited = wait_timeout(&mut child, WAIT);
    drop(reader.join());
    // The sleep runs in its own process group, so it outlives a session that failed to stop
    // it; never leave one behind.
    if let Some(sleep) = leftover.filter(|&p| is_running(p) && is_sleep_30(p)) {
        drop(
            std::process::Command::new("kill")
                .args(["-KILL", &sleep.to_string()])
                .status(),
        );
    }
    let interrupted = result?;
    exited.context("session proto did not exit after shutdown")?;
    Ok(interrupted)
}

/// One interrupt on a started `session proto` whose stdout lines arrive on `lines`.
fn drive(
    stdin: &mut ChildStdin,
    lines: &Receiver<(Instant, String)>,
    pid: u32,
) -> Result<Interrupted> {
    wait_for(lines, "session_configured")?;
    send(
        stdin,
        r#"{"id":"u","op":{"type":"user_input","items":[{"type":"text","text":"sleep"}]}}"#,
    )?;
    wait_for(lines, "exec_command_begin")?;
    let sleep = find_sleep(pid).context("the `sleep 30` child never appeared")?;
    let sent = Instant::now();
    send(stdin, r#"{"id":"i","op":{"type":"interrupt"}}"#)?;
    let aborted = wait_for(lines, "turn_aborted")?;
    let sleep_alive = is_running(sleep);
    Ok(Interrupted {
        latency: aborted.saturating_duration_since(sent),
        sleep_alive,
    })
}

fn send(stdin: &mut ChildStdin, line: &str) -> Result<()> {
    stdin.write_all(line.as_bytes())?;
    stdin.write_all(b"\n")?;
    stdin.flush()?;
    Ok(())
}

/// Read lines until one carries `"type":"<kind>"`; when it was read.
fn wait_for(lines: &Receiver<(Instant, String)>, kind: &str) -> Result<Instant> {
    let needle = format!("\"type\":\"{kind}\"");
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok((at, line)) if line.contains(&needle) => return Ok(at),
            Ok((_, line))
                if line.contains("\"type\":\"turn_aborted\"") && kind != "turn_aborted" =>
            {
                bail!("the turn ended before {kind}: {}", line.trim())
            }
            Ok(_) => {}
            Err(_) => bail!("no {kind} within {WAIT:?}"),
        }
    }
}

/// The pid of a `sleep 30` descendant of `root`, waiting up to [`WAIT`] for it to start.
fn find_sleep(root: u32) -> Option<u32> {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Some(pid) = sleep_descendant(root) {
            return Some(pid);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}

fn sleep_descendant(root: u32) -> Option<u32> {
    let entries = fs::read_dir("/proc").ok()?;
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|&pid| is_sleep_30(pid) && descends_from(pid, root))
}

fn is_sleep_30(pid: u32) -> bool {
    fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == b"sleep\x0030\x00")
}

fn descends_from(mut pid: u32, root: u32) -> bool {
    for _ in 0..16 {
        match stat(pid) {
            Some((_, ppid)) if ppid == root => return true,
            Some((_, ppid)) if ppid > 1 => pid = ppid,
            _ => return false,
        }
    }
    false
}

/// Whether `pid` exists and is not a zombie.
fn is_running(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// State and parent pid from `/proc/<pid>/stat`.
pub(crate) fn stat(pid: u32) -> Option<(char, u32)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// State and parent pid from the text of a `stat` file (the command may hold spaces and
/// parentheses, so fields are read after the last `)`).
pub(crate) fn parse_stat(text: &str) -> Option<(char, u32)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
