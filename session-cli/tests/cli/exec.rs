//! `session exec` in human mode against mock servers, the demo, and Ctrl-C.

use session_core::EventMsg;
use session_testkit::{
    MockResponse, sse_chat_text, sse_chat_tool_call, sse_event, sse_messages_text,
    sse_messages_tool_call, sse_responses_text, sse_responses_tool_call,
};

use crate::support::{Mock, Sandbox, events_of, usage, with_args};

#[test]
fn exec_streams_the_answer_of_a_responses_server() {
    let mock = Mock::start(vec![MockResponse::sse(sse_responses_text(
        &["Hello ", "from ", "the mock."],
        usage(12, 3),
    ))]);
    let sandbox = Sandbox::new();
    let out = sandbox.run(&with_args(&mock, "responses", &["exec", "say hello"]), None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("Hello from the mock.\n"), "{out:?}");
    assert!(out.stdout.contains("tokens: 12 in, 3 out"), "{out:?}");
    let requests = mock.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/responses");
    assert!(mock.body(0).contains("say hello"));
    assert!(mock.body(0).contains("mock-model"));
}

#[test]
fn exec_runs_a_safe_tool_call_over_chat_completions_and_sends_its_output_back() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_chat_tool_call(
            "call_1",
            "shell",
            &[r#"{"command":["echo","#, r#""hi-from-tool"]}"#],
            usage(20, 5),
        )),
        MockResponse::sse(sse_chat_text(&["The tool said hi."], usage(30, 4))),
    ]);
    let sandbox = Sandbox::new();
    let out = sandbox.run(&with_args(&mock, "chat", &["exec", "run echo"]), None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("$ echo hi-from-tool\nhi-from-tool\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("The tool said hi."), "{out:?}");
    assert!(out.stdout.contains("tokens: 50 in, 9 out"), "{out:?}");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].path, "/v1/chat/completions");
    let second = mock.body(1);
    assert!(
        second.contains("call_1") && second.contains("hi-from-tool"),
        "{second}"
    );
}

#[test]
fn exec_with_full_auto_runs_a_command_that_would_need_approval() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "call_touch",
            "shell",
            r#"{"command":["touch","made-by-tool"]}"#,
            None,
        )),
        MockResponse::sse(sse_responses_text(&["Made it."], None)),
    ]);
    let sandbox = Sandbox::new();
    let out = sandbox.run(
        &with_args(&mock, "responses", &["exec", "--full-auto", "make a file"]),
        None,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(sandbox.cwd().join("made-by-tool").exists());
    assert!(!out.stderr.contains("denied"), "{out:?}");
    let second = mock.body(1);
    assert!(
        second.contains("function_call_output") && second.contains("call_touch"),
        "{second}"
    );
}

#[test]
fn exec_without_a_terminal_denies_commands_that_need_approval_and_says_so() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "call_touch",
            "shell",
            r#"{"command":["touch","should-not-exist"]}"#,
            None,
        )),
        MockResponse::sse(sse_responses_text(&["Understood."], None)),
    ]);
    let sandbox = Sandbox::new();
    let out = sandbox.run(
        &with_args(&mock, "responses", &["exec", "make a file"]),
        None,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!sandbox.cwd().join("should-not-exist").exists());
    assert!(
        out.stderr
            .contains("denied command `touch should-not-exist`"),
        "{out:?}"
    );
    assert!(
        mock.body(1).contains("rejected"),
        "the model is told: {}",
        mock.body(1)
    );
}

#[test]
fn exec_runs_a_tool_call_over_the_messages_api_and_streams_the_answer() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_messages_tool_call(
            "toolu_1",
            "shell",
            &[r#"{"command":["echo","#, r#""from-tool"]}"#],
            usage(20, 5),
        )),
        MockResponse::sse(sse_messages_text(&["Claude ", "says hi."], usage(40, 4))),
    ]);
    let sandbox = Sandbox::new();
    let args = with_args(&mock, "messages", &["exec", "--full-auto", "greet"]);
    let out = sandbox.run(&args, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("Claude says hi.\n"), "{out:?}");
    let requests = mock.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[0].header("anthropic-version"), Some("2023-06-01"));
    let second = requests[1].body_json();
    let result = &second["messages"][2]["content"][0];
    assert_eq!(result["type"], "tool_result", "{second}");
    assert_eq!(result["tool_use_id"], "toolu_1");
    assert!(
        result["content"].as_str().unwrap().contains("from-tool"),
        "{second}"
    );
}

#[test]
fn a_stream_error_after_partial_text_prints_the_text_once_and_the_message_once() {
    let partial = format!(
        "{}data: {}\n\n",
        sse_event(
            &serde_json::json!({"type": "response.output_text.delta", "delta": "half an ans"})
        ),
        serde_json::json!({"error": {"message": "model overloaded"}})
    );
    let mock = Mock::start(vec![
        MockResponse::sse(partial),
        MockResponse::sse(sse_responses_text(&["never sent"], None)),
    ]);
    let sandbox = Sandbox::new();
    let mut args = with_args(&mock, "responses", &[]);
    for retries in [
        "model_providers.mock.stream_max_retries=5",
        "model_providers.mock.request_max_retries=4",
    ] {
        args.extend(["-c".to_owned(), retries.to_owned()]);
    }
    args.extend(["exec".to_owned(), "hi".to_owned()]);
    let out = sandbox.run(&args, None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout.matches("half an ans").count(), 1, "{out:?}");
    assert_eq!(out.stderr.matches("model overloaded").count(), 1, "{out:?}");
    assert_eq!(mock.requests().len(), 1, "an error line is not retried");
}

