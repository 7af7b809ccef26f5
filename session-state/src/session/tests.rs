//! Tests of `session`: every `SessionState` transition and `TurnContext::apply`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::tokens::RateLimitWindow;

fn context() -> TurnContext {
    TurnContext {
        cwd: PathBuf::from("/repo"),
        model: "gpt-a".to_owned(),
        approval_policy: AskForApproval::OnRequest,
        sandbox_policy: SandboxPolicy::ReadOnly,
        effort: None,
        summary: None,
    }
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

fn usage(input: u64, output: u64, reasoning: u64) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        cached_input_tokens: 0,
        output_tokens: output,
        reasoning_output_tokens: reasoning,
        total_tokens: input + output,
    }
}

fn call(id: &str) -> ResponseItem {
    ResponseItem::FunctionCall {
        id: None,
        name: "shell".to_owned(),
        arguments: "{}".to_owned(),
        call_id: id.to_owned(),
    }
}

#[test]
fn a_new_session_is_empty_in_its_context() {
    let s = SessionState::new(context(), Some(8000));
    assert!(s.history().is_empty());
    assert!(s.history_snapshot().is_empty());
    assert!(s.approved_commands().is_empty());
    assert_eq!(s.tokens().total(), TokenUsage::default());
    assert_eq!(s.tokens().context_window(), Some(8000));
    assert_eq!(s.rate_limits(), None);
    assert_eq!(s.context(), &context());
}

#[test]
fn recorded_items_are_appended_and_returned_as_stored() {
    let mut s = SessionState::new(context(), None);
    let first = s.record_items(vec![ResponseItem::user_text("a")]);
    let before = s.history_snapshot();
    let second = s.record_items(vec![
        ResponseItem::assistant_text("b"),
        ResponseItem::user_text("c"),
    ]);
    assert_eq!(first.len(), 1);
    assert_eq!(second.len(), 2);
    let snap = s.history_snapshot();
    assert_eq!(snap.len(), 3);
    assert_eq!(
        before.len(),
        1,
        "an earlier snapshot does not see later items"
    );
    assert!(Arc::ptr_eq(&first[0], &snap.items()[0]));
    assert!(Arc::ptr_eq(&second[1], &snap.items()[2]));
    assert_eq!(
        second[0].json(),
        serde_json::to_string(&second[0].item()).unwrap()
    );
    let roles: Vec<String> = s
        .history()
        .snapshot()
        .items()
        .iter()
        .filter_map(|h| h.role().map(Cow::into_owned))
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
}

#[test]
fn replacing_history_keeps_only_the_new_items() {
    let mut s = SessionState::new(context(), None);
    s.record_items(vec![ResponseItem::user_text("old"), call("c1")]);
    let old = s.history_snapshot();
    let stored = s.replace_history(vec![ResponseItem::user_text("summary")]);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].item(), ResponseItem::user_text("summary"));
    let snap = s.history_snapshot();
    assert_eq!(snap.len(), 1);
    assert!(Arc::ptr_eq(&stored[0], &snap.items()[0]));
    assert_eq!(
        old.len(),
        2,
        "a snapshot taken before compaction is untouched"
    );
    assert_eq!(s.history().check_well_formed(), Ok(()));
}

#[test]
fn only_the_exact_argv_is_approved_for_the_session() {
    let mut s = SessionState::new(context(), None);
    s.approve_for_session(argv(&["cargo", "test"]));
    s.approve_for_session(argv(&["cargo", "test"]));
    let cases: [(&[&str], bool); 7] = [
        (&["cargo", "test"], true),
        (&["cargo", "test", "--release"], false),
        (&["cargo"], false),
        (&["cargo", "Test"], false),
        (&["cargo test"], false),
        (&["test", "cargo"], false),
        (&[], false),
    ];
    for (cmd, want) in cases {
        assert_eq!(s.is_approved_for_session(&argv(cmd)), want, "{cmd:?}");
    }
    assert_eq!(s.approved_commands(), vec![argv(&["cargo", "test"])]);
}

#[test]
fn approved_commands_are_listed_sorted() {
    let mut s = SessionState::new(context(), None);
    for cmd in [&["ls", "-l"][..], &["cat", "x"], &["ls"]] {
        s.approve_for_session(argv(cmd));
    }
    assert_eq!(
        s.approved_commands(),
        vec![argv(&["cat", "x"]), argv(&["ls"]), argv(&["ls", "-l"])]
    );
}

