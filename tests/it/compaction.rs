//! Compaction through the façade: a manual `compact` turn, automatic compaction past a token
//! limit (mid-turn and when it does not help), and `AutoCompact::Off`.

use session_core::services::{ModelEvent, RolloutItem, ScriptedResponse};
use session_core::{AskForApproval, AutoCompact, EventMsg, Op, ResponseItem};
use session_testkit::{FakeRun, FakeShell};

use crate::support::{Harness, config, next_request, user_texts};

const SUMMARY_PROMPT_START: &str = "Summarize the conversation so far";
const SUMMARY_PREFIX: &str = "Summary of the conversation before compaction:\n";

fn request_bytes(req: &session_core::services::ModelRequest) -> usize {
    req.input.to_json_array().len()
}

#[tokio::test]
async fn manual_compact_replaces_history_with_context_user_messages_and_the_summary() {
    let big_log = "a log line that goes on\n".repeat(200);
    let shell = FakeShell::with(&[("cat big.log", FakeRun::Output(big_log, 0))]);
    let mut h = Harness::start_with(
        vec![
            ScriptedResponse::new().text("first answer", 1),
            ScriptedResponse::new().shell_call("c1", &["cat", "big.log"]),
            ScriptedResponse::new().text("second answer", 1),
            ScriptedResponse::new().text("SUMMARY: two questions, one log read", 2),
            ScriptedResponse::new().text("third answer", 1),
        ],
        config(AskForApproval::Never),
        shell,
    )
    .await;
    h.session.user_input("first question").await.unwrap();
    h.until_turn_ends().await;
    h.session.user_input("second question").await.unwrap();
    h.until_turn_ends().await;

    let compact = h.session.submit(Op::Compact).await.unwrap();
    let started = h.until("task_started").await;
    assert_eq!(started.id, compact);
    let end = h.until_turn_ends().await;
    assert_eq!(end.id, compact);
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: None
        }
    );

    h.session.user_input("third question").await.unwrap();
    h.until_turn_ends().await;

    let requests = h.model.requests();
    assert_eq!(requests.len(), 5);
    let summary_request = &requests[3];
    assert!(summary_request.tools.is_empty());
    let asked = user_texts(summary_request);
    assert!(
        asked.last().unwrap().starts_with(SUMMARY_PROMPT_START),
        "{asked:?}"
    );
    let after = &requests[4];
    let texts = user_texts(after);
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert!(texts[0].starts_with("<environment_context>"), "{texts:?}");
    assert_eq!(texts[1], "first question");
    assert_eq!(texts[2], "second question");
    assert_eq!(
        texts[3],
        format!("{SUMMARY_PREFIX}SUMMARY: two questions, one log read")
    );
    assert_eq!(texts[4], "third question");
    assert_eq!(
        after.input.len(),
        5,
        "nothing but user messages survives compaction"
    );
    assert!(
        request_bytes(after) * 4 < request_bytes(summary_request),
        "after: {} bytes, before: {} bytes",
        request_bytes(after),
        request_bytes(summary_request)
    );

    // The recording: a compacted marker carrying the summary, then exactly the new history.
    let lines = h.recorder.lines();
    let marker = lines
        .iter()
        .position(|l| matches!(l, RolloutItem::Compacted(_)))
        .expect("a compacted line");
    let RolloutItem::Compacted(item) = &lines[marker] else {
        unreachable!()
    };
    assert_eq!(item.message, "SUMMARY: two questions, one log read");
    let replaced: Vec<ResponseItem> = lines[marker + 1..]
        .iter()
        .filter_map(|l| match l {
            RolloutItem::ResponseItem(i) => Some(i.item().clone()),
            _ => None,
        })
        .take(4)
        .collect();
    let sent: Vec<ResponseItem> = after.input.parsed().take(4).collect();
    assert_eq!(replaced, sent);
    assert!(
        matches!(lines[marker + 1], RolloutItem::ResponseItem(_)),
        "the new history follows the marker at once"
    );
    insta::assert_snapshot!("manual_compact", h.finish().await);
}

#[tokio::test]
async fn compact_while_a_turn_runs_is_refused_with_an_error() {
    let (mut h, mut model) =
        Harness::start_by_hand(config(AskForApproval::Never), FakeShell::with(&[])).await;
    h.session.user_input("go").await.unwrap();
    // The model's answer stays open until the refusal is seen: the turn surely still runs.
    let answer = next_request(&mut model).await.stream();
    answer.send(ModelEvent::OutputTextDelta("slow".into()));
    h.until("agent_message_delta").await;
    let compact = h.session.submit(Op::Compact).await.unwrap();
    let err = h.until("error").await;
    assert_eq!(err.id, compact);
    answer.send(ModelEvent::OutputItemDone(ResponseItem::assistant_text(
        "slow",
    )));
    answer.complete();
    h.until_turn_ends().await;
    h.finish().await;
    assert!(
        model.try_next_request().is_none(),
        "no summary was requested"
    );
}

