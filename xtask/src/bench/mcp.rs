//! MCP rows: a session with three MCP servers configured (the workspace's `mcp-test-server`):
//! time until `session_configured` and until every server is ready, and what one MCP call costs
//! beyond the server's own time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::process::{Binary, read_tail, wait_timeout};
use super::report::Row;

/// Calls of the overhead run.
const CALLS: usize = 20;

/// `-c` values configuring three servers running `server`.
fn servers(server: &Path) -> Vec<String> {
    let path = serde_json::to_string(&server.display().to_string()).unwrap_or_default();
    (1..=3)
        .flat_map(|i| {
            [
                format!("mcp_servers.s{i}.command={path}"),
                format!("mcp_servers.s{i}.args=[\"serve\", \"basic\"]"),
            ]
        })
        .collect()
}

fn with_servers(mut command: Command, server: &Path) -> Command {
    for flag in servers(server) {
        command.arg("-c").arg(flag);
    }
    command
}

/// Build the test server; its path.
fn build_server(root: &Path, target: &Path) -> Result<PathBuf> {
    let status = Command::new(crate::cargo())
        .args(["build", "--release", "-p", "mcp-test-server"])
        .current_dir(root)
        .status()
        .context("starting cargo")?;
    if !status.success() {
        bail!("`cargo build --release -p mcp-test-server` exited with {status}");
    }
    Ok(target.join("release").join("mcp-test-server"))
}

/// Seconds until `session proto` prints `session_configured`, and until `session mcp list`
/// (which waits for every server) is done.
fn start_once(binary: &Binary, server: &Path) -> Result<(f64, f64)> {
    let script = binary.scratch.join("mcp-idle.json");
    std::fs::write(&script, r#"{"responses":[]}"#)?;
    let mut proto = with_servers(
        binary.script_command(&[], &script, "danger-full-access", &["proto"])?,
        server,
    );
    proto
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = proto.spawn().context("starting session proto")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
    let configured = started.elapsed().as_secs_f64();
    if !line.contains("session_configured") {
        bail!("session proto began with {line:?}");
    }
    drop(child.stdin.take());
    wait_timeout(&mut child, std::time::Duration::from_secs(30))?;

    let mut list = with_servers(
        binary.script_command(&[], &script, "danger-full-access", &["mcp", "list"])?,
        server,
    );
    list.stdout(Stdio::piped()).stderr(Stdio::null());
    let started = Instant::now();
    let out = list.output().context("starting session mcp list")?;
    let ready = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || text.matches(": ready").count() != 3 {
        bail!("session mcp list: {text}");
    }
    Ok((configured, ready))
}

/// Seconds of `session exec` whose model makes `calls` calls of `mcp__s1__echo`.
fn exec_once(binary: &Binary, server: &Path, calls: usize) -> Result<f64> {
    let mut responses: Vec<serde_json::Value> = (0..calls)
        .map(|i| {
            serde_json::json!({"steps": [{"type": "tool_call", "call_id": format!("m{i}"),
                "name": "mcp__s1__echo", "arguments": {"text": "hi"}}]})
        })
        .collect();
    responses.push(serde_json::json!({"steps": [{"type": "text", "text": "done"}]}));
    let script = binary.scratch.join(format!("mcp-{calls}.json"));
    std::fs::write(
        &script,
        serde_json::json!({ "responses": responses }).to_string(),
    )?;
    let mut command = with_servers(
        binary.script_command(
            &[],
            &script,
            "danger-full-access",
            &["exec", "--json", "go"],
        )?,
        server,
    );
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let started = Instant::now();
    let mut child = command.spawn().context("starting session exec")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || read_tail(stdout));
    let status = wait_timeout(&mut child, std::time::Duration::from_secs(60))?;
    let wall = started.elapsed().as_secs_f64();
    let tail = reader.join().unwrap_or_default();
    if !status.success() || !tail.contains("task_complete") {
        bail!("session exec with MCP calls exited with {status}");
    }
    Ok(wall)
}

/// The MCP rows.
pub(crate) fn rows(binary: &Binary, root: &Path, target: &Path, runs: usize) -> Vec<Row> {
    let size = "3 servers";
    let fail = |reason: String| {
        vec![
            Row::not_measured("mcp.configured", size, reason.clone()),
            Row::not_measured("mcp.ready", size, reason.clone()),
            Row::not_measured("mcp.call.overhead", "per call", reason),
        ]
    };
    let server = match build_server(root, target) {
        Ok(s) => s,
        Err(e) => return fail(format!("{e:#}")),
    };
    let mut configured = Vec::new();
    let mut ready = Vec::new();
    let mut overhead = Vec::new();
    for i in 0..=runs {
        let measured = start_once(binary, &server).and_then(|(c, r)| {
            let none = exec_once(binary, &server, 0)?;
            let some = exec_once(binary, &server, CALLS)?;
            Ok((c, r, (some - none) / CALLS as f64))
        });
        match measured {
            // The first run only warms the page cache.
            Ok(_) if i == 0 => {}
            Ok((c, r, o)) => {
                configured.push(c);
                ready.push(r);
                overhead.push(o);
            }
            Err(e) => return fail(format!("{e:#}")),
        }
    }
    vec![
        Row::from_values("mcp.configured", size, "s", &configured)
            .with_note("session proto with 3 MCP servers configured: until session_configured"),
        Row::from_values("mcp.ready", size, "s", &ready)
            .with_note("session mcp list: until all 3 servers are ready (and stopped)"),
        Row::from_values("mcp.call.overhead", "per call", "s", &overhead).with_note(format!(
            "(exec with {CALLS} mcp echo calls − exec with none) ÷ {CALLS}; each call is a model round trip too"
        )),
    ]
}