#[test]
fn token_usage_accumulates_and_reports_info() {
    let mut s = SessionState::new(context(), Some(1000));
    let info = s.record_token_usage(&usage(100, 20, 0));
    assert_eq!(info.total_token_usage, usage(100, 20, 0));
    assert_eq!(info.last_token_usage, usage(100, 20, 0));
    assert_eq!(info.model_context_window, Some(1000));
    let info = s.record_token_usage(&usage(300, 50, 30));
    assert_eq!(info.total_token_usage, usage(400, 70, 30));
    assert_eq!(info.last_token_usage, usage(300, 50, 30));
    assert_eq!(s.tokens().info(), info);
    assert_eq!(s.tokens().tokens_in_context(), 320);
    assert_eq!(s.tokens().percent_of_context_used(), Some(32.0));
    s.set_context_window(Some(640));
    assert_eq!(s.tokens().percent_of_context_used(), Some(50.0));
    assert_eq!(
        s.record_token_usage(&usage(0, 0, 0)).model_context_window,
        Some(640)
    );
}

#[test]
fn rate_limits_keep_the_latest_snapshot() {
    let mut s = SessionState::new(context(), None);
    let window = |remaining| RateLimitWindow {
        limit: 100,
        remaining,
        resets_in_seconds: None,
    };
    s.set_rate_limits(RateLimitSnapshot {
        requests: Some(window(90)),
        tokens: None,
    });
    let latest = RateLimitSnapshot {
        requests: Some(window(80)),
        tokens: Some(window(10)),
    };
    s.set_rate_limits(latest);
    assert_eq!(s.rate_limits(), Some(latest));
}

#[test]
fn restore_puts_back_history_tokens_and_approvals() {
    let recorded = ConversationHistory::from_items(vec![
        ResponseItem::user_text("hi"),
        call("c1"),
        ResponseItem::FunctionCallOutput {
            call_id: "c1".to_owned(),
            output: "ok".to_owned(),
        },
    ]);
    let items: Vec<Arc<HistoryItem>> = recorded.snapshot().items().to_vec();
    let info = TokenUsageInfo {
        total_token_usage: usage(900, 100, 0),
        last_token_usage: usage(400, 10, 0),
        model_context_window: Some(2000),
    };

    // The session knows its window: it wins over the recorded one.
    let mut s = SessionState::new(context(), Some(8000));
    s.restore(items.clone(), Some(info), vec![argv(&["make"])]);
    assert_eq!(s.history().len(), 3);
    for (a, b) in items.iter().zip(s.history_snapshot().items()) {
        assert!(Arc::ptr_eq(a, b), "restore copied an item");
    }
    assert_eq!(s.tokens().total(), usage(900, 100, 0));
    assert_eq!(s.tokens().last(), usage(400, 10, 0));
    assert_eq!(s.tokens().context_window(), Some(8000));
    assert!(s.is_approved_for_session(&argv(&["make"])));
    assert_eq!(s.history().check_well_formed(), Ok(()));
    let next = s.record_token_usage(&usage(1, 1, 0));
    assert_eq!(next.total_token_usage, usage(901, 101, 0));

    // The session does not know its window: the recorded one is kept.
    let mut s = SessionState::new(context(), None);
    s.restore(Vec::new(), Some(info), Vec::new());
    assert_eq!(s.tokens().context_window(), Some(2000));
    assert!(s.history().is_empty());

    // Nothing recorded about tokens: accounting is untouched.
    let mut s = SessionState::new(context(), Some(8000));
    s.record_token_usage(&usage(5, 5, 0));
    s.restore(items, None, Vec::new());
    assert_eq!(s.tokens().total(), usage(5, 5, 0));
    assert_eq!(s.history().len(), 3);
    assert!(s.approved_commands().is_empty());
}

