//! `session proto`: submissions on stdin, events on stdout.

use session_core::EventMsg;
use session_testkit::{MockResponse, sse_responses_text, sse_responses_tool_call};

use crate::support::{Mock, Sandbox, is, with_args};

#[test]
fn proto_asks_for_approval_and_runs_the_approved_command() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "call_touch",
            "shell",
            r#"{"command":["touch","approved.txt"]}"#,
            None,
        )),
        MockResponse::sse(sse_responses_text(&["Created."], None)),
    ]);
    let sandbox = Sandbox::new();
    let mut proto = sandbox.spawn(&with_args(&mock, "responses", &["proto"]));
    let (first, _) = proto.expect_event(|_| true);
    assert_eq!(first.msg.kind(), "session_configured");
    proto.send(
        r#"{"id":"1","op":{"type":"user_input","items":[{"type":"text","text":"make approved.txt"}]}}"#,
    );
    let (request, _) = proto.expect_event(is("exec_approval_request"));
    assert_eq!(request.id, "1");
    let EventMsg::ExecApprovalRequest {
        call_id, command, ..
    } = &request.msg
    else {
        unreachable!()
    };
    assert_eq!(call_id, "call_touch");
    assert_eq!(command, &["touch", "approved.txt"]);
    assert!(
        !sandbox.cwd().join("approved.txt").exists(),
        "nothing runs before the answer"
    );
    proto.send(
        r#"{"id":"2","op":{"type":"exec_approval","id":"call_touch","decision":"approved"}}"#,
    );
    let (end, _) = proto.expect_event(is("exec_command_end"));
    assert!(matches!(
        end.msg,
        EventMsg::ExecCommandEnd { exit_code: 0, .. }
    ));
    let (complete, _) = proto.expect_event(is("task_complete"));
    assert_eq!(complete.id, "1");
    assert!(sandbox.cwd().join("approved.txt").exists());
    proto.close_stdin();
    proto.expect_event(is("shutdown_complete"));
    let out = proto.wait();
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn proto_interrupt_kills_the_running_command_and_aborts_the_turn() {
    let mock = Mock::start(vec![MockResponse::sse(sse_responses_tool_call(
        "call_sleep",
        "shell",
        r#"{"command":["sh","-c","echo running; exec sleep 30"]}"#,
        None,
    ))]);
    let sandbox = Sandbox::new();
    let mut proto = sandbox.spawn(&with_args(
        &mock,
        "responses",
        &["-c", "approval_policy=\"never\"", "proto"],
    ));
    proto.send(r#"{"id":"t","op":{"type":"user_input","items":[{"type":"text","text":"sleep"}]}}"#);
    proto.expect_event(is("exec_command_begin"));
    // The command's own output: it is running for real, not just announced.
    proto.expect_event(is("exec_command_output_delta"));
    proto.send(r#"{"id":"stop","op":{"type":"interrupt"}}"#);
    let (aborted, before) = proto.expect_event(is("turn_aborted"));
    assert_eq!(aborted.id, "t");
    assert!(
        before.iter().any(|e| e.msg.kind() == "exec_command_end"),
        "the command ends before the turn does"
    );
    proto.send(r#"{"id":"bye","op":{"type":"shutdown"}}"#);
    let (done, _) = proto.expect_event(is("shutdown_complete"));
    assert_eq!(done.id, "bye");
    let out = proto.wait();
    assert_eq!(out.code, Some(0), "{out:?}");
}

#[test]
fn malformed_proto_lines_get_error_events_and_the_session_goes_on() {
    let sandbox = Sandbox::new();
    let mut proto = sandbox.spawn(&["proto"]);
    proto.send("this is not json");
    let (error, _) = proto.expect_event(is("error"));
    assert_eq!(error.id, "");
    proto.send(r#"{"id":"7","op":{"type":"frobnicate"}}"#);
    let (error, _) = proto.expect_event(is("error"));
    assert_eq!(error.id, "7");
    proto.send(r#"{"id":"8","op":{"type":"get_path"}}"#);
    let (path, _) = proto.expect_event(is("conversation_path"));
    assert_eq!(path.id, "8");
    proto.close_stdin();
    let (_, before) = proto.expect_event(is("shutdown_complete"));
    assert!(before.iter().all(|e| e.msg.kind() != "error"));
    let out = proto.wait();
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap()
            .contains("shutdown_complete"),
        "shutdown_complete is the last line"
    );
}

#[test]
fn a_proto_line_longer_than_16_mib_gets_one_error_and_the_next_line_is_served() {
    let sandbox = Sandbox::new();
    let mut proto = sandbox.spawn(&["proto"]);
    // A well-formed submission, so only its length can make it fail.
    let text = "x".repeat(17 * 1024 * 1024);
    proto.send(&format!(
        r#"{{"id":"big","op":{{"type":"user_input","items":[{{"type":"text","text":"{text}"}}]}}}}"#
    ));
    proto.send(r#"{"id":"8","op":{"type":"get_path"}}"#);
    let (error, _) = proto.expect_event(is("error"));
    assert_eq!(error.id, "");
    let EventMsg::Error { message } = &error.msg else {
        unreachable!()
    };
    assert!(message.contains("longer than 16 MiB"), "{message}");
    let (path, before) = proto.expect_event(is("conversation_path"));
    assert_eq!(path.id, "8");
    assert!(
        before.is_empty(),
        "one error, then the next line: {before:?}"
    );
    proto.close_stdin();
    let (_, before) = proto.expect_event(is("shutdown_complete"));
    assert!(
        before
            .iter()
            .all(|e| e.id != "big" && e.msg.kind() != "error"),
        "the long line never reached the session: {before:?}"
    );
    let out = proto.wait();
    assert_eq!(out.code, Some(0), "{out:?}");
}
