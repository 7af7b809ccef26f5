//! Tests of `protocol`: the JSON wire form of every op and event, checked against PROTOCOL.md by a
//! named snapshot, round trips, and `parse_submission` on good and bad lines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod proptests;
mod samples;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};

use self::samples::{
    ALL_EVENT_KINDS, ALL_OP_KINDS, event_kind_exhaustive, op_kind, sample_events,
    sample_input_items, sample_submissions, text,
};
use super::*;
fn compact<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

fn line<T: Serialize>(out: &mut String, label: &str, value: &T) {
    out.push_str(label);
    out.push_str(": ");
    out.push_str(&compact(value));
    out.push('\n');
}

fn snapshot_in_crate_folder(name: &str, value: &str) {
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!(name, value);
    });
}

#[test]
fn wire_format_of_every_op_event_and_value_matches_the_snapshot() {
    let mut out = String::new();
    out.push_str("# submissions\n");
    for (label, s) in sample_submissions() {
        line(&mut out, &format!("op {label}"), &s);
    }
    out.push_str("# events\n");
    for (label, e) in sample_events() {
        line(&mut out, &format!("event {label}"), &e);
    }
    out.push_str("# input items\n");
    for (label, i) in sample_input_items() {
        line(&mut out, &format!("input {label}"), &i);
    }
    out.push_str("# review decisions\n");
    for d in [
        ReviewDecision::Approved,
        ReviewDecision::ApprovedForSession,
        ReviewDecision::Denied,
        ReviewDecision::Abort,
    ] {
        line(&mut out, &format!("decision {d:?}"), &d);
    }
    out.push_str("# approval policies\n");
    for p in [
        AskForApproval::Untrusted,
        AskForApproval::OnFailure,
        AskForApproval::OnRequest,
        AskForApproval::Never,
    ] {
        line(&mut out, &format!("approval {p:?}"), &p);
    }
    out.push_str("# sandbox policies\n");
    for (label, p) in [
        ("read-only", SandboxPolicy::ReadOnly),
        (
            "workspace-write defaults",
            SandboxPolicy::WorkspaceWrite {
                writable_roots: Vec::new(),
                network_access: false,
                exclude_tmp: false,
            },
        ),
        (
            "workspace-write with roots and network",
            SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![PathBuf::from("/tmp"), PathBuf::from("/var/cache")],
                network_access: true,
                exclude_tmp: false,
            },
        ),
        (
            "workspace-write without tmp",
            SandboxPolicy::WorkspaceWrite {
                writable_roots: Vec::new(),
                network_access: false,
                exclude_tmp: true,
            },
        ),
        ("danger-full-access", SandboxPolicy::DangerFullAccess),
    ] {
        line(&mut out, &format!("sandbox {label}"), &p);
    }
    out.push_str("# file changes\n");
    for (label, c) in [
        (
            "add",
            FileChange::Add {
                content: "x\n".to_owned(),
            },
        ),
        ("delete", FileChange::Delete),
        (
            "update",
            FileChange::Update {
                unified_diff: "@@ -1 +1 @@\n-a\n+b\n".to_owned(),
                move_path: None,
            },
        ),
        (
            "update with move",
            FileChange::Update {
                unified_diff: String::new(),
                move_path: Some(PathBuf::from("/repo/b.txt")),
            },
        ),
    ] {
        line(&mut out, &format!("change {label}"), &c);
    }
    out.push_str("# reasoning\n");
    for e in [
        ReasoningEffort::Minimal,
        ReasoningEffort::Low,
        ReasoningEffort::Medium,
        ReasoningEffort::High,
    ] {
        line(&mut out, &format!("effort {e:?}"), &e);
    }
    for s in [
        ReasoningSummary::Auto,
        ReasoningSummary::Concise,
        ReasoningSummary::Detailed,
        ReasoningSummary::None,
    ] {
        line(&mut out, &format!("summary {s:?}"), &s);
    }
    snapshot_in_crate_folder("protocol_wire_format", &out);
}

#[test]
fn samples_cover_every_op_kind_of_the_protocol() {
    let covered: BTreeSet<&str> = sample_submissions()
        .iter()
        .map(|(_, s)| op_kind(&s.op))
        .collect();
    let all: BTreeSet<&str> = ALL_OP_KINDS.into_iter().collect();
    assert_eq!(covered, all);
    for (label, s) in sample_submissions() {
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["op"]["type"], op_kind(&s.op), "{label}");
    }
}

#[test]
fn samples_cover_every_event_kind_of_the_protocol() {
    let covered: BTreeSet<&str> = sample_events().iter().map(|(_, e)| e.msg.kind()).collect();
    let all: BTreeSet<&str> = ALL_EVENT_KINDS.into_iter().collect();
    assert_eq!(all.len(), ALL_EVENT_KINDS.len(), "kinds listed twice");
    assert_eq!(covered, all);
    for (label, e) in sample_events() {
        assert_eq!(e.msg.kind(), event_kind_exhaustive(&e.msg), "{label}");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v["msg"]["type"],
            e.msg.kind(),
            "{label}: kind() and the JSON tag differ"
        );
    }
}