#[test]
fn a_server_error_fails_exec_with_exit_code_1_and_a_message() {
    let mock = Mock::start(vec![MockResponse::json(
        400,
        r#"{"error":{"message":"model `nope` does not exist"}}"#,
    )]);
    let sandbox = Sandbox::new();
    let out = sandbox.run(&with_args(&mock, "responses", &["exec", "hi"]), None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("error: "), "{out:?}");
    assert!(out.stderr.contains("400"), "{out:?}");
    assert_eq!(mock.requests().len(), 1, "a 400 is not retried");
}

#[test]
fn the_prompt_can_come_from_stdin_and_the_last_message_can_go_to_a_file() {
    let mock = Mock::start(vec![MockResponse::sse(sse_responses_text(
        &["Final ", "answer."],
        None,
    ))]);
    let sandbox = Sandbox::new();
    let last = sandbox.cwd().join("last.txt");
    let last_arg = last.to_string_lossy().into_owned();
    let out = sandbox.run(
        &with_args(
            &mock,
            "responses",
            &["exec", "--output-last-message", &last_arg, "-"],
        ),
        Some("a prompt from a pipe\n"),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(mock.body(0).contains("a prompt from a pipe"));
    assert_eq!(std::fs::read_to_string(&last).unwrap(), "Final answer.");
}

#[test]
fn without_a_provider_or_key_exec_runs_the_offline_demo_and_says_so() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.cwd().join("notes.txt"), "x").unwrap();
    let out = sandbox.run(&["exec", "what is in this directory?"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("no model provider configured and OPENAI_API_KEY is not set; using the offline demo model"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .starts_with("I'll take a look at this directory first.\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("$ ls -la\n"), "{out:?}");
    assert!(out.stdout.contains("notes.txt"), "{out:?}");
    assert!(out.stdout.contains("The command printed"), "{out:?}");
    assert!(out.stdout.contains("tokens: "), "{out:?}");
    assert!(
        !out.stdout.contains('\x1b'),
        "no colours when piped: {out:?}"
    );
    assert_eq!(sandbox.recordings().len(), 1);
}

#[test]
fn ctrl_c_interrupts_a_hanging_model_stream_and_exits_130() {
    let started = sse_event(&serde_json::json!({
        "type": "response.created",
        "response": {"id": "resp_1", "status": "in_progress"},
    })) + &sse_event(&serde_json::json!({
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Thinking hard",
    }));
    let mock = Mock::start(vec![MockResponse::sse(started).hang_after_body()]);
    let sandbox = Sandbox::new();
    let mut running = sandbox.spawn(&with_args(&mock, "responses", &["exec", "think"]));
    running.expect_stdout("Thinking hard");
    running.interrupt();
    let out = running.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
    assert!(out.stderr.contains("turn interrupted"), "{out:?}");
    let recording = std::fs::read_to_string(&sandbox.recordings()[0]).unwrap();
    assert!(
        recording.contains("turn_aborted"),
        "the recording was shut down properly"
    );
}

#[test]
fn ctrl_c_kills_a_running_command_and_exits_130() {
    let mock = Mock::start(vec![MockResponse::sse(sse_responses_tool_call(
        "call_sleep",
        "shell",
        r#"{"command":["sh","-c","echo running; exec sleep 30"]}"#,
        None,
    ))]);
    let sandbox = Sandbox::new();
    let mut running = sandbox.spawn(&with_args(
        &mock,
        "responses",
        &["exec", "--full-auto", "wait a bit"],
    ));
    // The command's own output: it is running for real, not just announced.
    running.expect_stdout("running\n");
    running.interrupt();
    let out = running.wait();
    assert_eq!(out.code, Some(130), "{out:?}");
}

#[test]
fn by_default_commands_run_in_workspace_write_with_on_request_and_session_configured_says_so() {
    let sandbox = Sandbox::new();
    let mut command = sandbox.command(&["exec", "--json", "list the files"]);
    command.env_remove("SESSION_APPROVAL_POLICY");
    let out = sandbox.run_command(command, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let events = events_of(&out.stdout);
    let configured = serde_json::to_value(&events[0].msg).unwrap();
    assert_eq!(configured["approval_policy"], "on-request", "{configured}");
    assert_eq!(
        configured["sandbox_policy"]["mode"], "workspace-write",
        "{configured}"
    );
    assert!(
        events
            .iter()
            .all(|e| !matches!(e.msg, EventMsg::ExecApprovalRequest { .. })),
        "the demo's `ls` runs unasked in the sandbox"
    );
    let explicit = sandbox.run(
        &["-s", "read-only", "-a", "never", "exec", "--json", "hi"],
        None,
    );
    let events = events_of(&explicit.stdout);
    let configured = serde_json::to_value(&events[0].msg).unwrap();
    assert_eq!(
        configured["sandbox_policy"]["mode"], "read-only",
        "{configured}"
    );
    assert_eq!(configured["approval_policy"], "never", "{configured}");
}

#[test]
fn agents_md_from_the_repository_root_down_reaches_the_model_first() {
    let mock = Mock::start(vec![MockResponse::sse(sse_responses_text(&["ok"], None))]);
    let sandbox = Sandbox::new();
    let root = sandbox.cwd();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join("AGENTS.md"), "Root rule: run the tests.\n").unwrap();
    let out = sandbox.run(&with_args(&mock, "responses", &["exec", "hi"]), None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let body = mock.requests()[0].body_json();
    let first = body["input"][0]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first.starts_with("<user_instructions>"), "{first}");
    assert!(first.contains("Root rule: run the tests."), "{first}");
    assert!(
        body["input"][1]["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("<environment_context>")
    );
}
