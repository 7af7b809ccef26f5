//! Resume through the façade with the real JSONL recorder on a temp dir: what comes back
//! (replayed events, history, token totals, session approvals) and what the file looks like
//! afterwards (appended, never rewritten, never duplicated, durable after shutdown).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use session_core::services::{JsonlRecorder, ScriptedResponse, read_recording};
use session_core::{AskForApproval, EventMsg, ReviewDecision};
use session_testkit::FakeShell;

use crate::support::{Harness, Ports, config, tool_outputs};

fn ports(home: &Path, shell: &Arc<FakeShell>) -> Ports {
    Ports {
        recorder: Some(Arc::new(JsonlRecorder::new(home.to_path_buf()))),
        shell: Some(shell.clone()),
        ..Ports::default()
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A line without its timestamp: what it records.
fn payload(line: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    v.as_object_mut().unwrap().remove("timestamp");
    v.to_string()
}

fn token_totals(h: &Harness) -> Vec<u64> {
    h.seen("token_count")
        .iter()
        .map(|e| match &e.msg {
            EventMsg::TokenCount { info, .. } => info.total_token_usage.total_tokens,
            _ => unreachable!(),
        })
        .collect()
}

/// First run: one turn that runs a command approved for the session. Returns the recording.
async fn first_run(home: &Path, shell: &Arc<FakeShell>) -> PathBuf {
    let mut h = Harness::start_with_services(
        vec![
            ScriptedResponse::new()
                .shell_call("c1", &["make", "test"])
                .usage(100, 20),
            ScriptedResponse::new().text("built it", 1).usage(150, 30),
        ],
        config(AskForApproval::Untrusted),
        ports(home, shell),
    )
    .await;
    h.session.user_input("build please").await.unwrap();
    h.until("exec_approval_request").await;
    h.session
        .approve_exec("c1", ReviewDecision::ApprovedForSession)
        .await
        .unwrap();
    h.until_turn_ends().await;
    assert_eq!(token_totals(&h), vec![120, 300]);
    let path = h.session.rollout_path().to_path_buf();
    assert!(
        path.starts_with(home.join("sessions")),
        "{}",
        path.display()
    );
    h.finish().await;
    path
}

#[tokio::test]
async fn a_resumed_session_continues_history_tokens_and_approvals_and_appends_to_its_recording() {
    let home = tempfile::tempdir().unwrap();
    let shell = FakeShell::with(&[]);
    let path = first_run(home.path(), &shell).await;
    let before_bytes = std::fs::read(&path).unwrap();
    let before = lines(&path);

    let mut h = Harness::resume_with_services(
        vec![
            ScriptedResponse::new()
                .shell_call("c2", &["make", "test"])
                .usage(200, 10),
            ScriptedResponse::new()
                .text("built again", 1)
                .usage(260, 10),
        ],
        config(AskForApproval::Untrusted),
        ports(home.path(), &shell),
        &path,
    )
    .await;

    // session_configured replays what the first run said.
    let EventMsg::SessionConfigured {
        session_id,
        rollout_path,
        initial_messages,
        ..
    } = &h.events[0].msg
    else {
        unreachable!()
    };
    assert_eq!(session_id, "session-1");
    assert_eq!(rollout_path, &path);
    let replayed = initial_messages.as_ref().expect("initial messages");
    let kinds: Vec<&str> = replayed.iter().map(EventMsg::kind).collect();
    assert_eq!(
        kinds,
        [
            "user_message",
            "token_count",
            "agent_message",
            "token_count",
            "task_complete"
        ]
    );
    assert!(replayed.contains(&EventMsg::UserMessage {
        message: "build please".into()
    }));
    assert!(replayed.contains(&EventMsg::AgentMessage {
        message: "built it".into()
    }));

    h.session.user_input("once more").await.unwrap();
    h.until_turn_ends().await;

    assert!(
        h.seen("exec_approval_request").is_empty(),
        "a command approved for the session in the first run runs unasked after resume"
    );
    assert_eq!(shell.runs().len(), 2);
    let first_request = &h.model.requests()[0];
    let history: Vec<String> = first_request
        .input
        .parsed()
        .filter_map(|i| i.message_text())
        .collect();
    assert!(history.contains(&"build please".to_owned()), "{history:?}");
    assert!(history.contains(&"built it".to_owned()), "{history:?}");
    assert_eq!(history.last().unwrap(), "once more");
    assert!(tool_outputs(first_request)[0].contains("ran make test"));
    assert_eq!(
        token_totals(&h),
        vec![510, 780],
        "token totals continue from the recorded 300"
    );
    insta::assert_snapshot!("resumed_turn", h.finish().await);

    // The recording was appended to: old bytes untouched, new lines after them, none twice.
    let after_bytes = std::fs::read(&path).unwrap();
    assert!(after_bytes.starts_with(&before_bytes));
    let after = lines(&path);
    assert!(after.len() > before.len());
    assert_eq!(after[..before.len()], before[..]);
    let mut seen = HashSet::new();
    for line in &after {
        assert!(seen.insert(payload(line)), "line recorded twice: {line}");
    }

    // And it is durable and complete: reading it back gives both turns.
    let read = read_recording(&path).unwrap();
    assert_eq!(read.truncated_tail_bytes, 0);
    assert_eq!(read.meta.unwrap().id, "session-1");
    let texts: Vec<String> = read
        .history
        .iter()
        .filter_map(|i| i.item().message_text())
        .collect();
    assert!(texts[0].starts_with("<environment_context>"));
    assert_eq!(
        texts[1..],
        ["build please", "built it", "once more", "built again"].map(String::from)
    );
    let calls: Vec<String> = read
        .history
        .iter()
        .filter_map(|i| i.call_id().map(|c| c.into_owned()))
        .collect();
    assert_eq!(calls, ["c1", "c2"]);
    assert_eq!(
        read.approved_commands,
        vec![vec!["make".to_owned(), "test".to_owned()]]
    );
    assert_eq!(read.token_info.unwrap().total_token_usage.total_tokens, 780);
    let terminals = read.events.iter().filter(|e| e.is_turn_terminal()).count();
    assert_eq!(terminals, 2);
}

#[tokio::test]
async fn shutdown_leaves_a_durable_recording_that_reads_back_whole() {
    let home = tempfile::tempdir().unwrap();
    let shell = FakeShell::with(&[]);
    let mut h = Harness::start_with_services(
        vec![ScriptedResponse::new().text("hello", 3).usage(5, 5)],
        config(AskForApproval::Never),
        ports(home.path(), &shell),
    )
    .await;
    h.session.user_input("hi").await.unwrap();
    h.until_turn_ends().await;
    let path = h.session.rollout_path().to_path_buf();
    let shape = h.finish().await;
    assert!(shape.ends_with("shutdown_complete"));
    let read = read_recording(&path).unwrap();
    assert_eq!(read.truncated_tail_bytes, 0);
    let items: Vec<String> = read
        .history
        .iter()
        .filter_map(|i| i.item().message_text())
        .collect();
    assert_eq!(items.len(), 3);
    assert_eq!(items[1..], ["hi", "hello"].map(String::from));
    assert_eq!(
        read.events.last(),
        Some(&EventMsg::TaskComplete {
            last_agent_message: Some("hello".into())
        })
    );
    assert!(std::fs::read_to_string(&path).unwrap().ends_with('\n'));
}

#[tokio::test]
async fn a_recording_cut_off_at_any_line_or_mid_line_resumes_into_a_well_formed_history() {
    let home = tempfile::tempdir().unwrap();
    let shell = FakeShell::with(&[]);
    let full = std::fs::read(first_run(home.path(), &shell).await).unwrap();
    let line_ends: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    // Every cut after the session_meta line: at each line end, and in the middle of the next.
    let mut cuts = Vec::new();
    for pair in line_ends.windows(2) {
        cuts.push(pair[0]);
        cuts.push((pair[0] + pair[1]) / 2);
    }
    cuts.push(full.len());
    let mut cuts_with_an_open_call = 0;
    for cut in cuts {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.jsonl");
        std::fs::write(&path, &full[..cut]).unwrap();
        let whole_lines = line_ends
            .iter()
            .copied()
            .filter(|e| *e <= cut)
            .max()
            .unwrap();

        let mut h = Harness::resume_with_services(
            vec![ScriptedResponse::new().text("resumed", 1)],
            config(AskForApproval::Untrusted),
            ports(dir.path(), &shell),
            &path,
        )
        .await;
        h.session.user_input("carry on").await.unwrap();
        let end = h.until_turn_ends().await;
        assert_eq!(
            end.msg,
            EventMsg::TaskComplete {
                last_agent_message: Some("resumed".into())
            },
            "cut at byte {cut}"
        );
        let kept = String::from_utf8_lossy(&full[..whole_lines]);
        if kept.contains("\"type\":\"function_call\"")
            && !kept.contains("\"type\":\"function_call_output\"")
        {
            cuts_with_an_open_call += 1;
            let outputs = tool_outputs(&h.model.requests()[0]);
            assert_eq!(outputs.len(), 1, "cut at byte {cut}");
            assert!(
                outputs[0].starts_with("aborted: the session ended"),
                "cut at byte {cut}: the unanswered call is closed: {outputs:?}"
            );
        }
        // `finish` checks that every request sent to the model was well formed.
        h.finish().await;

        let after = std::fs::read(&path).unwrap();
        assert_eq!(
            after[..whole_lines],
            full[..whole_lines],
            "cut at byte {cut}: whole lines are kept as they were"
        );
        let text = String::from_utf8(after).unwrap();
        let mut seen = HashSet::new();
        for line in text.lines() {
            assert!(
                seen.insert(payload(line)),
                "cut at byte {cut}: line recorded twice: {line}"
            );
        }
        let read = read_recording(&path).unwrap();
        assert_eq!(read.truncated_tail_bytes, 0, "cut at byte {cut}");
        let mut history = session_state::ConversationHistory::new();
        history.record_shared(read.history);
        history
            .check_well_formed()
            .unwrap_or_else(|e| panic!("cut at byte {cut}: recorded history: {e}"));
    }
    assert!(
        cuts_with_an_open_call >= 2,
        "some cuts fall between the call and its output"
    );
}
