//! Model faults at the session level: a session on the real Responses client, talking to a
//! loopback server that misbehaves on purpose (dropped connection, 429, 5xx, silence, garbage,
//! an oversized line, `response.failed`). Each test checks that the faulty turn ends with its
//! proper events, that the next turn works, that every request sent stayed well formed, and
//! that the recording kept every item of the good turns.
//!
//! The fault always hits the second request of the first turn, after a tool call, so the
//! history that must stay well formed holds a call and its output.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use session_core::services::{
    MemoryFileSystem, MemoryRecorder, ProviderConfig, ResponsesClient, SessionServices, WireApi,
};
use session_core::{AskForApproval, AutoCompact, Event, EventMsg, Session, SessionConfig};
use session_testkit::{
    FakeShell, MockResponse, MockServer, sse_event, sse_responses_text, sse_responses_tool_call,
};

use crate::support::{check_invariants, check_recording};

/// How patient the client and the session are in a test.
#[derive(Debug, Clone, Copy)]
struct Patience {
    request_retries: u32,
    retry_base_delay_ms: u64,
    idle_ms: u64,
    stream_retries: u32,
    /// Longest wait for one event.
    event_wait: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Self {
            request_retries: 1,
            retry_base_delay_ms: 10,
            idle_ms: 5_000,
            stream_retries: 1,
            event_wait: Duration::from_secs(20),
        }
    }
}

/// A session on a `ResponsesClient` pointed at a misbehaving `MockServer`.
struct Faulty {
    session: Session,
    server: MockServer,
    recorder: Arc<MemoryRecorder>,
    events: Vec<Event>,
    event_wait: Duration,
}

impl Faulty {
    async fn start(responses: Vec<MockResponse>, p: Patience) -> Self {
        let server = MockServer::start(responses).await.unwrap();
        let mut provider = ProviderConfig::new("mock", server.url(), WireApi::Responses);
        provider.request_max_retries = p.request_retries;
        provider.retry_base_delay_ms = p.retry_base_delay_ms;
        provider.stream_idle_timeout_ms = p.idle_ms;
        let model = Arc::new(ResponsesClient::new(&provider).unwrap());
        let recorder = Arc::new(MemoryRecorder::new());
        let services = SessionServices::builder(model)
            .recorder(recorder.clone())
            .shell(FakeShell::with(&[]))
            .fs(Arc::new(MemoryFileSystem::new()))
            .build();
        let mut config = SessionConfig::new("mock-model", "/work/project");
        config.approval_policy = Some(AskForApproval::Never);
        config.session_id = Some("faults".into());
        config.auto_compact = AutoCompact::Off;
        provider.stream_max_retries = p.stream_retries;
        config.retry_like(&provider);
        let session = Session::spawn(config, services).await.unwrap();
        let mut faulty = Self {
            session,
            server,
            recorder,
            events: Vec::new(),
            event_wait: p.event_wait,
        };
        let first = faulty.next().await;
        assert!(matches!(first.msg, EventMsg::SessionConfigured { .. }));
        faulty
    }

    async fn next(&mut self) -> Event {
        let e = tokio::time::timeout(self.event_wait, self.session.next_event())
            .await
            .expect("timed out waiting for an event")
            .expect("the session ended");
        self.events.push(e.clone());
        e
    }

    /// Submit `text` and read the turn it starts to its terminal event.
    async fn turn(&mut self, text: &str) -> Turn {
        let id = self.session.user_input(text).await.unwrap();
        let mut events = Vec::new();
        loop {
            let e = self.next().await;
            let end = e.msg.is_turn_terminal();
            assert_eq!(e.id, id, "an event of another submission: {e:?}");
            events.push(e.msg);
            if end {
                return Turn { events };
            }
        }
    }