#[tokio::test]
async fn over_the_token_limit_the_turn_compacts_before_its_next_request() {
    let mut cfg = config(AskForApproval::Never);
    cfg.auto_compact = AutoCompact::Tokens(400);
    let mut h = Harness::start_with(
        vec![
            ScriptedResponse::new()
                .shell_call("c1", &["ls"])
                .usage(450, 50),
            ScriptedResponse::new().text("SUMMARY: listed the files", 1),
            ScriptedResponse::new().text("all done", 1),
        ],
        cfg,
        FakeShell::with(&[]),
    )
    .await;
    h.session.user_input("list the files").await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("all done".into())
        }
    );
    let requests = h.model.requests();
    assert_eq!(requests.len(), 3);
    let summary = user_texts(&requests[1]);
    assert!(
        summary.last().unwrap().starts_with(SUMMARY_PROMPT_START),
        "the request after the over-limit response asks for a summary: {summary:?}"
    );
    assert!(
        requests[1]
            .input
            .items()
            .iter()
            .any(|i| i.output_call_id().as_deref() == Some("c1")),
        "the summary request sees the tool output"
    );
    let next = user_texts(&requests[2]);
    assert_eq!(
        next.last().unwrap(),
        &format!("{SUMMARY_PREFIX}SUMMARY: listed the files")
    );
    assert!(next.contains(&"list the files".to_owned()), "{next:?}");
    assert!(
        requests[2]
            .input
            .items()
            .iter()
            .all(|i| i.call_id().is_none())
    );
    assert_eq!(h.seen("error").len(), 0);
    insta::assert_snapshot!("auto_compact_mid_turn", h.finish().await);
}

#[tokio::test]
async fn over_the_token_limit_at_the_end_of_a_turn_compacts_before_the_turn_completes() {
    let mut cfg = config(AskForApproval::Never);
    cfg.auto_compact = AutoCompact::Tokens(400);
    let mut h = Harness::start_with(
        vec![
            ScriptedResponse::new()
                .text("a long answer", 1)
                .usage(480, 20),
            ScriptedResponse::new().text("SUMMARY: answered at length", 1),
            ScriptedResponse::new().text("short now", 1),
        ],
        cfg,
        FakeShell::with(&[]),
    )
    .await;
    h.session.user_input("explain").await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("a long answer".into())
        }
    );
    assert_eq!(
        h.model.requests().len(),
        2,
        "the summary is asked within the turn"
    );
    assert!(
        user_texts(&h.model.requests()[1])
            .last()
            .unwrap()
            .starts_with(SUMMARY_PROMPT_START)
    );
    h.session.user_input("and then?").await.unwrap();
    h.until_turn_ends().await;
    let next = user_texts(&h.model.requests()[2]);
    assert_eq!(
        next[1..],
        [
            "explain".to_owned(),
            format!("{SUMMARY_PREFIX}SUMMARY: answered at length"),
            "and then?".to_owned()
        ]
    );
    insta::assert_snapshot!("auto_compact_end_of_turn", h.finish().await);
}

#[tokio::test]
async fn when_compaction_cannot_get_under_the_limit_the_turn_reports_an_error_and_ends() {
    let mut cfg = config(AskForApproval::Never);
    cfg.auto_compact = AutoCompact::Tokens(100);
    let huge_summary = "detail ".repeat(500);
    let mut h = Harness::start_with(
        vec![
            ScriptedResponse::new()
                .shell_call("c1", &["ls"])
                .usage(450, 50),
            ScriptedResponse::new().text(huge_summary, 1),
            ScriptedResponse::new().text("next turn works", 1),
        ],
        cfg,
        FakeShell::with(&[]),
    )
    .await;
    h.session.user_input("list").await.unwrap();
    let err = h.until("error").await;
    let EventMsg::Error { message } = &err.msg else {
        unreachable!()
    };
    assert!(
        message.contains("after compaction") && message.contains("limit of 100"),
        "{message}"
    );
    let end = h.until_turn_ends().await;
    assert!(matches!(end.msg, EventMsg::TaskComplete { .. }));
    assert_eq!(
        h.model.requests().len(),
        2,
        "the turn stops after the error"
    );

    h.session.user_input("still there?").await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("next turn works".into())
        }
    );
    insta::assert_snapshot!("auto_compact_still_over_limit", h.finish().await);
}

#[tokio::test]
async fn auto_compact_off_never_compacts_whatever_the_usage() {
    let mut cfg = config(AskForApproval::Never);
    cfg.auto_compact = AutoCompact::Off;
    cfg.context_window = Some(1_000);
    let mut h = Harness::start_with(
        vec![
            ScriptedResponse::new()
                .shell_call("c1", &["ls"])
                .usage(900_000, 100_000),
            ScriptedResponse::new()
                .text("done", 1)
                .usage(950_000, 100_000),
        ],
        cfg,
        FakeShell::with(&[]),
    )
    .await;
    h.session.user_input("list").await.unwrap();
    h.until_turn_ends().await;
    let requests = h.model.requests();
    assert_eq!(requests.len(), 2, "no summary request");
    for r in &requests {
        assert!(
            !user_texts(r)
                .iter()
                .any(|t| t.starts_with(SUMMARY_PROMPT_START))
        );
    }
    assert!(
        !h.recorder
            .lines()
            .iter()
            .any(|l| matches!(l, RolloutItem::Compacted(_)))
    );
    assert!(h.seen("background_event").is_empty());
    h.finish().await;
}
