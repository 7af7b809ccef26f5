//! `session exec --json`: protocol events on stdout and nothing else.

use session_core::EventMsg;
use session_testkit::{MockResponse, sse_responses_text, sse_responses_tool_call};

use crate::support::{Mock, Sandbox, events_of, kind, usage, with_args};

#[test]
fn json_output_is_one_protocol_event_a_line_in_protocol_order() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "call_1",
            "shell",
            r#"{"command":["echo","json-tool"]}"#,
            usage(10, 2),
        )),
        MockResponse::sse(sse_responses_text(&["Done."], usage(20, 1))),
    ]);
    let sandbox = Sandbox::new();
    let out = sandbox.run(
        &with_args(&mock, "responses", &["exec", "--json", "go"]),
        None,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    // Every line parses as an event (events_of panics otherwise), and exactly as serialized.
    let events = events_of(&out.stdout);
    for (line, event) in out.stdout.lines().zip(&events) {
        assert_eq!(serde_json::to_string(event).unwrap(), line);
    }
    let kinds: Vec<&str> = events.iter().map(kind).collect();
    assert_eq!(kinds.first(), Some(&"session_configured"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"shutdown_complete"), "{kinds:?}");
    let started = kinds.iter().position(|k| *k == "task_started").unwrap();
    let complete = kinds.iter().position(|k| *k == "task_complete").unwrap();
    assert!(started < complete, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| **k == "task_started").count(), 1);
    for expected in [
        "exec_command_begin",
        "exec_command_end",
        "agent_message",
        "token_count",
    ] {
        let at = kinds
            .iter()
            .position(|k| *k == expected)
            .unwrap_or(usize::MAX);
        assert!(
            started < at && at < complete,
            "{expected} inside the turn: {kinds:?}"
        );
    }
    assert!(events.iter().any(|e| matches!(
        &e.msg,
        EventMsg::TaskComplete { last_agent_message: Some(m) } if m == "Done."
    )));
    assert!(
        !out.stdout.contains("tokens:"),
        "no human output in json mode"
    );
}
