//! Whole-process benches of the release `session` binary against the loopback mock: `exec` of
//! a streamed reply (wall time and peak RSS) and the one-word reply (startup).
//!
//! Wall time is measured around a direct spawn; peak RSS comes from a separate run under
//! `/usr/bin/time -f %M` (xtask has no libc to call `wait4`). Every child gets a fresh
//! `SESSION_HOME` and no API key. It must never leave a child running.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::mock::{self, MockServer};
use super::report::Row;

/// `/usr/bin/time`, which reports a child's peak RSS.
pub(crate) const TIME: &str = "/usr/bin/time";

/// How long one `exec` may take before it counts as hung.
const EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// The release binary and how to point it at a mock.
#[derive(Debug, Clone)]
pub(crate) struct Binary {
    /// Path of `session`.
    pub(crate) path: PathBuf,
    /// A scratch folder for homes and working directories.
    pub(crate) scratch: PathBuf,
}

impl Binary {
    /// `[wrapper…] session <subcommand…> -c <flags pointing at base_url> -c <extra…>` with a
    /// fresh home and no API key, run in the scratch folder.
    pub(crate) fn command(
        &self,
        wrapper: &[&OsStr],
        base_url: &str,
        subcommand: &[&str],
        extra_config: &[&str],
    ) -> Result<Command> {
        let home = tempdir_in(&self.scratch)?;
        let mut command = self.wrapped(wrapper);
        command.args(subcommand);
        for flag in config_flags(base_url)
            .iter()
            .map(String::as_str)
            .chain(extra_config.iter().copied())
        {
            command.arg("-c").arg(flag);
        }
        command
            .env("SESSION_HOME", &home)
            .env_remove("OPENAI_API_KEY")
            .env_remove("RUST_LOG")
            .current_dir(&self.scratch);
        Ok(command)
    }

    /// `[wrapper…] session -s <sandbox> -a never` with the script provider replaying `script`,
    /// then `subcommand…`, with a fresh home (also its working directory) and no API key.
    pub(crate) fn script_command(
        &self,
        wrapper: &[&OsStr],
        script: &Path,
        sandbox: &str,
        subcommand: &[&str],
    ) -> Result<Command> {
        let home = tempdir_in(&self.scratch)?;
        let mut command = self.wrapped(wrapper);
        command
            .args(["-s", sandbox, "-a", "never"])
            .args(["-c", "model_provider=\"script\"", "-c"])
            .arg(format!("model_script={}", serde_json::to_string(script)?))
            .args(subcommand)
            .env("SESSION_HOME", &home)
            .env_remove("OPENAI_API_KEY")
            .env_remove("RUST_LOG")
            .current_dir(&home);
        Ok(command)
    }

    /// `session`, or `wrapper` with `session` as its last argument.
    fn wrapped(&self, wrapper: &[&OsStr]) -> Command {
        match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&self.path);
                c
            }
            None => Command::new(&self.path),
        }
    }
}

/// The `-c` values that select the mock provider.
pub(crate) fn config_flags(base_url: &str) -> Vec<String> {
    vec![
        "model=\"bench-model\"".to_owned(),
        "model_provider=\"mock\"".to_owned(),
        format!("model_providers.mock.base_url=\"{base_url}\""),
        "model_providers.mock.wire_api=\"responses\"".to_owned(),
        "model_providers.mock.name=\"mock\"".to_owned(),
    ]
}

/// A fresh folder under `parent`, left for the caller's scratch cleanup.
pub(crate) fn tempdir_in(parent: &Path) -> Result<PathBuf> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = parent.join(format!("home-{}", NEXT.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// What one run of `exec` showed.
struct ExecRun {
    wall: Duration,
    stdout_lines: usize,
}

/// Run `exec --json hi` once, reading its stdout as a consumer would.
fn exec_once(binary: &Binary, base_url: &str) -> Result<ExecRun> {
    let mut command = binary.command(&[], base_url, &["exec", "--json", "hi"], &[])?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().context("starting session exec")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || count_lines(stdout));
    let stderr = child.stderr.take().context("no stderr")?;
    let err_reader = std::thread::spawn(move || read_tail(stderr));
    let status = wait_timeout(&mut child, EXEC_TIMEOUT)?;
    let wall = started.elapsed();
    let stdout_lines = reader.join().unwrap_or(0);
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        bail!("session exec exited with {status}: {}", stderr.trim());
    }
    Ok(ExecRun { wall, stdout_lines })
}