    /// Shut down and run every check on the events, the requests sent and the recording; the
    /// last good turn answered `answer`.
    async fn finish(mut self, answer: &str) -> Vec<Value> {
        self.session.shutdown().await.unwrap();
        while let Some(e) = self.session.next_event().await {
            self.events.push(e);
        }
        check_invariants(&self.events);
        check_recording(&self.recorder.lines(), &self.events);
        let bodies: Vec<Value> = self
            .server
            .requests()
            .iter()
            .map(|r| r.body_json())
            .collect();
        for (i, body) in bodies.iter().enumerate() {
            calls_answered_once(i, body);
        }
        // Nothing recorded is lost: the last request carried the whole recorded history but
        // the answer it produced, which the recording holds last.
        let recorded: Vec<Value> = self
            .recorder
            .history_items()
            .iter()
            .map(|h| serde_json::from_str(h.json()).unwrap())
            .collect();
        let sent = bodies.last().unwrap()["input"].as_array().unwrap().clone();
        assert_eq!(
            recorded.len(),
            sent.len() + 1,
            "recorded history: {recorded:#?}"
        );
        assert_eq!(recorded[..sent.len()], sent[..]);
        let last = self.recorder.history_items().last().unwrap().clone();
        assert_eq!(last.item().role(), Some("assistant"));
        assert_eq!(last.item().message_text().as_deref(), Some(answer));
        recorded
    }
}

/// The events of one turn.
struct Turn {
    events: Vec<EventMsg>,
}

impl Turn {
    fn count(&self, kind: &str) -> usize {
        self.events.iter().filter(|m| m.kind() == kind).count()
    }

    fn terminal(&self) -> &EventMsg {
        self.events.last().unwrap()
    }

    /// The turn recovered: `retries` stream errors, no error, completed with `answer`.
    fn assert_recovered(&self, retries: usize, answer: &str) {
        assert_eq!(self.count("stream_error"), retries, "{:#?}", self.events);
        assert_eq!(self.count("error"), 0, "{:#?}", self.events);
        assert_eq!(self.count("exec_command_end"), 1, "{:#?}", self.events);
        assert_eq!(
            *self.terminal(),
            EventMsg::TaskComplete {
                last_agent_message: Some(answer.to_owned())
            }
        );
    }

    /// A plain text turn: no retries, no error, no command, completed with `answer`.
    fn assert_recovered_plain(&self, answer: &str) {
        assert_eq!(self.count("exec_command_begin"), 0, "{:#?}", self.events);
        assert_eq!(self.count("stream_error"), 0, "{:#?}", self.events);
        assert_eq!(self.count("error"), 0, "{:#?}", self.events);
        assert_eq!(
            *self.terminal(),
            EventMsg::TaskComplete {
                last_agent_message: Some(answer.to_owned())
            }
        );
    }

    /// The turn failed: `retries` stream errors, then one error (containing `needle`), then
    /// `task_complete`.
    fn assert_failed(&self, retries: usize, needle: &str) {
        assert_eq!(self.count("stream_error"), retries, "{:#?}", self.events);
        let errors: Vec<&EventMsg> = self
            .events
            .iter()
            .filter(|m| matches!(m, EventMsg::Error { .. }))
            .collect();
        assert_eq!(errors.len(), 1, "{:#?}", self.events);
        assert!(
            matches!(errors[0], EventMsg::Error { message } if message.contains(needle)),
            "{errors:?} should mention {needle:?}"
        );
        assert_eq!(
            self.events[self.events.len() - 2].kind(),
            "error",
            "the error comes right before the terminal event"
        );
        assert_eq!(
            *self.terminal(),
            EventMsg::TaskComplete {
                last_agent_message: None
            }
        );
    }
}

/// Invariant 5 on a request body: every function call has exactly one output, and every output
/// answers a call made before it.
fn calls_answered_once(i: usize, body: &Value) {
    let Some(input) = body["input"].as_array() else {
        panic!("request {i} has no input: {body}");
    };
    let mut calls: Vec<&str> = Vec::new();
    let mut outputs: Vec<&str> = Vec::new();
    for item in input {
        let call_id = item["call_id"].as_str().unwrap_or_default();
        match item["type"].as_str() {
            Some("function_call") => calls.push(call_id),
            Some("function_call_output") => {
                assert!(
                    calls.contains(&call_id),
                    "request {i}: output for {call_id} before or without its call"
                );
                outputs.push(call_id);
            }
            _ => {}
        }
    }
    for call in &calls {
        let n = outputs.iter().filter(|o| *o == call).count();
        assert_eq!(n, 1, "request {i}: call {call} has {n} outputs");
    }
    assert_eq!(calls.len(), outputs.len(), "request {i}: {input:#?}");
}

