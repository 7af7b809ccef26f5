//! Tests of the shell implementation.
//!
//! Real processes on the local machine: streaming order, exit codes, environment, timeouts,
//! cancellation, drop, bounded capture, and leftover background processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use session_services::{
    ExecChunk, ExecEnd, ExecOutput, ExecRequest, ExecSandbox, ProcessShell, Shell, ShellError,
};
use session_state::{CancelToken, ExecOutputStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Every wait in these tests is bounded by this; reaching it fails the test instead of hanging.
const LIMIT: Duration = Duration::from_secs(10);

fn request(argv: &[&str]) -> ExecRequest {
    ExecRequest {
        argv: argv.iter().map(|s| (*s).to_owned()).collect(),
        cwd: std::env::temp_dir(),
        env: HashMap::new(),
        timeout: None,
        sandbox: ExecSandbox::None,
    }
}

fn sh(script: &str) -> ExecRequest {
    request(&["sh", "-c", script])
}

async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
}

async fn run(request: ExecRequest) -> Result<ExecOutput, ShellError> {
    bounded(
        "run",
        ProcessShell::new().run(request, None, CancelToken::new()),
    )
    .await
}

/// Run with an output channel, returning the result and every chunk streamed.
async fn run_streaming(request: ExecRequest) -> (ExecOutput, Vec<ExecChunk>) {
    let (tx, mut rx) = mpsc::channel(4);
    let collector = tokio::spawn(async move {
        let mut chunks = Vec::new();
        while let Some(chunk) = rx.recv().await {
            chunks.push(chunk);
        }
        chunks
    });
    let output = bounded(
        "run",
        ProcessShell::new().run(request, Some(tx), CancelToken::new()),
    )
    .await
    .unwrap();
    let chunks = bounded("collector", collector).await.unwrap();
    (output, chunks)
}

/// Start a command that prints two pids on stdout (one per line) and wait until both arrived.
async fn start_with_pids(
    request: ExecRequest,
    cancel: CancelToken,
) -> (JoinHandle<Result<ExecOutput, ShellError>>, Vec<libc::pid_t>) {
    let (tx, mut rx) = mpsc::channel(16);
    let task =
        tokio::spawn(async move { ProcessShell::new().run(request, Some(tx), cancel).await });
    let mut text = String::new();
    let pids = bounded("reading pids", async {
        loop {
            let chunk = rx.recv().await.expect("stream ended before both pids");
            if chunk.stream == ExecOutputStream::Stdout {
                text.push_str(&String::from_utf8_lossy(&chunk.bytes));
            }
            let pids: Vec<libc::pid_t> =
                text.lines().filter_map(|l| l.trim().parse().ok()).collect();
            if text.ends_with('\n') && pids.len() >= 2 {
                return pids;
            }
        }
    })
    .await;
    // Keep draining so the shell never waits on a full channel.
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    (task, pids)
}

