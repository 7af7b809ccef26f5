//! `session chat` driven through pipes: answers, `/status`, approvals, input typed during a
//! turn, Ctrl-C, `/quit` and the end of input.

use std::time::Duration;

use serde_json::json;
use session_testkit::{MockResponse, sse_event, sse_responses_text, sse_responses_tool_call};

use crate::support::{Mock, Sandbox, usage, with_args};

#[test]
fn chat_answers_reports_status_and_quits() {
    let mock = Mock::start(vec![MockResponse::sse(sse_responses_text(
        &["Hi ", "from the mock."],
        usage(1000, 20),
    ))]);
    let sandbox = Sandbox::new();
    let mut chat = sandbox.spawn(&with_args(
        &mock,
        "responses",
        &["-c", "model_context_window=10000", "chat"],
    ));
    chat.expect_stderr("> ");
    chat.send("hello");
    chat.expect_stdout("Hi from the mock.\n");
    chat.expect_stderr("> ");
    chat.send("/status");
    chat.expect_stdout("model:        mock-model (provider mock)");
    chat.expect_stdout("tokens used:  1000 in, 20 out");
    chat.expect_stdout("context left: 90% of 10000 tokens");
    chat.send("/quit");
    let out = chat.wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn chat_asks_for_approval_and_takes_the_answer_from_the_next_line() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "call_touch",
            "shell",
            r#"{"command":["touch","chat-made.txt"]}"#,
            None,
        )),
        MockResponse::sse(sse_responses_text(&["Made it."], None)),
    ]);
    let sandbox = Sandbox::new();
    let mut chat = sandbox.spawn(&with_args(&mock, "responses", &["chat"]));
    chat.send("make a file");
    chat.expect_stderr("Run this command?");
    chat.expect_stderr("$ touch chat-made.txt");
    assert!(!sandbox.cwd().join("chat-made.txt").exists());
    chat.send("maybe");
    chat.expect_stderr("Run this command?");
    chat.send("y");
    chat.expect_stdout("Made it.\n");
    assert!(sandbox.cwd().join("chat-made.txt").exists());
    let out = chat.wait();
    assert_eq!(out.code, Some(0), "the end of input quits: {out:?}");
}

#[test]
fn input_typed_while_a_turn_runs_is_submitted_at_once() {
    let slow = sse_event(&json!({
        "type": "response.created",
        "response": {"id": "resp_1", "status": "in_progress"},
    })) + &sse_event(&json!({
        "type": "response.output_text.delta",
        "item_id": "msg_1", "output_index": 0, "content_index": 0,
        "delta": "Working on it",
    }));
    let rest = sse_event(&json!({
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {
            "type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": "Working on it", "annotations": []}],
        },
    })) + &sse_event(&json!({
        "type": "response.completed",
        "response": {"id": "resp_1", "status": "completed"},
    }));
    let mock = Mock::start(vec![
        MockResponse::sse(slow)
            .delay(Duration::from_millis(1500))
            .chunk(rest),
        MockResponse::sse(sse_responses_text(&["Got the follow-up."], None)),
    ]);
    let sandbox = Sandbox::new();
    let mut chat = sandbox.spawn(&with_args(&mock, "responses", &["chat"]));
    chat.send("first question");
    chat.expect_stdout("Working on it");
    chat.send("a follow-up typed during the turn");
    chat.expect_stdout("Got the follow-up.\n");
    chat.send("/quit");
    let out = chat.wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2, "{out:?}");
    assert!(mock.body(1).contains("a follow-up typed during the turn"));
}

#[test]
fn ctrl_c_interrupts_the_running_turn_and_returns_to_the_prompt() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "call_sleep",
            "shell",
            r#"{"command":["sh","-c","echo running; exec sleep 30"]}"#,
            None,
        )),
        MockResponse::sse(sse_responses_text(&["Still here."], None)),
    ]);
    let sandbox = Sandbox::new();
    let mut chat = sandbox.spawn(&with_args(&mock, "responses", &["chat", "--full-auto"]));
    chat.send("sleep for a while");
    // The command's own output: it is running for real, not just announced.
    chat.expect_stdout("running\n");
    chat.interrupt();
    chat.expect_stderr("turn interrupted");
    chat.expect_stderr("> ");
    chat.send("are you there?");
    chat.expect_stdout("Still here.\n");
    chat.send("/quit");
    let out = chat.wait();
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn resume_without_a_prompt_replays_the_history_and_chats() {
    let sandbox = Sandbox::new();
    let first = sandbox.run(&["exec", "what is here?"], None);
    assert_eq!(first.code, Some(0), "{first:?}");
    let out = sandbox.run(&["resume", "--last"], Some("and now?\n"));
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.starts_with("> what is here?\n"), "{out:?}");
    assert!(
        out.stdout
            .contains("I'll take a look at this directory first."),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("offline demo model, so all I can do"),
        "{out:?}"
    );
}

#[test]
fn compact_summarizes_the_history_and_the_chat_goes_on() {
    let sandbox = Sandbox::new();
    let mut chat = sandbox.spawn(&["chat"]);
    chat.expect_stderr("> ");
    chat.send("what is here?");
    chat.expect_stdout("Here is what I found.");
    chat.expect_stderr("> ");
    chat.send("/compact");
    chat.expect_stderr("compacted");
    chat.expect_stderr("> ");
    chat.send("and now?");
    chat.expect_stdout("offline demo model, so all I can do");
    chat.send("/quit");
    let out = chat.wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    let recording = std::fs::read_to_string(&sandbox.recordings()[0]).unwrap();
    assert!(recording.contains("\"compacted\""), "{recording}");
}

#[test]
fn notify_runs_the_configured_program_when_a_turn_completes() {
    let sandbox = Sandbox::new();
    let target = sandbox.cwd().join("notified.json");
    sandbox.write_config(&format!(
        "notify = [\"sh\", \"-c\", \"printf '%s' \\\"$1\\\" > {}\", \"notify\"]\n",
        target.display()
    ));
    let mut chat = sandbox.spawn(&["chat"]);
    chat.send("what is here?");
    chat.expect_stdout("Here is what I found.");
    let deadline = std::time::Instant::now() + crate::support::TIMEOUT;
    while !target.exists() || std::fs::read_to_string(&target).unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no notification");
        std::thread::sleep(Duration::from_millis(20));
    }
    chat.send("/quit");
    assert_eq!(chat.wait().code, Some(0));
    let notification: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(
        notification["type"], "agent-turn-complete",
        "{notification}"
    );
}
