//! Serializing and parsing one event of each kind of the wire protocol (PROTOCOL.md), as
//! `session proto` does for every line it writes and an editor client does for every line it
//! reads.
//!
//! `cargo bench -p session-state --bench protocol` shows divan's table; `cargo xtask bench`
//! runs it with `SESSION_BENCH_JSON=1` for the report. Numbers only: nothing here asserts a
//! speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/harness.rs"]
mod harness;

use std::sync::LazyLock;
use std::time::Duration;

use divan::Bencher;
use harness::{CountingAlloc, Figure};
use session_state::Event;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One line of each event kind, as the protocol's wire-format snapshot shows them.
const LINES: &[&str] = &[
    r#"{"id":"","msg":{"type":"session_configured","session_id":"0190-abcd","model":"gpt-test","rollout_path":"/home/u/.sessions/0190-abcd.jsonl"}}"#,
    r#"{"id":"1","msg":{"type":"task_started","model_context_window":200000}}"#,
    r#"{"id":"1","msg":{"type":"task_complete","last_agent_message":"done"}}"#,
    r#"{"id":"1","msg":{"type":"turn_aborted","reason":"interrupted"}}"#,
    r#"{"id":"1","msg":{"type":"error","message":"bad"}}"#,
    r#"{"id":"1","msg":{"type":"stream_error","message":"stream disconnected; retrying 1/5"}}"#,
    r#"{"id":"1","msg":{"type":"background_event","message":"compacting"}}"#,
    r#"{"id":"1","msg":{"type":"user_message","message":"list the files"}}"#,
    r#"{"id":"1","msg":{"type":"agent_message_delta","delta":"Here"}}"#,
    r#"{"id":"1","msg":{"type":"agent_message","message":"Here they are"}}"#,
    r#"{"id":"1","msg":{"type":"agent_reasoning_delta","delta":"Think"}}"#,
    r#"{"id":"1","msg":{"type":"agent_reasoning","text":"Thinking about it"}}"#,
    r#"{"id":"1","msg":{"type":"exec_approval_request","call_id":"call_1","command":["rm","-rf","build"],"cwd":"/repo","reason":"writes outside the sandbox"}}"#,
    r#"{"id":"1","msg":{"type":"exec_command_begin","call_id":"call_1","command":["bash","-lc","ls"],"cwd":"/repo"}}"#,
    r#"{"id":"1","msg":{"type":"exec_command_output_delta","call_id":"call_1","stream":"stdout","chunk":"YS50eHQKYi50eHQK"}}"#,
    r#"{"id":"1","msg":{"type":"exec_command_end","call_id":"call_1","stdout":"a.txt\n","stderr":"warn\n","aggregated_output":"a.txt\nwarn\n","exit_code":0,"duration_ms":42,"formatted_output":"Exit code: 0\nOutput:\na.txt\nwarn\n"}}"#,
    r#"{"id":"1","msg":{"type":"apply_patch_approval_request","call_id":"call_2","changes":{"/repo/new.txt":{"type":"add","content":"hello\n"},"/repo/old.txt":{"type":"delete"},"/repo/src/lib.rs":{"type":"update","unified_diff":"@@ -1 +1 @@\n-a\n+b\n","move_path":"/repo/src/main.rs"}},"reason":"touches files outside cwd"}}"#,
    r#"{"id":"1","msg":{"type":"patch_apply_begin","call_id":"call_2","auto_approved":true,"changes":{"/repo/new.txt":{"type":"add","content":"hello\n"}}}}"#,
    r#"{"id":"1","msg":{"type":"patch_apply_end","call_id":"call_2","stdout":"Success. Updated the following files:\nA new.txt\n","stderr":"","success":true}}"#,
    r#"{"id":"1","msg":{"type":"turn_diff","unified_diff":"diff --git a/x b/x\n"}}"#,
    r#"{"id":"1","msg":{"type":"token_count","info":{"total_token_usage":{"input_tokens":1200,"cached_input_tokens":200,"output_tokens":300,"reasoning_output_tokens":100,"total_tokens":1500},"last_token_usage":{"input_tokens":700,"cached_input_tokens":200,"output_tokens":50,"reasoning_output_tokens":10,"total_tokens":750},"model_context_window":200000},"rate_limits":{"requests":{"limit":100,"remaining":90,"resets_in_seconds":30},"tokens":{"limit":10000,"remaining":5000}}}}"#,
    r#"{"id":"10","msg":{"type":"conversation_path","conversation_id":"0190-abcd","path":"/home/u/.sessions/0190-abcd.jsonl"}}"#,
    r#"{"id":"11","msg":{"type":"shutdown_complete"}}"#,
];

/// The events of [`LINES`], parsed once.
static EVENTS: LazyLock<Vec<Event>> = LazyLock::new(|| {
    LINES
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
});

fn main() {
    if harness::json_mode() {
        report();
    } else {
        divan::main();
    }
}

fn serialize_all(events: &[Event]) -> usize {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap().len())
        .sum()
}

fn parse_all(lines: &[&str]) -> usize {
    lines
        .iter()
        .map(|l| serde_json::from_str::<Event>(l).unwrap().id.len())
        .sum()
}

/// Serialize one event of each kind.
#[divan::bench]
fn serialize_one_of_each(bencher: Bencher<'_, '_>) {
    let events = &*EVENTS;
    bencher.bench(|| serialize_all(events));
}

/// Parse one line of each event kind.
#[divan::bench]
fn parse_one_of_each(bencher: Bencher<'_, '_>) {
    bencher.bench(|| parse_all(LINES));
}

fn report() {
    let events = &*EVENTS;
    // The round trip must hold, or the timings measure the wrong thing.
    for (line, event) in LINES.iter().zip(events) {
        let back: Event = serde_json::from_str(&serde_json::to_string(event).unwrap()).unwrap();
        assert_eq!(&back, event, "round trip of {line}");
    }
    let size = format!("one of each of {} kinds", LINES.len());
    let samples = harness::samples(20, 50);
    let budget = Duration::from_millis(20);
    let started = std::time::Instant::now();
    serialize_all(events);
    let iters = harness::iters_for(started.elapsed(), budget);
    let ser = harness::time_iters(samples, iters, || serialize_all(events));
    Figure::times("protocol.serialize", size.clone(), &ser)
        .note("serde_json::to_string of every event; time for the whole set")
        .emit();
    let started = std::time::Instant::now();
    parse_all(LINES);
    let iters = harness::iters_for(started.elapsed(), budget);
    let parse = harness::time_iters(samples, iters, || parse_all(LINES));
    Figure::times("protocol.parse", size, &parse)
        .note("serde_json::from_str::<Event> of every line; time for the whole set")
        .emit();
}