/// Whether `pid` is gone (or only a zombie waiting for its parent to reap it).
fn is_dead(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc != 0 {
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

async fn assert_all_dead(pids: &[libc::pid_t]) {
    bounded("waiting for the group to die", async {
        while !pids.iter().all(|&pid| is_dead(pid)) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Merge consecutive chunks of the same stream (a pipe may split or join writes).
fn merged(chunks: &[ExecChunk]) -> Vec<(ExecOutputStream, String)> {
    let mut out: Vec<(ExecOutputStream, String)> = Vec::new();
    for chunk in chunks {
        let text = String::from_utf8_lossy(&chunk.bytes);
        match out.last_mut() {
            Some((stream, acc)) if *stream == chunk.stream => acc.push_str(&text),
            _ => out.push((chunk.stream, text.into_owned())),
        }
    }
    out
}

#[tokio::test]
async fn chunks_arrive_in_order_across_stdout_and_stderr() {
    let (output, chunks) =
        run_streaming(sh("echo a; sleep 0.2; echo b 1>&2; sleep 0.2; echo c")).await;
    assert_eq!(
        merged(&chunks),
        vec![
            (ExecOutputStream::Stdout, "a\n".to_owned()),
            (ExecOutputStream::Stderr, "b\n".to_owned()),
            (ExecOutputStream::Stdout, "c\n".to_owned()),
        ]
    );
    assert_eq!(output.aggregated_output, "a\nb\nc\n");
    assert_eq!(output.stdout, "a\nc\n");
    assert_eq!(output.stderr, "b\n");
    assert_eq!(output.exit_code, 0);
    assert_eq!(output.end, ExecEnd::Exited);
}

#[tokio::test]
async fn exit_codes_are_reported() {
    assert_eq!(run(request(&["true"])).await.unwrap().exit_code, 0);
    let three = run(sh("exit 3")).await.unwrap();
    assert_eq!(three.exit_code, 3);
    assert_eq!(three.end, ExecEnd::Exited);
}

#[tokio::test]
async fn a_command_killed_by_a_signal_reports_128_plus_the_signal() {
    let output = run(sh("kill -9 $$")).await.unwrap();
    assert_eq!(output.exit_code, 128 + libc::SIGKILL);
    assert_eq!(output.end, ExecEnd::Exited);
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() {
    let err = run(request(&["definitely-not-a-program-xyz"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ShellError::Spawn { program, .. } if program == "definitely-not-a-program-xyz"),
        "{err:?}"
    );
    assert!(chain(&err).contains("program not found"), "{}", chain(&err));
}

/// An error and its causes on one line.
fn chain(err: &ShellError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

#[tokio::test]
async fn a_spawn_failure_says_why_the_os_refused() {
    let nowhere = ExecRequest {
        cwd: std::env::temp_dir().join("definitely-missing-dir-xyz"),
        ..request(&["true"])
    };
    let text = chain(&run(nowhere).await.unwrap_err());
    assert!(text.contains("working directory"), "{text}");
    assert!(text.contains("os error"), "{text}");
    let huge = "x".repeat(4 * 1024 * 1024);
    let text = chain(&run(request(&["echo", &huge])).await.unwrap_err());
    assert!(text.contains("argument list too long"), "{text}");
    assert!(text.contains("os error 7"), "{text}");
    assert!(
        text.len() < 1024,
        "the error repeats the arguments: {} bytes",
        text.len()
    );
}

#[tokio::test]
async fn an_empty_command_is_rejected() {
    let err = run(request(&[])).await.unwrap_err();
    assert!(matches!(err, ShellError::EmptyCommand), "{err:?}");
}

#[tokio::test]
async fn arguments_are_not_interpreted_by_a_shell() {
    let output = run(request(&["echo", "$HOME", "a;b", "*"])).await.unwrap();
    assert_eq!(output.stdout, "$HOME a;b *\n");
}

#[tokio::test]
async fn env_and_cwd_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = sh("pwd -P; echo \"$SESSION_TEST_VAR\"");
    req.cwd = dir.path().to_path_buf();
    req.env
        .insert("SESSION_TEST_VAR".to_owned(), "from the request".to_owned());
    let output = run(req).await.unwrap();
    let mut lines = output.stdout.lines();
    assert_eq!(
        PathBuf::from(lines.next().unwrap()),
        dir.path().canonicalize().unwrap()
    );
    assert_eq!(lines.next(), Some("from the request"));
}

#[tokio::test]
async fn timeout_kills_the_group_and_keeps_partial_output() {
    let mut req = sh("echo started; sleep 100 & echo $!; echo $$; sleep 100");
    req.timeout = Some(Duration::from_millis(500));
    let output = run(req).await.unwrap();
    assert_eq!(output.exit_code, 124);
    assert_eq!(output.end, ExecEnd::TimedOut);
    let mut lines = output.stdout.lines();
    assert_eq!(lines.next(), Some("started"));
    let pids: Vec<libc::pid_t> = lines.map(|l| l.parse().unwrap()).collect();
    assert_eq!(pids.len(), 2, "{:?}", output.stdout);
    assert_all_dead(&pids).await;
}

#[tokio::test]
async fn cancel_kills_every_process_of_the_group() {
    let cancel = CancelToken::new();
    let (task, pids) = start_with_pids(
        sh("sleep 100 & echo $!; echo $$; sleep 100"),
        cancel.clone(),
    )
    .await;
    cancel.cancel();
    let output = bounded("cancelled run", task).await.unwrap().unwrap();
    assert_eq!(output.exit_code, -1);
    assert_eq!(output.end, ExecEnd::Cancelled);
    assert_eq!(
        output
            .stdout
            .lines()
            .map(|l| l.parse().unwrap())
            .collect::<Vec<libc::pid_t>>(),
        pids
    );
    assert_all_dead(&pids).await;
}

#[tokio::test]
async fn an_already_cancelled_command_is_not_started() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let cancel = CancelToken::new();
    cancel.cancel();
    let req = request(&["touch", marker.to_str().unwrap()]);
    let output = bounded("run", ProcessShell::new().run(req, None, cancel))
        .await
        .unwrap();
    assert_eq!(output.end, ExecEnd::Cancelled);
    assert!(!marker.exists());
}

#[tokio::test]
async fn dropping_the_run_future_kills_the_group() {
    let (task, pids) = start_with_pids(
        sh("sleep 100 & echo $!; echo $$; sleep 100"),
        CancelToken::new(),
    )
    .await;
    task.abort();
    let joined = bounded("aborted run", task).await;
    assert!(joined.unwrap_err().is_cancelled());
    assert_all_dead(&pids).await;
}

#[tokio::test]
async fn a_background_process_holding_the_pipe_does_not_hold_up_run() {
    let output = run(sh("echo hi; sleep 100 & echo $!")).await.unwrap();
    assert_eq!(output.exit_code, 0);
    assert_eq!(output.end, ExecEnd::Exited);
    let mut lines = output.stdout.lines();
    assert_eq!(lines.next(), Some("hi"));
    let background: libc::pid_t = lines.next().unwrap().parse().unwrap();
    assert_all_dead(&[background]).await;
}

#[tokio::test]
async fn huge_output_is_captured_bounded_with_head_and_tail() {
    const TOTAL: usize = 200_000_000;
    const LIMIT_BYTES: usize = 1024 * 1024;
    let output = run(sh(&format!(
        "printf HEAD; head -c {TOTAL} /dev/zero | tr '\\0' x; printf TAIL"
    )))
    .await
    .unwrap();
    assert_eq!(output.exit_code, 0);
    let total = TOTAL + "HEADTAIL".len();
    let marker = format!("\n[... {} bytes omitted ...]\n", total - LIMIT_BYTES);
    for captured in [&output.stdout, &output.aggregated_output] {
        assert_eq!(captured.len(), LIMIT_BYTES + marker.len());
        assert!(captured.starts_with("HEADxxx"));
        assert!(captured.ends_with("xxxTAIL"));
        assert!(captured.contains(&marker));
    }
    assert_eq!(output.stderr, "");
}

#[tokio::test]
async fn output_is_still_captured_when_the_receiver_is_gone() {
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    let output = bounded(
        "run",
        ProcessShell::new().run(sh("echo one; echo two"), Some(tx), CancelToken::new()),
    )
    .await
    .unwrap();
    assert_eq!(output.stdout, "one\ntwo\n");
}

#[tokio::test]
async fn a_shared_shell_runs_commands_concurrently() {
    let shell = Arc::new(ProcessShell::new());
    let runs = (0..4).map(|i| {
        let shell = Arc::clone(&shell);
        async move {
            shell
                .run(sh(&format!("echo {i}")), None, CancelToken::new())
                .await
                .unwrap()
                .stdout
        }
    });
    let outputs = bounded("concurrent runs", futures_util::future::join_all(runs)).await;
    assert_eq!(outputs, vec!["0\n", "1\n", "2\n", "3\n"]);
}

#[test]
fn user_shell_is_an_existing_file_and_stable() {
    let shell = ProcessShell::new();
    let first = shell.user_shell();
    assert!(first.path.is_file(), "{:?}", first.path);
    assert_eq!(shell.user_shell(), first);
}
