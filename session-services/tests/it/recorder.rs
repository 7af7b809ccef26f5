//! Tests of the recorder implementation.
//!
//! Real files in temp dirs: the round trip, torn tails cut at every byte, resume without
//! duplication, permissions, flush and shutdown; listing and finding in `listing`; the lock
//! that keeps a second session out in `lock`; lines resume does not know in `unknown_lines`;
//! I/O errors and their causes in `errors`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod listing;
mod lock;
mod unknown_lines;

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use session_services::{
    CompactedItem, JsonlRecorder, Recorder, RecorderError, RolloutItem, SessionMeta,
    count_recorded_turns, read_recording,
};
use session_state::{
    AskForApproval, ContentItem, EventMsg, HistoryItem, ReasoningSummaryPart, ResponseItem,
    SandboxPolicy, TokenUsage, TokenUsageInfo, TurnAbortReason, TurnContext,
};

/// Fails the test instead of hanging it.
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("timed out after 10 s")
}

/// 2026-11-25T18:54:22.123Z.
fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_632_862_123)
}

fn recorder(home: &Path) -> JsonlRecorder {
    JsonlRecorder::new(home.to_path_buf()).with_clock(Arc::new(fixed_time))
}

fn meta(id: &str, timestamp: &str, cwd: &str) -> SessionMeta {
    SessionMeta {
        id: id.to_owned(),
        timestamp: timestamp.to_owned(),
        cwd: PathBuf::from(cwd),
        model: "test-model".to_owned(),
        model_provider: "test".to_owned(),
        cli_version: "0.1.0".to_owned(),
    }
}

fn item(i: ResponseItem) -> Arc<HistoryItem> {
    Arc::new(HistoryItem::new(i))
}

fn response(i: &Arc<HistoryItem>) -> RolloutItem {
    RolloutItem::ResponseItem(Arc::clone(i))
}

fn call(call_id: &str, cmd: &str) -> Arc<HistoryItem> {
    item(ResponseItem::FunctionCall {
        id: None,
        name: "shell".to_owned(),
        arguments: format!(r#"{{"command":["bash","-lc","{cmd}"]}}"#),
        call_id: call_id.to_owned(),
    })
}

fn output(call_id: &str, text: &str) -> Arc<HistoryItem> {
    item(ResponseItem::FunctionCallOutput {
        call_id: call_id.to_owned(),
        output: text.to_owned(),
    })
}

fn token_info(total: u64) -> TokenUsageInfo {
    TokenUsageInfo {
        total_token_usage: TokenUsage {
            total_tokens: total,
            ..TokenUsage::default()
        },
        last_token_usage: TokenUsage::default(),
        model_context_window: Some(1000),
    }
}

fn turn_context(cwd: &str) -> TurnContext {
    TurnContext {
        cwd: PathBuf::from(cwd),
        model: "test-model".to_owned(),
        approval_policy: AskForApproval::OnRequest,
        sandbox_policy: SandboxPolicy::ReadOnly,
        effort: None,
        summary: None,
    }
}

fn lines_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "file ends mid-line");
    text.lines().map(str::to_owned).collect()
}

/// Start a recording with a user message and a tool call; returns its path and history.
async fn small_recording(rec: &JsonlRecorder) -> (PathBuf, Vec<Arc<HistoryItem>>) {
    let path = rec
        .start(meta("sess-1", "2026-11-25T18:54:22Z", "/work"))
        .await
        .unwrap();
    let history = vec![
        item(ResponseItem::user_text("list the files")),
        call("c1", "ls"),
        output("c1", "a.txt\nb.txt"),
        item(ResponseItem::assistant_text("There are two files.")),
    ];
    let mut lines: Vec<RolloutItem> = vec![RolloutItem::Event(EventMsg::UserMessage {
        message: "list the files".to_owned(),
    })];
    lines.extend(history.iter().map(response));
    rec.record(lines).await.unwrap();
    (path, history)
}