fn tool_call() -> MockResponse {
    MockResponse::sse(sse_responses_tool_call(
        "c1",
        "shell",
        r#"{"command":["echo","hi"]}"#,
        None,
    ))
}

fn text(deltas: &[&str]) -> MockResponse {
    MockResponse::sse(sse_responses_text(deltas, None))
}

/// The start of a response: created, then one text delta.
fn partial() -> String {
    let mut body = sse_event(&json!({
        "type": "response.created",
        "response": {"id": "resp_partial", "status": "in_progress"},
    }));
    body.push_str(&sse_event(&json!({
        "type": "response.output_text.delta",
        "item_id": "msg_partial",
        "output_index": 0,
        "content_index": 0,
        "delta": "par",
    })));
    body
}

fn user_count(recorded: &[Value], text: &str) -> usize {
    recorded
        .iter()
        .filter(|v| v["role"] == "user" && v.to_string().contains(text))
        .count()
}

#[tokio::test]
async fn connection_dropped_mid_stream_is_retried_and_the_turn_completes() {
    let mut f = Faulty::start(
        vec![
            tool_call(),
            MockResponse::sse(partial()).drop_mid_body(),
            text(&["recov", "ered"]),
            text(&["second ", "answer"]),
        ],
        Patience::default(),
    )
    .await;
    f.turn("first").await.assert_recovered(1, "recovered");
    f.turn("second")
        .await
        .assert_recovered_plain("second answer");
    assert_eq!(f.server.requests().len(), 4);
    let recorded = f.finish("second answer").await;
    let partials = recorded
        .iter()
        .filter(|v| v.to_string().contains("msg_partial"))
        .count();
    assert_eq!(partials, 0, "nothing of the broken attempt is recorded");
    assert_eq!(user_count(&recorded, "first"), 1);
}

