//! Memory under a loud command: peak RSS of `session exec` whose model (the script provider, no
//! HTTP) makes one shell call of `yes | head -c N`, for 1 MB and for 1 GB, and the difference
//! between the two, which is the figure held to a target (captures are capped, so printing more
//! must not cost more).
//!
//! Peak RSS comes from `/usr/bin/time -f %M` (the largest of the session and the processes it
//! waited for; the session dominates). Runs are interleaved pair by pair so both sizes see the
//! same machine. It must never leave a child running.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::process::{Binary, TIME, read_tail, wait_timeout};
use super::report::Row;

/// How long one run may take before it counts as hung (1 GB goes through two pipes).
const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// The two sizes: bytes printed, and the row's size label.
const SMALL: (u64, &str) = (1_000_000, "1 MB output");
const LARGE: (u64, &str) = (1_000_000_000, "1 GB output");

/// Fewer bytes than this on stdout means the command's output never showed.
const PROOF_BYTES: u64 = 4096;

/// Rows for `runs` interleaved pairs (after one warm-up pair): peak RSS at each size, and
/// the 1 GB run's excess over the 1 MB run of its pair.
pub(crate) fn rows(binary: &Binary, runs: usize) -> Vec<Row> {
    let delta_size = "1 GB − 1 MB output";
    let fail = |reason: String| {
        vec![
            Row::not_measured("output.rss", SMALL.1, reason.clone()),
            Row::not_measured("output.rss", LARGE.1, reason.clone()),
            Row::not_measured("output.rss.delta", delta_size, reason),
        ]
    };
    if !Path::new(TIME).is_file() {
        return fail(
            "needs /usr/bin/time (Debian package `time`), or libc in xtask to call wait4".into(),
        );
    }
    let mut small = Vec::new();
    let mut large = Vec::new();
    let mut deltas = Vec::new();
    for i in 0..=runs {
        let (s, l) = match (peak_rss(binary, SMALL.0), peak_rss(binary, LARGE.0)) {
            (Ok(s), Ok(l)) => (s, l),
            (Err(e), _) | (_, Err(e)) => return fail(format!("{e:#}")),
        };
        // The first pair only warms the page cache.
        if i > 0 {
            small.push(s as f64);
            large.push(l as f64);
            deltas.push(l as f64 - s as f64);
        }
    }
    let how = "exec -s danger-full-access -a never, the script model calls shell \
               [\"bash\",\"-lc\",\"yes | head -c N\"] once; max RSS from /usr/bin/time -f %M";
    vec![
        Row::from_values("output.rss", SMALL.1, "B", &small)
            .with_note(format!("N = {}; {how}", SMALL.0)),
        Row::from_values("output.rss", LARGE.1, "B", &large)
            .with_note(format!("N = {}; {how}", LARGE.0)),
        Row::from_values("output.rss.delta", delta_size, "B", &deltas)
            .with_note("1 GB run minus the 1 MB run of its pair; runs interleaved"),
    ]
}

/// Peak RSS in bytes of one `session exec` whose command prints `bytes` bytes.
fn peak_rss(binary: &Binary, bytes: u64) -> Result<u64> {
    let script = binary.scratch.join(format!("output-{bytes}.json"));
    let responses = serde_json::json!({"responses": [
        {"steps": [{"type": "tool_call", "call_id": "call_yes", "name": "shell",
            "arguments": {"command": ["bash", "-lc", format!("yes | head -c {bytes}")]}}]},
        {"steps": [{"type": "text", "text": "printed"}]},
    ]});
    std::fs::write(&script, responses.to_string())
        .with_context(|| format!("writing {}", script.display()))?;
    let out = binary.scratch.join("output-time.out");
    let wrapper = [
        OsStr::new(TIME),
        OsStr::new("-f"),
        OsStr::new("%M"),
        OsStr::new("-o"),
        out.as_os_str(),
    ];
    let mut command =
        binary.script_command(&wrapper, &script, "danger-full-access", &["exec", "print"])?;
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("starting /usr/bin/time")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || count_bytes(stdout));
    let stderr = child.stderr.take().context("no stderr")?;
    let err_reader = std::thread::spawn(move || read_tail(stderr));
    let status = wait_timeout(&mut child, RUN_TIMEOUT)?;
    let printed = reader.join().unwrap_or(0);
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        bail!(
            "session exec (N = {bytes}) exited with {status}: {}",
            err.trim()
        );
    }
    // Some of the command's output reaches stdout (streamed, or capped at its end): proof it
    // ran. How much is the renderer's business, so only a little is required.
    if printed < PROOF_BYTES {
        bail!("session exec (N = {bytes}) printed only {printed} bytes: did the command run?");
    }
    let text = std::fs::read_to_string(&out).context("reading /usr/bin/time's output")?;
    let kib: u64 = text
        .lines()
        .rev()
        .find_map(|l| l.trim().parse().ok())
        .context("no RSS in /usr/bin/time's output")?;
    Ok(kib * 1024)
}

/// Bytes read from `stdout` until its end, the bytes themselves dropped.
fn count_bytes(mut stdout: impl Read) -> u64 {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    while let Ok(n) = stdout.read(&mut buf) {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    total
}