#[tokio::test]
async fn round_trip_gives_back_history_events_approvals_and_turn_context() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let path = rec
            .start(meta("sess-rt", "2026-11-25T18:54:22.5+00:00", "/work"))
            .await
            .unwrap();
        assert_eq!(
            path,
            home.path()
                .join("sessions/2026/11/25/rollout-2026-11-25T18-54-22-sess-rt.jsonl")
        );

        let before = [item(ResponseItem::user_text("old")), call("c0", "pwd")];
        let after = vec![
            item(ResponseItem::user_text("summary of earlier work")),
            item(ResponseItem::Reasoning {
                id: "r1".to_owned(),
                summary: vec![ReasoningSummaryPart::SummaryText {
                    text: "thinking".to_owned(),
                }],
                encrypted_content: Some("opaque".to_owned()),
            }),
            call("c1", "cat \\\"quoted\\\" ünïcode"),
            output("c1", "line 1\nline 2\t\u{1F600}"),
            item(ResponseItem::Message {
                id: Some("m1".to_owned()),
                role: "assistant".to_owned(),
                content: vec![ContentItem::OutputText {
                    text: "done".to_owned(),
                }],
            }),
        ];
        let events = vec![
            EventMsg::UserMessage {
                message: "old".to_owned(),
            },
            EventMsg::TokenCount {
                info: token_info(10),
                rate_limits: None,
            },
            EventMsg::TaskComplete {
                last_agent_message: None,
            },
            EventMsg::AgentMessage {
                message: "done".to_owned(),
            },
            EventMsg::TokenCount {
                info: token_info(42),
                rate_limits: None,
            },
            EventMsg::TurnAborted {
                reason: TurnAbortReason::Interrupted,
            },
        ];

        let mut first: Vec<RolloutItem> = vec![RolloutItem::TurnContext(turn_context("/first"))];
        first.extend(before.iter().map(response));
        first.push(RolloutItem::Event(events[0].clone()));
        first.push(RolloutItem::Event(events[1].clone()));
        first.push(RolloutItem::ApprovedCommand(vec!["ls".into(), "-la".into()]));
        first.push(RolloutItem::Event(events[2].clone()));
        rec.record(first).await.unwrap();
        rec.record(vec![RolloutItem::Compacted(CompactedItem {
            message: "summary".to_owned(),
        })])
        .await
        .unwrap();
        let mut second: Vec<RolloutItem> = after.iter().map(response).collect();
        second.push(RolloutItem::TurnContext(turn_context("/second")));
        second.extend(events[3..].iter().cloned().map(RolloutItem::Event));
        second.push(RolloutItem::ApprovedCommand(vec!["git".into(), "status".into()]));
        rec.record(second).await.unwrap();
        rec.shutdown().await.unwrap();

        let resumer = recorder(home.path());
        let resumed = resumer.resume(&path).await.unwrap();
        assert_eq!(resumed.path, path);
        assert_eq!(
            resumed.meta,
            Some(meta("sess-rt", "2026-11-25T18:54:22.5+00:00", "/work"))
        );
        assert_eq!(resumed.history, after, "history after the compaction");
        assert_eq!(resumed.events, events);
        assert_eq!(resumed.token_info, Some(token_info(42)));
        assert_eq!(
            resumed.approved_commands,
            vec![vec!["ls".to_owned(), "-la".to_owned()], vec![
                "git".to_owned(),
                "status".to_owned()
            ]]
        );
        assert_eq!(resumed.turn_context, Some(turn_context("/second")));
        assert_eq!(resumed.truncated_tail_bytes, 0);
        resumer.shutdown().await.unwrap();

        // Item lines are the cached JSON, byte for byte, and every line has the injected time.
        let text = std::fs::read_to_string(&path).unwrap();
        for h in before.iter().chain(&after) {
            let line = format!(
                r#"{{"timestamp":"2026-11-25T18:54:22.123Z","type":"response_item","payload":{}}}"#,
                h.json()
            );
            assert!(text.lines().any(|l| l == line), "missing {line}");
        }
        assert!(
            text.lines()
                .all(|l| l.starts_with(r#"{"timestamp":"2026-11-25T18:54:22.123Z","type":""#))
        );
        assert!(text.starts_with(r#"{"timestamp":"2026-11-25T18:54:22.123Z","type":"session_meta","payload":{"id":"sess-rt""#));
        assert_eq!(count_recorded_turns(&path).unwrap(), 2);
    })
    .await;
}

#[tokio::test]
async fn a_recording_cut_at_every_byte_of_its_last_line_resumes_and_appends_cleanly() {
    within(async {
        let source_home = tempfile::tempdir().unwrap();
        let rec = recorder(source_home.path());
        let (source, history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        let bytes = std::fs::read(&source).unwrap();
        let last_start = bytes[..bytes.len() - 1]
            .iter()
            .rposition(|b| *b == b'\n')
            .unwrap()
            + 1;
        let full_lines = lines_of(&source).len();
        let appended = item(ResponseItem::assistant_text("after resume"));

        for cut in last_start..=bytes.len() {
            let home = tempfile::tempdir().unwrap();
            let path = home.path().join("cut.jsonl");
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let whole = cut == bytes.len();
            let want_tail = if whole { 0 } else { (cut - last_start) as u64 };

            let read = read_recording(&path).unwrap();
            assert_eq!(read.truncated_tail_bytes, want_tail, "cut {cut}");

            let rec = recorder(home.path());
            let resumed = rec.resume(&path).await.unwrap();
            assert_eq!(resumed.truncated_tail_bytes, want_tail, "cut {cut}");
            let kept = if whole {
                &history[..]
            } else {
                &history[..history.len() - 1]
            };
            assert_eq!(resumed.history, kept, "cut {cut}");
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                if whole { cut } else { last_start } as u64,
                "resume cuts the torn tail, cut {cut}"
            );

            rec.record(vec![response(&appended)]).await.unwrap();
            rec.shutdown().await.unwrap();

            let back = read_recording(&path).unwrap();
            assert_eq!(back.truncated_tail_bytes, 0, "cut {cut}");
            let mut want = kept.to_vec();
            want.push(Arc::clone(&appended));
            assert_eq!(back.history, want, "cut {cut}");
            let lines = lines_of(&path);
            let want_lines = if whole { full_lines + 1 } else { full_lines };
            assert_eq!(lines.len(), want_lines, "cut {cut}");
            for line in &lines {
                serde_json::from_str::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("cut {cut}: corrupt line {line:?}: {e}"));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn resume_appends_exactly_what_is_recorded_without_duplicating() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, mut history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        let before = std::fs::read(&path).unwrap();

        for round in 0..3 {
            let rec = recorder(home.path());
            let resumed = rec.resume(&path).await.unwrap();
            assert_eq!(resumed.history, history, "round {round}");
            let lines_before = lines_of(&path).len();
            let added = vec![
                call(&format!("r{round}"), "echo hi"),
                output(&format!("r{round}"), "hi"),
            ];
            let mut batch: Vec<RolloutItem> = added.iter().map(response).collect();
            batch.push(RolloutItem::Event(EventMsg::TaskComplete {
                last_agent_message: None,
            }));
            rec.record(batch).await.unwrap();
            rec.shutdown().await.unwrap();
            assert_eq!(lines_of(&path).len(), lines_before + 3, "round {round}");
            history.extend(added);
        }
        let after = std::fs::read(&path).unwrap();
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "resume rewrote the start"
        );
        assert_eq!(read_recording(&path).unwrap().history, history);
        assert_eq!(count_recorded_turns(&path).unwrap(), 3);
    })
    .await;
}

#[tokio::test]
async fn a_malformed_middle_line_is_an_error_naming_its_line() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, _) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        let mut lines = lines_of(&path);
        lines.insert(
            3,
            r#"{"timestamp":"x","type":"response_item","payload":{"#.to_owned(),
        );
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();

        let err = read_recording(&path).unwrap_err();
        assert!(
            matches!(&err, RecorderError::Malformed { line: 4, path: p, .. } if *p == path),
            "{err:?}"
        );
        let err = recorder(home.path()).resume(&path).await.unwrap_err();
        assert!(
            matches!(err, RecorderError::Malformed { line: 4, .. }),
            "{err:?}"
        );
        assert!(matches!(
            count_recorded_turns(&path),
            Err(RecorderError::Malformed { line: 4, .. })
        ));
        assert_eq!(lines_of(&path), lines, "a failed resume changes nothing");

        // The same bad line as the last one is just as malformed: it is complete, so no torn
        // write, and resume keeps it and refuses.
        let mut last = lines[..4].to_vec();
        last.push(String::new());
        let last = last.join("\n");
        std::fs::write(&path, &last).unwrap();
        assert!(matches!(
            read_recording(&path),
            Err(RecorderError::Malformed { line: 4, .. })
        ));
        let err = recorder(home.path()).resume(&path).await.unwrap_err();
        assert!(
            matches!(err, RecorderError::Malformed { line: 4, .. }),
            "{err:?}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), last);

        // Without its newline it is only a torn tail.
        let torn = last.strip_suffix('\n').unwrap();
        std::fs::write(&path, torn).unwrap();
        let read = read_recording(&path).unwrap();
        assert_eq!(read.truncated_tail_bytes, lines[3].len() as u64);
    })
    .await;
}