#[tokio::test]
async fn rate_limit_with_retry_after_is_waited_out_and_the_turn_completes() {
    // A backoff of its own (7.5 s at least with this base) would outlast the event wait: the
    // turn only completes in time if the client waits the 0.1 s the server asked for.
    let patience = Patience {
        request_retries: 2,
        retry_base_delay_ms: 30_000,
        event_wait: Duration::from_secs(5),
        ..Patience::default()
    };
    let mut f = Faulty::start(
        vec![
            tool_call(),
            MockResponse::json(429, r#"{"error":{"message":"slow down"}}"#)
                .header("retry-after", "0.1"),
            text(&["after ", "the wait"]),
            text(&["second ", "answer"]),
        ],
        patience,
    )
    .await;
    // A request retry is one stream error too.
    f.turn("first").await.assert_recovered(1, "after the wait");
    f.turn("second")
        .await
        .assert_recovered_plain("second answer");
    assert_eq!(f.server.requests().len(), 4);
    f.finish("second answer").await;
}

#[tokio::test]
async fn server_errors_until_retries_run_out_end_the_turn_with_an_error() {
    let e500 = || MockResponse::json(500, r#"{"error":{"message":"upstream broke"}}"#);
    // Three request retries and as many stream retries configured: a 500 on every attempt is
    // tried 1 + 3 times, never (1 + 3) × (1 + 3).
    let patience = Patience {
        request_retries: 3,
        stream_retries: 3,
        ..Patience::default()
    };
    let mut f = Faulty::start(
        vec![
            tool_call(),
            e500(),
            e500(),
            e500(),
            e500(),
            text(&["second ", "answer"]),
        ],
        patience,
    )
    .await;
    let turn = f.turn("first").await;
    turn.assert_failed(3, "upstream broke");
    assert_eq!(f.server.requests().len(), 5);
    f.turn("second")
        .await
        .assert_recovered_plain("second answer");
    assert_eq!(f.server.requests().len(), 6);
    let recorded = f.finish("second answer").await;
    assert_eq!(user_count(&recorded, "first"), 1);
}

#[tokio::test]
async fn a_server_that_goes_silent_mid_stream_times_out_and_the_retry_completes() {
    let patience = Patience {
        idle_ms: 300,
        ..Patience::default()
    };
    let mut f = Faulty::start(
        vec![
            tool_call(),
            MockResponse::sse(partial()).hang_after_body(),
            text(&["woke ", "up"]),
            text(&["second ", "answer"]),
        ],
        patience,
    )
    .await;
    let turn = f.turn("first").await;
    turn.assert_recovered(1, "woke up");
    assert!(
        turn.events
            .iter()
            .any(|m| matches!(m, EventMsg::StreamError { message } if message.contains("idle"))),
        "{:#?}",
        turn.events
    );
    f.turn("second")
        .await
        .assert_recovered_plain("second answer");
    f.finish("second answer").await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_and_the_retry_completes() {
    let patience = Patience {
        idle_ms: 300,
        ..Patience::default()
    };
    let mut f = Faulty::start(
        vec![
            tool_call(),
            MockResponse::silent(),
            text(&["finally"]),
            text(&["second ", "answer"]),
        ],
        patience,
    )
    .await;
    f.turn("first").await.assert_recovered(1, "finally");
    f.turn("second")
        .await
        .assert_recovered_plain("second answer");
    f.finish("second answer").await;
}

#[tokio::test]
async fn a_garbage_data_line_fails_the_turn_and_the_next_turn_works() {
    let mut body = partial();
    body.push_str("data: {this is not json\n\n");
    let mut f = Faulty::start(
        vec![
            tool_call(),
            MockResponse::sse(body),
            text(&["second ", "answer"]),
        ],
        Patience::default(),
    )
    .await;
    f.turn("first").await.assert_failed(0, "malformed");
    f.turn("second")
        .await
        .assert_recovered_plain("second answer");
    let recorded = f.finish("second answer").await;
    assert_eq!(user_count(&recorded, "first"), 1);
}

#[tokio::test]
async fn an_oversized_line_fails_the_turn_and_the_next_turn_works() {
    // The parser's limit is 8 MiB and the provider config has no knob for it: send 9 MiB.
    let mut body = partial();
    body.push_str("data: {\"type\":\"response.output_text.delta\",\"delta\":\"");
    body.push_str(&"a".repeat(9 * 1024 * 1024));
    body.push_str("\"}\n\n");
    let mut f = Faulty::start(
        vec![
            tool_call(),
            MockResponse::sse(body),
            text(&["second ", "answer"]),
        ],
        Patience::default(),
    )
    .await;
    f.turn("first").await.assert_failed(0, "longer than");
    f.turn("second")
        .await
        .assert_recovered_plain("second answer");
    f.finish("second answer").await;
}

#[tokio::test]
async fn response_failed_surfaces_as_an_error_and_the_next_turn_works() {
    let mut body = partial();
    body.push_str(&sse_event(&json!({
        "type": "response.failed",
        "response": {"id": "resp_partial", "status": "failed",
                     "error": {"code": "server_error", "message": "the model fell over"}},
    })));
    // Hang after the body: the failure must end the request by itself, not the closed socket.
    let mut f = Faulty::start(
        vec![
            tool_call(),
            MockResponse::sse(body).hang_after_body(),
            text(&["second ", "answer"]),
        ],
        Patience::default(),
    )
    .await;
    f.turn("first")
        .await
        .assert_failed(0, "the model fell over");
    f.turn("second")
        .await
        .assert_recovered_plain("second answer");
    assert_eq!(f.server.requests().len(), 3);
    f.finish("second answer").await;
}
