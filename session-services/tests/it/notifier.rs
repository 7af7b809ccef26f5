//! Tests of the notifier implementation.
//!
//! A real script in a temp dir records its argv; the tests check the JSON it got, that it was
//! reaped, and that a broken configuration never panics or blocks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use session_services::{CommandNotifier, Notification, Notifier};

/// Every wait in these tests is bounded by this; reaching it fails the test instead of hanging.
const LIMIT: Duration = Duration::from_secs(10);

/// A script that writes its pid, then each argument on its own line, to the file named by `$1`.
fn recording_script(dir: &Path) -> PathBuf {
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nout=\"$1\"\nshift\n{ echo $$; for a in \"$@\"; do printf '%s\\n' \"$a\"; done; } > \"$out.tmp\"\nmv \"$out.tmp\" \"$out\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} was not written within {LIMIT:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait until `pid` is gone. A child we failed to reap would stay a zombie, so this fails then.
fn wait_until_reaped(pid: i32) {
    let deadline = Instant::now() + LIMIT;
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "notifier process {pid} was not reaped within {LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn turn_complete() -> Notification {
    Notification::AgentTurnComplete {
        thread_id: "thread-1".to_owned(),
        turn_id: "turn-7".to_owned(),
        cwd: PathBuf::from("/work/project"),
        input_messages: vec!["fix the build".to_owned(), "and the tests".to_owned()],
        last_assistant_message: Some("done".to_owned()),
    }
}

/// Notify through a recording script; returns the extra argument and the JSON it received.
fn notify_and_record(notification: &Notification) -> (Vec<String>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("argv.txt");
    let script = recording_script(dir.path());
    let notifier = CommandNotifier::new(vec![
        script.to_str().unwrap().to_owned(),
        out.to_str().unwrap().to_owned(),
        "extra arg".to_owned(),
    ]);
    notifier.notify(notification);
    let text = wait_for_file(&out);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let pid: i32 = lines.remove(0).parse().unwrap();
    wait_until_reaped(pid);
    let json = lines.pop().expect("no JSON argument");
    (lines, serde_json::from_str(&json).unwrap())
}

#[test]
fn turn_completion_runs_the_program_with_json_as_last_argument() {
    let (args, json) = notify_and_record(&turn_complete());
    assert_eq!(args, vec!["extra arg"]);
    assert_eq!(
        json,
        serde_json::json!({
            "type": "agent-turn-complete",
            "thread-id": "thread-1",
            "turn-id": "turn-7",
            "cwd": "/work/project",
            "input-messages": ["fix the build", "and the tests"],
            "last-assistant-message": "done",
        })
    );
}

#[test]
fn approval_requests_are_sent_with_their_command() {
    let (_, json) = notify_and_record(&Notification::ApprovalRequested {
        thread_id: "thread-1".to_owned(),
        turn_id: "turn-8".to_owned(),
        cwd: PathBuf::from("/work/project"),
        call_id: "call-3".to_owned(),
        command: vec!["rm".to_owned(), "-rf".to_owned(), "build".to_owned()],
    });
    assert_eq!(json["type"], "approval-requested");
    assert_eq!(json["call-id"], "call-3");
    assert_eq!(json["command"], serde_json::json!(["rm", "-rf", "build"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifying_from_inside_a_runtime_works() {
    let (_, json) = tokio::task::spawn_blocking(|| notify_and_record(&turn_complete()))
        .await
        .unwrap();
    assert_eq!(json["thread-id"], "thread-1");
}

#[tokio::test(flavor = "current_thread")]
async fn notify_returns_at_once_on_a_current_thread_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("argv.txt");
    let script = recording_script(dir.path());
    let notifier = CommandNotifier::new(vec![
        script.to_str().unwrap().to_owned(),
        out.to_str().unwrap().to_owned(),
    ]);
    // The runtime's only thread stays free: the program runs while this task awaits.
    notifier.notify(&turn_complete());
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !out.exists() {
        assert!(tokio::time::Instant::now() < deadline, "program never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let json: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(json["turn-id"], "turn-7");
}

#[test]
fn a_missing_program_neither_panics_nor_blocks() {
    let notifier = CommandNotifier::new(vec!["/definitely/not/a/notifier".to_owned()]);
    notifier.notify(&turn_complete());
    notifier.notify(&turn_complete());
}

#[test]
fn an_empty_command_does_nothing() {
    CommandNotifier::new(Vec::new()).notify(&turn_complete());
}