#[tokio::test]
async fn a_file_that_does_not_start_with_session_meta_is_malformed_at_line_1() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("x.jsonl");
        std::fs::write(
            &path,
            "{\"timestamp\":\"t\",\"type\":\"event\",\"payload\":{\"type\":\"user_message\",\"message\":\"hi\"}}\n{\"timestamp\":\"t\",\"type\":\"compacted\",\"payload\":{\"message\":\"m\"}}\n",
        )
        .unwrap();
        assert!(matches!(
            read_recording(&path),
            Err(RecorderError::Malformed { line: 1, .. })
        ));
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            read_recording(&path),
            Err(RecorderError::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            read_recording(&home.path().join("missing.jsonl")),
            Err(RecorderError::Io { .. })
        ));
    })
    .await;
}

/// Restores the process umask when dropped, also when an assertion fails.
struct UmaskGuard(libc::mode_t);

impl Drop for UmaskGuard {
    fn drop(&mut self) {
        // SAFETY: umask only swaps the process's file mode mask; it cannot fail.
        unsafe { libc::umask(self.0) };
    }
}

#[tokio::test]
async fn files_are_0600_and_folders_0700_even_with_umask_0() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let home = home.path().join("home");
        // SAFETY: as above.
        let _restore = UmaskGuard(unsafe { libc::umask(0) });
        let rec = recorder(&home);
        let (path, _) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        drop(_restore);

        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "file");
        let mut dir = path.parent().unwrap();
        for _ in 0..4 {
            assert_eq!(mode(dir), 0o700, "{}", dir.display());
            dir = dir.parent().unwrap();
        }
        assert_eq!(dir, home);
        assert_eq!(mode(&home), 0o700, "home we created");
    })
    .await;
}