#[test]
fn every_submission_survives_a_json_round_trip() {
    for (label, s) in sample_submissions() {
        let json = compact(&s);
        let back: Submission = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s, "{label}");
        assert_eq!(parse_submission(&json), Ok(s), "{label}");
    }
}

#[test]
fn every_event_survives_a_json_round_trip() {
    for (label, e) in sample_events() {
        let json = compact(&e);
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e, "{label}");
    }
}

#[test]
fn serde_forms_match_protocol_md() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "read-only sandbox",
            serde_json::to_value(SandboxPolicy::ReadOnly).unwrap(),
            json!({"mode": "read-only"}),
        ),
        (
            "danger-full-access sandbox",
            serde_json::to_value(SandboxPolicy::DangerFullAccess).unwrap(),
            json!({"mode": "danger-full-access"}),
        ),
        (
            "workspace-write sandbox",
            serde_json::to_value(SandboxPolicy::WorkspaceWrite {
                writable_roots: vec![PathBuf::from("/tmp")],
                network_access: true,
                exclude_tmp: false,
            })
            .unwrap(),
            json!({"mode": "workspace-write", "writable_roots": ["/tmp"], "network_access": true}),
        ),
        (
            "on-failure policy",
            serde_json::to_value(AskForApproval::OnFailure).unwrap(),
            json!("on-failure"),
        ),
        (
            "on-request policy",
            serde_json::to_value(AskForApproval::OnRequest).unwrap(),
            json!("on-request"),
        ),
        (
            "approved_for_session decision",
            serde_json::to_value(ReviewDecision::ApprovedForSession).unwrap(),
            json!("approved_for_session"),
        ),
        (
            "chunk is standard base64",
            serde_json::to_value(EventMsg::ExecCommandOutputDelta {
                call_id: "c".to_owned(),
                stream: ExecOutputStream::Stderr,
                chunk: vec![0xfb, 0xff, 0x00],
            })
            .unwrap(),
            json!({"type": "exec_command_output_delta", "call_id": "c", "stream": "stderr", "chunk": "+/8A"}),
        ),
        (
            "override_turn_context fields are flattened into the op",
            serde_json::to_value(Op::OverrideTurnContext(TurnContextOverride {
                cwd: Some(PathBuf::from("/x")),
                approval_policy: Some(AskForApproval::Never),
                ..TurnContextOverride::default()
            }))
            .unwrap(),
            json!({"type": "override_turn_context", "cwd": "/x", "approval_policy": "never"}),
        ),
        (
            "unit op is a bare tag",
            serde_json::to_value(Op::Interrupt).unwrap(),
            json!({"type": "interrupt"}),
        ),
        (
            "unit event is a bare tag",
            serde_json::to_value(EventMsg::ShutdownComplete).unwrap(),
            json!({"type": "shutdown_complete"}),
        ),
        (
            "local image input",
            serde_json::to_value(InputItem::LocalImage {
                path: PathBuf::from("/a.png"),
            })
            .unwrap(),
            json!({"type": "local_image", "path": "/a.png"}),
        ),
        (
            "session_configured carries the empty id",
            serde_json::to_value(Event {
                id: String::new(),
                msg: EventMsg::SessionConfigured {
                    session_id: "s".to_owned(),
                    model: "m".to_owned(),
                    rollout_path: PathBuf::from("/r"),
                    approval_policy: AskForApproval::OnRequest,
                    sandbox_policy: SandboxPolicy::ReadOnly,
                    initial_messages: None,
                },
            })
            .unwrap(),
            json!({"id": "", "msg": {"type": "session_configured", "session_id": "s", "model": "m", "rollout_path": "/r", "approval_policy": "on-request", "sandbox_policy": {"mode": "read-only"}}}),
        ),
    ];
    for (label, got, want) in cases {
        assert_eq!(got, want, "{label}");
    }
}

#[test]
fn the_documented_examples_parse() {
    let sub = parse_submission(
        r#"{"id": "1", "op": {"type": "user_input", "items": [{"type": "text", "text": "list the files"}]}}"#,
    )
    .unwrap();
    assert_eq!(
        sub,
        Submission {
            id: "1".to_owned(),
            op: Op::UserInput {
                items: vec![text("list the files")],
            },
        }
    );
    let event: Event = serde_json::from_str(
        r#"{"id": "1", "msg": {"type": "agent_message_delta", "delta": "Here"}}"#,
    )
    .unwrap();
    assert_eq!(
        event,
        Event {
            id: "1".to_owned(),
            msg: EventMsg::AgentMessageDelta {
                delta: "Here".to_owned(),
            },
        }
    );
}

