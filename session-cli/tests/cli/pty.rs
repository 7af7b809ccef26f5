//! `session chat` on a real pseudo-terminal, where it reads with its line editor: a request
//! whose command needs approval (answered through the editor), Ctrl-C typed during a running
//! command, `/status`, `/quit`, Ctrl-D, and input history within a run and across runs.

mod harness;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::Sandbox;
use harness::{Pty, descendants, eventually};

/// How an approval question ends. Keys are typed only once the editor's prompt shows after
/// the last output (`expect("> ")`): between two reads the terminal is in cooked mode, where
/// the line discipline would take a Ctrl-D for itself.
const QUESTION_END: &str = "[x] no, and stop the turn > ";

/// `session … chat` replaying `script`, in the sandbox.
fn chat(sandbox: &Sandbox, script: &Value) -> Command {
    let path = sandbox
        .home
        .path()
        .join(format!("script-{}.json", sandbox.recordings().len()));
    std::fs::write(&path, script.to_string()).unwrap();
    let script_arg = format!("model_script={}", serde_json::to_string(&path).unwrap());
    sandbox.command(&["-c", "model_provider=script", "-c", &script_arg, "chat"])
}

fn shell_call(call_id: &str, argv: &[&str]) -> Value {
    json!({"steps": [{
        "type": "tool_call", "call_id": call_id, "name": "shell",
        "arguments": {"command": argv},
    }]})
}

fn text(text: &str) -> Value {
    json!({"steps": [{"type": "text", "text": text, "deltas": 2}]})
}

/// The user messages of the recording at `path`, in order.
fn user_messages(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|v| v["type"] == "event" && v["payload"]["type"] == "user_message")
        .filter_map(|v| v["payload"]["message"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn chat_on_a_terminal_approves_interrupts_reports_status_and_quits() {
    let sandbox = Sandbox::new();
    let script = json!({"responses": [
        shell_call("c1", &["touch", "made-by-test"]),
        text("all done here"),
        shell_call("c2", &["sleep", "30"]),
    ]});
    let mut pty = Pty::spawn(chat(&sandbox, &script));
    pty.expect("> ");

    pty.send(b"make a file\r");
    pty.expect("Run this command?");
    pty.expect("touch made-by-test");
    pty.expect(QUESTION_END);
    pty.expect("> ");
    assert!(!sandbox.cwd().join("made-by-test").exists());
    // Not an answer: the question again, and its answer line becomes the editor's prompt.
    pty.send(b"maybe\r");
    pty.expect("Run this command?");
    pty.expect(&format!("[n] no  {QUESTION_END}"));
    assert!(!sandbox.cwd().join("made-by-test").exists());
    pty.send(b"y\r");
    pty.expect("all done here");
    pty.expect("> ");
    assert!(sandbox.cwd().join("made-by-test").exists());

    pty.send(b"now sleep\r");
    pty.expect("sleep 30");
    pty.expect(QUESTION_END);
    pty.expect("> ");
    pty.send(b"y\r");
    pty.expect("$ sleep 30");
    pty.expect("> ");
    let pid = pty.pid();
    if !eventually(|| !descendants(pid, &["sleep", "30"]).is_empty()) {
        let screen = pty.screen();
        pty.fail("`sleep 30` to start", &screen);
    }
    // Ctrl-C as typed: a key for the editor in raw mode, SIGINT from the line discipline
    // otherwise; both interrupt the turn.
    pty.send(b"\x03");
    pty.expect("turn interrupted");
    pty.expect("> ");
    if !eventually(|| descendants(pid, &["sleep", "30"]).is_empty()) {
        let screen = pty.screen();
        pty.fail("`sleep 30` to be killed", &screen);
    }

    // Ctrl-C with no turn running drops the half-typed line.
    pty.send(b"half typed");
    pty.expect("half typed");
    pty.send(b"\x03");
    pty.expect("type /quit (or press Ctrl-D) to leave");
    pty.expect("> ");
    pty.send(b"/status\r");
    pty.expect("model:        script (provider script)");
    pty.expect("> ");
    pty.send(b"/quit\r");
    let status = pty.wait();
    assert_eq!(status.code(), Some(0), "{}", pty.screen());
    // Input and commands are kept; answers to approvals are not.
    let saved = std::fs::read_to_string(sandbox.home.path().join("history")).unwrap();
    let lines: Vec<&str> = saved.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        ["make a file", "now sleep", "/status", "/quit"],
        "{saved}"
    );
}

#[test]
fn up_recalls_input_within_a_run_and_from_the_last_run() {
    let sandbox = Sandbox::new();
    let script = json!({"responses": [text("first answer"), text("second answer")]});
    let mut pty = Pty::spawn(chat(&sandbox, &script));
    pty.expect("> ");
    pty.send(b"remember me\r");
    pty.expect("first answer");
    pty.expect("> ");
    pty.send(b"\x1b[A");
    pty.expect("remember me");
    pty.send(b"\r");
    pty.expect("second answer");
    pty.expect("> ");
    pty.send(b"/quit\r");
    let status = pty.wait();
    assert_eq!(status.code(), Some(0), "{}", pty.screen());
    drop(pty);

    let first = sandbox.recordings();
    assert_eq!(first.len(), 1);
    assert_eq!(user_messages(&first[0]), ["remember me", "remember me"]);
    let history = sandbox.home.path().join("history");
    let mode = std::fs::metadata(&history).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "history mode {mode:o}");
    let saved = std::fs::read_to_string(&history).unwrap();
    let lines: Vec<&str> = saved.lines().filter(|l| !l.starts_with('#')).collect();
    // Consecutive repeats are kept once; commands are kept too.
    assert_eq!(lines, ["remember me", "/quit"], "{saved}");

    let script = json!({"responses": [text("third answer")]});
    let mut pty = Pty::spawn(chat(&sandbox, &script));
    pty.expect("> ");
    pty.send(b"\x1b[A");
    pty.expect("/quit");
    pty.send(b"\x1b[A");
    pty.expect("remember me");
    pty.send(b"\r");
    pty.expect("third answer");
    pty.expect("> ");
    // Ctrl-D on an empty line leaves.
    pty.send(b"\x04");
    let status = pty.wait();
    assert_eq!(status.code(), Some(0), "{}", pty.screen());

    let second: Vec<_> = sandbox
        .recordings()
        .into_iter()
        .filter(|p| !first.contains(p))
        .collect();
    assert_eq!(second.len(), 1);
    assert_eq!(user_messages(&second[0]), ["remember me"]);
}