#[tokio::test]
async fn flush_makes_recorded_lines_readable_before_shutdown() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.flush().await.unwrap();
        let read = read_recording(&path).unwrap();
        assert_eq!(read.history, history);
        assert_eq!(read.truncated_tail_bytes, 0);

        let more = item(ResponseItem::assistant_text("more"));
        rec.record(vec![response(&more)]).await.unwrap();
        rec.flush().await.unwrap();
        assert_eq!(
            read_recording(&path).unwrap().history.len(),
            history.len() + 1
        );
        rec.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn shutdown_twice_is_fine_and_recording_after_it_is_not_open() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        assert!(matches!(
            rec.record(vec![RolloutItem::ApprovedCommand(vec!["ls".into()])])
                .await,
            Err(RecorderError::NotOpen)
        ));
        assert!(matches!(rec.flush().await, Err(RecorderError::NotOpen)));

        let (path, history) = small_recording(&rec).await;
        assert!(
            rec.start(meta("other", "2026-11-25T18:54:22Z", "/w"))
                .await
                .is_err(),
            "a second start while open"
        );
        rec.shutdown().await.unwrap();
        rec.shutdown().await.unwrap();
        rec.flush().await.unwrap();
        assert!(matches!(
            rec.record(vec![response(&history[0])]).await,
            Err(RecorderError::NotOpen)
        ));
        assert_eq!(read_recording(&path).unwrap().history, history);
    })
    .await;
}

#[tokio::test]
async fn a_dropped_recorder_still_writes_out_what_it_was_given() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        drop(rec);
        // The writer ends on its own once its channel closes; poll until it has written.
        loop {
            if read_recording(&path).unwrap().history == history {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}
