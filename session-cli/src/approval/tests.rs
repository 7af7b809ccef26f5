//! Tests of reading approval requests and answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use session_core::{EventMsg, ReviewDecision};

use super::{Kind, Pending, parse_decision};
use crate::term::Style;

#[test]
fn answers_are_letters_or_words_in_any_case() {
    assert_eq!(parse_decision("y"), Some(ReviewDecision::Approved));
    assert_eq!(parse_decision(" YES "), Some(ReviewDecision::Approved));
    assert_eq!(
        parse_decision("a"),
        Some(ReviewDecision::ApprovedForSession)
    );
    assert_eq!(parse_decision("n"), Some(ReviewDecision::Denied));
    assert_eq!(parse_decision("x"), Some(ReviewDecision::Abort));
    assert_eq!(parse_decision(""), None);
    assert_eq!(parse_decision("maybe"), None);
}

#[test]
fn an_exec_request_becomes_a_question_with_the_command_and_its_directory() {
    let msg = EventMsg::ExecApprovalRequest {
        call_id: "c1".to_owned(),
        command: vec![
            "bash".to_owned(),
            "-lc".to_owned(),
            "rm -rf build".to_owned(),
        ],
        cwd: PathBuf::from("/work"),
        reason: Some("cleanup".to_owned()),
    };
    let pending = Pending::from_event(&msg).unwrap();
    assert_eq!(pending.kind, Kind::Exec);
    assert_eq!(pending.call_id, "c1");
    let question = pending.question(Style::plain());
    assert!(question.contains("$ rm -rf build"), "{question}");
    assert!(question.contains("in /work"), "{question}");
    assert!(question.contains("reason: cleanup"), "{question}");
    assert!(question.contains("[y] yes"), "{question}");
    assert!(
        pending
            .auto_denied_note()
            .contains("denied command `rm -rf build`")
    );
}

#[test]
fn other_events_are_not_requests() {
    let msg = EventMsg::AgentMessage {
        message: "hi".to_owned(),
    };
    assert_eq!(Pending::from_event(&msg), None);
}