#[test]
fn each_override_field_replaces_only_its_own_setting() {
    let base = context();
    let cases: Vec<(&str, TurnContextOverride, TurnContext)> = vec![
        ("nothing", TurnContextOverride::default(), base.clone()),
        (
            "cwd",
            TurnContextOverride {
                cwd: Some(PathBuf::from("/other")),
                ..TurnContextOverride::default()
            },
            TurnContext {
                cwd: PathBuf::from("/other"),
                ..base.clone()
            },
        ),
        (
            "approval_policy",
            TurnContextOverride {
                approval_policy: Some(AskForApproval::Never),
                ..TurnContextOverride::default()
            },
            TurnContext {
                approval_policy: AskForApproval::Never,
                ..base.clone()
            },
        ),
        (
            "sandbox_policy",
            TurnContextOverride {
                sandbox_policy: Some(SandboxPolicy::WorkspaceWrite {
                    writable_roots: vec![PathBuf::from("/tmp")],
                    network_access: true,
                    exclude_tmp: false,
                }),
                ..TurnContextOverride::default()
            },
            TurnContext {
                sandbox_policy: SandboxPolicy::WorkspaceWrite {
                    writable_roots: vec![PathBuf::from("/tmp")],
                    network_access: true,
                    exclude_tmp: false,
                },
                ..base.clone()
            },
        ),
        (
            "model",
            TurnContextOverride {
                model: Some("gpt-b".to_owned()),
                ..TurnContextOverride::default()
            },
            TurnContext {
                model: "gpt-b".to_owned(),
                ..base.clone()
            },
        ),
        (
            "effort",
            TurnContextOverride {
                effort: Some(ReasoningEffort::Low),
                ..TurnContextOverride::default()
            },
            TurnContext {
                effort: Some(ReasoningEffort::Low),
                ..base.clone()
            },
        ),
        (
            "summary",
            TurnContextOverride {
                summary: Some(ReasoningSummary::Detailed),
                ..TurnContextOverride::default()
            },
            TurnContext {
                summary: Some(ReasoningSummary::Detailed),
                ..base.clone()
            },
        ),
        (
            "all at once",
            TurnContextOverride {
                cwd: Some(PathBuf::from("/x")),
                approval_policy: Some(AskForApproval::Untrusted),
                sandbox_policy: Some(SandboxPolicy::DangerFullAccess),
                model: Some("gpt-c".to_owned()),
                effort: Some(ReasoningEffort::High),
                summary: Some(ReasoningSummary::Auto),
            },
            TurnContext {
                cwd: PathBuf::from("/x"),
                model: "gpt-c".to_owned(),
                approval_policy: AskForApproval::Untrusted,
                sandbox_policy: SandboxPolicy::DangerFullAccess,
                effort: Some(ReasoningEffort::High),
                summary: Some(ReasoningSummary::Auto),
            },
        ),
    ];
    for (label, o, want) in cases {
        let mut c = base.clone();
        c.apply(&o);
        assert_eq!(c, want, "TurnContext::apply {label}");

        let mut s = SessionState::new(base.clone(), None);
        s.override_context(&o);
        assert_eq!(s.context(), &want, "SessionState::override_context {label}");
    }
}

#[test]
fn an_absent_override_field_keeps_an_earlier_setting() {
    let mut c = TurnContext {
        effort: Some(ReasoningEffort::Medium),
        summary: Some(ReasoningSummary::Concise),
        ..context()
    };
    c.apply(&TurnContextOverride {
        model: Some("gpt-b".to_owned()),
        ..TurnContextOverride::default()
    });
    assert_eq!(c.effort, Some(ReasoningEffort::Medium));
    assert_eq!(c.summary, Some(ReasoningSummary::Concise));
    assert_eq!(c.model, "gpt-b");
}

#[test]
fn set_context_replaces_the_whole_context() {
    let mut s = SessionState::new(context(), None);
    let next = TurnContext {
        cwd: PathBuf::from("/elsewhere"),
        model: "gpt-z".to_owned(),
        approval_policy: AskForApproval::OnFailure,
        sandbox_policy: SandboxPolicy::DangerFullAccess,
        effort: Some(ReasoningEffort::Minimal),
        summary: Some(ReasoningSummary::None),
    };
    s.set_context(next.clone());
    assert_eq!(s.context(), &next);
}

#[test]
fn turn_context_round_trips_through_json() {
    let c = TurnContext {
        effort: Some(ReasoningEffort::High),
        ..context()
    };
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        json,
        r#"{"cwd":"/repo","model":"gpt-a","approval_policy":"on-request","sandbox_policy":{"mode":"read-only"},"effort":"high"}"#
    );
    assert_eq!(serde_json::from_str::<TurnContext>(&json).unwrap(), c);
}

#[test]
fn call_ids_are_remembered_across_compaction_and_restore() {
    let call = |id: &str| ResponseItem::FunctionCall {
        id: None,
        name: "shell".into(),
        arguments: "{}".into(),
        call_id: id.into(),
    };
    let mut state = SessionState::new(context(), None);
    state.record_items([call("a")]);
    assert!(state.has_call_id("a"));
    state.replace_history([ResponseItem::user_text("summary")]);
    assert!(state.has_call_id("a"), "compaction keeps the ids");
    assert!(!state.has_call_id("b"));
    let mut restored = SessionState::new(context(), None);
    let items = ConversationHistory::from_items([call("b")])
        .snapshot()
        .items()
        .to_vec();
    restored.restore(items, None, Vec::new());
    assert!(restored.has_call_id("b"));
}