#[test]
fn parse_submission_accepts_good_lines() {
    let cases: Vec<(&str, Submission)> = vec![
        (
            r#"{"id":"a","op":{"type":"interrupt"}}"#,
            Submission {
                id: "a".to_owned(),
                op: Op::Interrupt,
            },
        ),
        (
            r#"{"id":"b","op":{"type":"exec_approval","id":"call_9","decision":"abort"}}"#,
            Submission {
                id: "b".to_owned(),
                op: Op::ExecApproval {
                    id: "call_9".to_owned(),
                    decision: ReviewDecision::Abort,
                },
            },
        ),
        (
            r#"{"id":"c","op":{"type":"override_turn_context"}}"#,
            Submission {
                id: "c".to_owned(),
                op: Op::OverrideTurnContext(TurnContextOverride::default()),
            },
        ),
        (
            r#"{"id":"d","op":{"type":"user_turn","items":[],"cwd":"/r","approval_policy":"untrusted","sandbox_policy":{"mode":"workspace-write"},"model":"m"}}"#,
            Submission {
                id: "d".to_owned(),
                op: Op::UserTurn {
                    items: Vec::new(),
                    cwd: PathBuf::from("/r"),
                    approval_policy: AskForApproval::Untrusted,
                    sandbox_policy: SandboxPolicy::WorkspaceWrite {
                        writable_roots: Vec::new(),
                        network_access: false,
                        exclude_tmp: false,
                    },
                    model: "m".to_owned(),
                    effort: None,
                    summary: None,
                },
            },
        ),
        (
            "  {\"id\":\"e\",\"op\":{\"type\":\"get_path\"}}  ",
            Submission {
                id: "e".to_owned(),
                op: Op::GetPath,
            },
        ),
    ];
    for (line, want) in cases {
        assert_eq!(parse_submission(line), Ok(want), "{line}");
    }
}

#[test]
fn parse_submission_ignores_unknown_fields_at_every_level() {
    let line = r#"{"id":"7","extra":1,"op":{"type":"user_input","future":true,"items":[{"type":"text","text":"hi","lang":"en"}]}}"#;
    assert_eq!(
        parse_submission(line),
        Ok(Submission {
            id: "7".to_owned(),
            op: Op::UserInput {
                items: vec![text("hi")],
            },
        })
    );
    let line = r#"{"id":"8","op":{"type":"override_turn_context","model":"m","colour":"blue"}}"#;
    assert_eq!(
        parse_submission(line),
        Ok(Submission {
            id: "8".to_owned(),
            op: Op::OverrideTurnContext(TurnContextOverride {
                model: Some("m".to_owned()),
                ..TurnContextOverride::default()
            }),
        })
    );
}

#[test]
fn parse_submission_errors_carry_the_id_when_one_could_be_read() {
    // (line, expected id, a word the message must contain)
    let cases: [(&str, &str, &str); 10] = [
        (r#"{"id":"42","op":{"type":"dance"}}"#, "42", "dance"),
        ("not json at all", "", "invalid JSON"),
        (r#"{"id":"9","op":"#, "", "invalid JSON"),
        ("", "", "invalid JSON"),
        (r#"[1,2,3]"#, "", "invalid submission"),
        (
            r#"{"id":"3","op":{"type":"exec_approval","id":"call_1"}}"#,
            "3",
            "decision",
        ),
        (r#"{"id":"4"}"#, "4", "op"),
        (r#"{"op":{"type":"interrupt"}}"#, "", "id"),
        (
            r#"{"id":5,"op":{"type":"interrupt"}}"#,
            "",
            "invalid submission",
        ),
        (
            r#"{"id":"6","op":{"type":"patch_approval","id":"c","decision":"maybe"}}"#,
            "6",
            "maybe",
        ),
    ];
    for (line, id, word) in cases {
        let err = parse_submission(line).unwrap_err();
        assert_eq!(err.id, id, "{line}");
        assert!(
            err.message.contains(word),
            "{line}: message {:?} lacks {word:?}",
            err.message
        );
    }
}

#[test]
fn bad_values_in_events_are_rejected() {
    let cases = [
        r#"{"id":"1","msg":{"type":"exec_command_output_delta","call_id":"c","stream":"stdout","chunk":"not base64!"}}"#,
        r#"{"id":"1","msg":{"type":"exec_command_output_delta","call_id":"c","stream":"stdin","chunk":""}}"#,
        r#"{"id":"1","msg":{"type":"turn_aborted","reason":"bored"}}"#,
        r#"{"id":"1","msg":{"type":"no_such_event"}}"#,
    ];
    for line in cases {
        assert!(serde_json::from_str::<Event>(line).is_err(), "{line}");
    }
}

#[test]
fn only_task_complete_and_turn_aborted_end_a_turn() {
    for (label, e) in sample_events() {
        let want = matches!(e.msg.kind(), "task_complete" | "turn_aborted");
        assert_eq!(e.msg.is_turn_terminal(), want, "{label}");
    }
}

#[test]
fn blank_input_items_are_recognised() {
    let cases = [
        (text(""), true),
        (text(" \n\t"), true),
        (text(" x "), false),
        (
            InputItem::Image {
                image_url: String::new(),
            },
            true,
        ),
        (
            InputItem::Image {
                image_url: "data:image/png;base64,AA==".to_owned(),
            },
            false,
        ),
        (
            InputItem::LocalImage {
                path: PathBuf::new(),
            },
            true,
        ),
        (
            InputItem::LocalImage {
                path: PathBuf::from("a.png"),
            },
            false,
        ),
    ];
    for (item, blank) in cases {
        assert_eq!(item.is_blank(), blank, "{item:?}");
    }
}