/// Peak RSS in bytes of one `exec --json hi`, from `/usr/bin/time`.
fn exec_rss(binary: &Binary, base_url: &str) -> Result<u64> {
    let out = binary.scratch.join("time.out");
    let wrapper = [
        OsStr::new(TIME),
        OsStr::new("-f"),
        OsStr::new("%M"),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    let mut timed = binary.command(&wrapper, base_url, &["exec", "--json", "hi"], &[])?;
    timed
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = timed.spawn().context("starting /usr/bin/time")?;
    let status = wait_timeout(&mut child, EXEC_TIMEOUT)?;
    if !status.success() {
        bail!("session exec under /usr/bin/time exited with {status}");
    }
    let text = std::fs::read_to_string(&out).context("reading /usr/bin/time's output")?;
    let kib: u64 = text
        .lines()
        .rev()
        .find_map(|l| l.trim().parse().ok())
        .context("no RSS in /usr/bin/time's output")?;
    Ok(kib * 1024)
}

fn count_lines(mut stdout: impl Read) -> usize {
    let mut buf = vec![0u8; 64 * 1024];
    let mut lines = 0;
    while let Ok(n) = stdout.read(&mut buf) {
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count();
    }
    lines
}

/// The last 600 characters of a stream read to its end.
pub(crate) fn read_tail(mut stderr: impl Read) -> String {
    let mut all = Vec::new();
    drop(stderr.read_to_end(&mut all));
    let text = String::from_utf8_lossy(&all);
    let start = text.len().saturating_sub(600);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

/// Wait for `child`, killing it after `timeout`.
pub(crate) fn wait_timeout(
    child: &mut Child,
    timeout: Duration,
) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().context("waiting for a child")? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            drop(child.kill());
            drop(child.wait());
            bail!("child did not exit within {timeout:?}; killed it");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Checks that `exec` works against the mock at all; the reason when it does not.
pub(crate) fn probe(binary: &Binary) -> Result<()> {
    if !binary.path.is_file() {
        bail!("{} does not exist", binary.path.display());
    }
    let server = MockServer::fixed(mock::text_reply(1))?;
    let run = exec_once(binary, &server.base_url())?;
    if server.requests() == 0 {
        bail!(
            "session exec exited without calling the mock model ({} stdout lines)",
            run.stdout_lines
        );
    }
    Ok(())
}

/// Wall time and peak RSS of `exec --json` streaming `deltas` deltas, over `runs` runs each.
pub(crate) fn exec_rows(binary: &Binary, deltas: usize, size: &str, runs: usize) -> Vec<Row> {
    let server = match MockServer::fixed(mock::text_reply(deltas)) {
        Ok(s) => s,
        Err(e) => {
            return vec![Row::not_measured("exec.wall", size, format!("{e:#}"))];
        }
    };
    exec_rows_with(binary, &server, ("exec.wall", "exec.rss"), size, runs)
}

/// Wall time and peak RSS of `exec --json` answered with one word.
pub(crate) fn startup_rows(binary: &Binary, runs: usize) -> Vec<Row> {
    let reply = mock::http_response(&mock::text_stream(&["Hello"]));
    let server = match MockServer::fixed(reply) {
        Ok(s) => s,
        Err(e) => {
            return vec![Row::not_measured(
                "startup.wall",
                "one-word reply",
                format!("{e:#}"),
            )];
        }
    };
    exec_rows_with(
        binary,
        &server,
        ("startup.wall", "startup.rss"),
        "one-word reply",
        runs,
    )
}

fn exec_rows_with(
    binary: &Binary,
    server: &MockServer,
    (wall_id, rss_id): (&str, &str),
    size: &str,
    runs: usize,
) -> Vec<Row> {
    let base_url = server.base_url();
    // One untimed run warms the page cache and the mock's connection path.
    if let Err(e) = exec_once(binary, &base_url) {
        return vec![Row::not_measured(wall_id, size, format!("{e:#}"))];
    }
    let mut walls = Vec::new();
    let mut lines = 0;
    for _ in 0..runs {
        match exec_once(binary, &base_url) {
            Ok(run) => {
                walls.push(run.wall.as_secs_f64());
                lines = run.stdout_lines;
            }
            Err(e) => return vec![Row::not_measured(wall_id, size, format!("{e:#}"))],
        }
    }
    let wall = Row::from_values(wall_id, size, "s", &walls).with_note(format!(
        "process start to exit, stdout read through a pipe ({lines} lines)"
    ));
    let rss = if Path::new(TIME).is_file() {
        let mut peaks = Vec::new();
        let mut failure = None;
        for _ in 0..runs {
            match exec_rss(binary, &base_url) {
                Ok(bytes) => peaks.push(bytes as f64),
                Err(e) => {
                    failure = Some(format!("{e:#}"));
                    break;
                }
            }
        }
        match failure {
            Some(reason) => Row::not_measured(rss_id, size, reason),
            None => Row::from_values(rss_id, size, "B", &peaks)
                .with_note("max RSS from /usr/bin/time -f %M, separate runs"),
        }
    } else {
        Row::not_measured(
            rss_id,
            size,
            "needs /usr/bin/time (Debian package `time`), or libc in xtask to call wait4",
        )
    };
    vec![wall, rss]
}

/// Tool calls in the sandbox bench's session.
const TOOL_CALLS: usize = 20;

/// Wall time of `exec` running [`TOOL_CALLS`] shell calls of `true` (the script provider, no
/// HTTP), unconfined and in `workspace-write`, interleaved run by run so both see the same
/// machine.
pub(crate) fn tool_rows(binary: &Binary, runs: usize) -> Vec<Row> {
    let size = format!("{TOOL_CALLS} calls");
    let fail = |reason: String| {
        vec![
            Row::not_measured("tools.wall.none", &size, reason.clone()),
            Row::not_measured("tools.wall.confined", &size, reason),
        ]
    };
    let mut responses: Vec<serde_json::Value> = (0..TOOL_CALLS)
        .map(|i| {
            serde_json::json!({"steps": [{"type": "tool_call", "call_id": format!("call_{i}"),
                "name": "shell", "arguments": {"command": ["true"]}}]})
        })
        .collect();
    responses.push(serde_json::json!({"steps": [{"type": "text", "text": "done"}]}));
    let script = binary.scratch.join("tools.json");
    if let Err(e) = std::fs::write(
        &script,
        serde_json::json!({ "responses": responses }).to_string(),
    ) {
        return fail(format!("cannot write {}: {e}", script.display()));
    }
    let once = |mode: &str| -> Result<f64> {
        let mut command =
            binary.script_command(&[], &script, mode, &["exec", "--json", "run the tools"])?;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn().context("starting session exec")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let reader = std::thread::spawn(move || read_tail(stdout));
        let stderr = child.stderr.take().context("no stderr")?;
        let err_reader = std::thread::spawn(move || read_tail(stderr));
        let status = wait_timeout(&mut child, EXEC_TIMEOUT)?;
        let wall = started.elapsed().as_secs_f64();
        let tail = reader.join().unwrap_or_default();
        let err = err_reader.join().unwrap_or_default();
        if !status.success() || !tail.contains("task_complete") {
            bail!(
                "session exec -s {mode} exited with {status}: {}",
                err.trim()
            );
        }
        Ok(wall)
    };
    let mut plain = Vec::new();
    let mut boxed = Vec::new();
    for i in 0..=runs {
        let (p, b) = match (once("danger-full-access"), once("workspace-write")) {
            (Ok(p), Ok(b)) => (p, b),
            (Err(e), _) | (_, Err(e)) => return fail(format!("{e:#}")),
        };
        // The first pair only warms the page cache.
        if i > 0 {
            plain.push(p);
            boxed.push(b);
        }
    }
    vec![
        Row::from_values("tools.wall.none", &size, "s", &plain)
            .with_note("exec of 20 `true` calls, -s danger-full-access -a never"),
        Row::from_values("tools.wall.confined", &size, "s", &boxed)
            .with_note("the same, -s workspace-write: every call sandboxed; runs interleaved"),
    ]
}
