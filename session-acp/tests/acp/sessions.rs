//! Cancel, load, several sessions, modes and models, bad requests, and the end of input.

use session_acp::acp::v1::schema::{
    CancelNotification, LoadSessionRequest, McpServer, McpServerStdio, NewSessionRequest,
    PromptRequest, RequestPermissionOutcome, RequestPermissionResponse, SessionConfigKind,
    SessionUpdate, SetSessionConfigOptionRequest, SetSessionModeRequest, StopReason,
    ToolCallStatus,
};
use session_acp::acp::{Error, UntypedMessage};
use session_core::services::{ModelError, ScriptedResponse};

use crate::support::{Harness, Offer, chunk_text};

fn text_prompt(session: &str, text: &str) -> PromptRequest {
    PromptRequest::new(
        session.to_owned(),
        vec![session_acp::acp::v1::schema::ContentBlock::Text(
            session_acp::acp::v1::schema::TextContent::new(text),
        )],
    )
}

fn cancel(h: &Harness, session: &str) {
    h.cx.send_notification(CancelNotification::new(session.to_owned()))
        .unwrap();
}

/// Whether a live (not zombie) process has `needle` among its arguments. Commands run in
/// their own PID namespace, so the host's /proc is searched by argument, not by `$$`.
fn running(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        let dir = entry.path();
        let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == needle.as_bytes())
            && !stat.contains(") Z ")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_a_permission_request_answers_cancelled() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let answer = h.prompt(&id, "write");
    h.model
        .play_next(ScriptedResponse::new().shell_call("c1", &["bash", "-lc", "touch never.txt"]))
        .await;
    let asked = h.asked().await;
    cancel(&h, &id);
    let response = answer.await.unwrap().unwrap();
    assert_eq!(response.stop_reason, StopReason::Cancelled);
    // The call that never ran is closed before the answer, not left pending.
    h.drain();
    let closed = h.seen.iter().any(|n| {
        matches!(&n.update,
        SessionUpdate::ToolCallUpdate(u) if &*u.tool_call_id.0 == "c1"
            && u.fields.status == Some(ToolCallStatus::Failed))
    });
    assert!(closed, "{:#?}", h.seen);
    // The client answers its withdrawn question late, as clients do; nothing runs.
    let _ = asked.responder.respond(RequestPermissionResponse::new(
        RequestPermissionOutcome::Cancelled,
    ));
    assert!(!h.workspace.path().join("never.txt").exists());
    // The session takes the next prompt.
    let answer = h.prompt(&id, "again");
    h.model
        .play_next(ScriptedResponse::new().text("back", 1))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_permission_request_aborts_the_turn() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let answer = h.prompt(&id, "write");
    h.model
        .play_next(ScriptedResponse::new().shell_call("c1", &["bash", "-lc", "touch never.txt"]))
        .await;
    let asked = h.asked().await;
    asked
        .responder
        .respond(RequestPermissionResponse::new(
            RequestPermissionOutcome::Cancelled,
        ))
        .unwrap();
    // Abort: the turn stops without asking the model again.
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::Cancelled
    );
    assert!(h.model.try_next_request().is_none());
    assert!(!h.workspace.path().join("never.txt").exists());
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_a_command_kills_it() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let answer = h.prompt(&id, "wait");
    h.model
        .play_next(
            ScriptedResponse::new()
                .shell_call("c1", &["bash", "-lc", "touch started; exec sleep 61.4242"]),
        )
        .await;
    h.asked()
        .await
        .responder
        .respond(RequestPermissionResponse::new(
            RequestPermissionOutcome::Selected(
                session_acp::acp::v1::schema::SelectedPermissionOutcome::new("allow_once"),
            ),
        ))
        .unwrap();
    h.until("the command running", |n| {
        matches!(&n.update, SessionUpdate::ToolCallUpdate(u)
            if u.fields.status == Some(ToolCallStatus::InProgress))
    })
    .await;
    let deadline = std::time::Instant::now() + crate::support::PATIENCE;
    while !running("61.4242") {
        assert!(
            std::time::Instant::now() < deadline,
            "the command never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    cancel(&h, &id);
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::Cancelled
    );
    // Ended before the answer: the call is closed and the process is gone.
    h.drain();
    let closed = h.seen.iter().any(|n| {
        matches!(&n.update,
        SessionUpdate::ToolCallUpdate(u) if &*u.tool_call_id.0 == "c1"
            && matches!(u.fields.status, Some(ToolCallStatus::Failed | ToolCallStatus::Completed)))
    });
    assert!(closed, "the call was closed: {:#?}", h.seen);
    assert!(!running("61.4242"), "the command survived the cancel");
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_after_cancel_starts_the_next_turn_and_a_concurrent_one_is_refused() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let first = h.prompt(&id, "first");
    let held = h.model.next_request().await.unwrap();
    // While the first runs, another prompt is an error, and the first goes on.
    let refused = h.request(text_prompt(&id, "too soon")).await.unwrap_err();
    assert!(
        refused.message.contains("already answering a prompt"),
        "{refused:?}"
    );
    // After a cancel, a new prompt waits for the cancelled turn, then runs.
    cancel(&h, &id);
    let second = h.prompt(&id, "second");
    assert_eq!(
        first.await.unwrap().unwrap().stop_reason,
        StopReason::Cancelled
    );
    drop(held);
    let request = h.model.next_request().await.unwrap();
    assert!(format!("{:?}", request.request().input).contains("second"));
    request.play(ScriptedResponse::new().text("second answer", 1));
    assert_eq!(
        second.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_prompt_at_once() {
    let mut h = Harness::connect(Offer::default()).await;
    h.initialize(Offer::default()).await;
    let a = h.new_session().await.session_id.0.to_string();
    let b = h.new_session().await.session_id.0.to_string();
    assert_ne!(a, b);
    let answer_a = h.prompt(&a, "from a");
    let answer_b = h.prompt(&b, "from b");
    let one = h.model.next_request().await.unwrap();
    let two = h.model.next_request().await.unwrap();
    // Both are waiting on the model at the same time; answer each with its own name.
    for request in [one, two] {
        let from_a = format!("{:?}", request.request().input).contains("from a");
        let reply = if from_a { "answer a" } else { "answer b" };
        request.play(ScriptedResponse::new().text(reply, 2));
    }
    assert_eq!(
        answer_a.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    assert_eq!(
        answer_b.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    h.drain();
    for (session, want) in [(&a, "answer a"), (&b, "answer b")] {
        let text: String = h
            .seen
            .iter()
            .filter(|n| &*n.session_id.0 == session.as_str())
            .filter(|n| matches!(n.update, SessionUpdate::AgentMessageChunk(_)))
            .filter_map(|n| chunk_text(&n.update))
            .collect();
        assert_eq!(text, want);
    }
    h.close().await;
    assert_eq!(h.recordings().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_replays_the_recording_then_goes_on() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let answer = h.prompt(&id, "remember the number 42");
    h.model
        .play_next(ScriptedResponse::new().text("I will remember 42.", 2))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    // Loading a session that is open here already is refused.
    let twice = h
        .request(LoadSessionRequest::new(id.clone(), h.workspace.path()))
        .await
        .unwrap_err();
    assert!(twice.message.contains("already open"), "{twice:?}");
    h.close().await;

    // A new connection (a restarted editor) on the same recordings.
    let mut again = Harness::connect_in(Offer::default(), h.home.path()).await;
    again.initialize(Offer::default()).await;
    let loaded = again
        .request(LoadSessionRequest::new(id.clone(), h.workspace.path()))
        .await
        .unwrap();
    assert!(loaded.modes.is_some());
    // The replay arrived before the answer.
    let replay = again.drain();
    let user: String = replay
        .iter()
        .filter(|n| matches!(n.update, SessionUpdate::UserMessageChunk(_)))
        .filter_map(|n| chunk_text(&n.update))
        .collect();
    let agent: String = replay
        .iter()
        .filter(|n| matches!(n.update, SessionUpdate::AgentMessageChunk(_)))
        .filter_map(|n| chunk_text(&n.update))
        .collect();
    assert_eq!(user, "remember the number 42");
    assert_eq!(agent, "I will remember 42.");
    // And the session continues with its history.
    let answer = again.prompt(&id, "which number?");
    let request = again.model.next_request().await.unwrap();
    let input = format!("{:?}", request.request().input);
    assert!(input.contains("I will remember 42.") && input.contains("which number?"));
    request.play(ScriptedResponse::new().text("42", 1));
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    // An id with no recording is an error.
    let missing = again
        .request(LoadSessionRequest::new(
            "no-such-session",
            h.workspace.path(),
        ))
        .await
        .unwrap_err();
    assert!(
        missing.message.contains("no recorded session"),
        "{missing:?}"
    );
    again.close().await;
    assert_eq!(again.recordings().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modes_and_models_change_the_next_turn() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    // Full access: the command that asked under `untrusted` runs without a question.
    h.request(SetSessionModeRequest::new(id.clone(), "full-access"))
        .await
        .unwrap();
    let unknown = h
        .request(SetSessionModeRequest::new(id.clone(), "yolo"))
        .await
        .unwrap_err();
    assert!(
        unknown.message.contains("unknown mode `yolo`"),
        "{unknown:?}"
    );
    let options = h
        .request(SetSessionConfigOptionRequest::new(
            id.clone(),
            "model",
            "other-model",
        ))
        .await
        .unwrap()
        .config_options;
    let model = options.iter().find(|o| &*o.id.0 == "model").unwrap();
    let SessionConfigKind::Select(select) = &model.kind else {
        panic!("a select")
    };
    assert_eq!(&*select.current_value.0, "other-model");
    let refused = h
        .request(SetSessionConfigOptionRequest::new(
            id.clone(),
            "model",
            "gpt-0",
        ))
        .await
        .unwrap_err();
    assert!(refused.message.contains("not offered"), "{refused:?}");
    let answer = h.prompt(&id, "go");
    let request = h.model.next_request().await.unwrap();
    assert_eq!(request.request().model, "other-model");
    request.play(ScriptedResponse::new().shell_call("c1", &["bash", "-lc", "touch free.txt"]));
    h.model
        .play_next(ScriptedResponse::new().text("done", 1))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    assert!(h.workspace.path().join("free.txt").exists());
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_errors_and_the_connection_goes_on() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let unknown = h.request(text_prompt("nope", "hi")).await.unwrap_err();
    assert_eq!(unknown.code, Error::invalid_params().code);
    assert!(
        unknown.message.contains("unknown session id `nope`"),
        "{unknown:?}"
    );
    let method = h
        .request(UntypedMessage::new("session/frobnicate", serde_json::json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(method.code, Error::method_not_found().code);
    let relative = h
        .request(NewSessionRequest::new("relative/dir"))
        .await
        .unwrap_err();
    assert!(relative.message.contains("absolute"), "{relative:?}");
    let empty = h
        .request(PromptRequest::new(id.clone(), Vec::new()))
        .await
        .unwrap_err();
    assert!(empty.message.contains("empty"), "{empty:?}");
    let sse = h
        .request(
            NewSessionRequest::new(h.workspace.path()).mcp_servers(vec![McpServer::Sse(
                session_acp::acp::v1::schema::McpServerSse::new("s", "http://127.0.0.1:1/sse"),
            )]),
        )
        .await
        .unwrap_err();
    assert!(sse.message.contains("SSE"), "{sse:?}");
    // The session is unharmed.
    let answer = h.prompt(&id, "still here?");
    h.model
        .play_next(ScriptedResponse::new().text("yes", 1))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    // A turn the model cuts short answers `max_tokens`; another failure is an error.
    let answer = h.prompt(&id, "long");
    h.model
        .next_request()
        .await
        .unwrap()
        .fail(ModelError::Incomplete("max_output_tokens".to_owned()));
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::MaxTokens
    );
    let answer = h.prompt(&id, "broken");
    h.model
        .next_request()
        .await
        .unwrap()
        .fail(ModelError::Failed("the server fell over".to_owned()));
    let failed = answer.await.unwrap().unwrap_err();
    assert!(
        failed.message.contains("the server fell over"),
        "{failed:?}"
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_mcp_servers_serve_the_session() {
    let mut h = Harness::connect(Offer::default()).await;
    h.initialize(Offer::default()).await;
    let server = session_testkit::mcp_test_server();
    let stdio =
        McpServerStdio::new("probe", server).args(vec!["serve".to_owned(), "basic".to_owned()]);
    let id = h
        .request(
            NewSessionRequest::new(h.workspace.path()).mcp_servers(vec![McpServer::Stdio(stdio)]),
        )
        .await
        .unwrap()
        .session_id
        .0
        .to_string();
    let answer = h.prompt(&id, "echo");
    let request = h.model.next_request().await.unwrap();
    let tools: Vec<String> = request
        .request()
        .tools
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert!(tools.iter().any(|t| t == "mcp__probe__echo"), "{tools:?}");
    request.play(ScriptedResponse::new().tool_call(
        "m1",
        "mcp__probe__echo",
        serde_json::json!({ "text": "ping" }),
    ));
    h.model
        .play_next(ScriptedResponse::new().text("pong", 1))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    h.drain();
    let done = h.seen.iter().find_map(|n| match &n.update {
        SessionUpdate::ToolCallUpdate(u) if &*u.tool_call_id.0 == "m1" => u.fields.status,
        _ => None,
    });
    assert_eq!(done, Some(ToolCallStatus::Completed));
    let titled = h.seen.iter().any(|n| {
        matches!(&n.update,
        SessionUpdate::ToolCall(c) if &*c.tool_call_id.0 == "m1" && c.title == "probe: echo")
    });
    assert!(titled, "{:#?}", h.seen);
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_connection_mid_prompt_shuts_down_durably() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let _answer = h.prompt(&id, "unfinished business");
    let _held = h.model.next_request().await.unwrap();
    h.close().await;
    let recordings = h.recordings();
    assert_eq!(recordings.len(), 1);
    let text = std::fs::read_to_string(&recordings[0]).unwrap();
    assert!(text.contains("unfinished business"), "{text}");
    assert!(text.ends_with('\n'));
}
