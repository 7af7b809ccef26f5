//! Tests of `turn`: every `TurnState` transition, `cleanup` above all, and `ActiveTurn` with its
//! cancel token.
//!
//! `session-state` has tokio with the `sync` feature only, so futures (oneshot receivers,
//! `CancelToken::cancelled`) are polled by hand with a no-op waker: every future here is either
//! ready when polled or must stay pending, so no runtime is needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use super::*;

/// Poll a future once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    f.poll(&mut cx)
}

/// Drive a future that must be ready; fails the test instead of hanging if it is not.
fn resolve<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    for _ in 0..100 {
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            return v;
        }
    }
    panic!("future did not resolve");
}

fn text(t: &str) -> InputItem {
    InputItem::Text { text: t.to_owned() }
}

#[test]
fn queued_input_is_taken_once_in_order() {
    let mut s = TurnState::new(None);
    assert!(!s.has_pending_input());
    assert!(s.take_pending_input().is_empty());
    s.queue_input(vec![text("a"), text("b")]);
    s.queue_input(Vec::new());
    s.queue_input(vec![text("c")]);
    assert!(s.has_pending_input());
    assert_eq!(
        s.take_pending_input(),
        vec![text("a"), text("b"), text("c")]
    );
    assert!(!s.has_pending_input());
    assert!(s.take_pending_input().is_empty());
}

#[test]
fn a_decision_reaches_the_waiter_registered_under_its_call_id() {
    for decision in [
        ReviewDecision::Approved,
        ReviewDecision::ApprovedForSession,
        ReviewDecision::Denied,
        ReviewDecision::Abort,
    ] {
        for kind in [ApprovalKind::Exec, ApprovalKind::Patch] {
            let mut s = TurnState::new(None);
            let rx = s.register_approval("c1", kind).unwrap();
            let other = s.register_approval("c2", kind).unwrap();
            assert!(s.is_waiting_for("c1"));
            assert_eq!(s.waiting_approvals(), 2);
            assert_eq!(s.resolve_approval("c1", kind, decision), Ok(()));
            assert_eq!(resolve(rx), Ok(decision));
            assert!(!s.is_waiting_for("c1"));
            assert!(s.is_waiting_for("c2"));
            assert_eq!(s.waiting_approvals(), 1);
            drop(other);
        }
    }
}

#[test]
fn bad_decisions_are_rejected_and_change_nothing() {
    // (label, registered kind, resolved id, resolved kind)
    let cases = [
        (
            "wrong kind exec→patch",
            ApprovalKind::Exec,
            "c1",
            ApprovalKind::Patch,
        ),
        (
            "wrong kind patch→exec",
            ApprovalKind::Patch,
            "c1",
            ApprovalKind::Exec,
        ),
        ("unknown id", ApprovalKind::Exec, "nope", ApprovalKind::Exec),
    ];
    for (label, kind, id, asked) in cases {
        let mut s = TurnState::new(None);
        let rx = s.register_approval("c1", kind).unwrap();
        let mut rx = pin!(rx);
        assert_eq!(
            s.resolve_approval(id, asked, ReviewDecision::Approved),
            Err(StateError::NoSuchApproval {
                call_id: id.to_owned()
            }),
            "{label}"
        );
        assert!(s.is_waiting_for("c1"), "{label}");
        assert_eq!(s.waiting_approvals(), 1, "{label}");
        assert!(
            poll_once(rx.as_mut()).is_pending(),
            "{label}: waiter was answered"
        );
        // The right decision still goes through afterwards.
        assert_eq!(
            s.resolve_approval("c1", kind, ReviewDecision::Denied),
            Ok(())
        );
        assert_eq!(resolve(rx), Ok(ReviewDecision::Denied), "{label}");
    }
}

#[test]
fn a_duplicate_request_is_rejected_and_the_first_keeps_waiting() {
    let mut s = TurnState::new(None);
    let first = s.register_approval("c1", ApprovalKind::Exec).unwrap();
    assert_eq!(
        s.register_approval("c1", ApprovalKind::Patch).unwrap_err(),
        StateError::DuplicateApproval {
            call_id: "c1".to_owned()
        }
    );
    assert_eq!(s.waiting_approvals(), 1);
    // The first registration (exec) is the one that stays.
    assert!(
        s.resolve_approval("c1", ApprovalKind::Patch, ReviewDecision::Approved)
            .is_err()
    );
    s.resolve_approval("c1", ApprovalKind::Exec, ReviewDecision::Approved)
        .unwrap();
    assert_eq!(resolve(first), Ok(ReviewDecision::Approved));
}

#[test]
fn a_request_is_answered_once_even_if_its_waiter_left() {
    let mut s = TurnState::new(None);
    drop(s.register_approval("c1", ApprovalKind::Exec).unwrap());
    assert_eq!(
        s.resolve_approval("c1", ApprovalKind::Exec, ReviewDecision::Approved),
        Ok(())
    );
    assert_eq!(
        s.resolve_approval("c1", ApprovalKind::Exec, ReviewDecision::Approved),
        Err(StateError::NoSuchApproval {
            call_id: "c1".to_owned()
        })
    );
    // The id is free again.
    assert!(s.register_approval("c1", ApprovalKind::Exec).is_ok());
}

#[test]
fn calls_open_collect_output_and_close() {
    let mut s = TurnState::new(None);
    s.begin_call("c1", "shell", 10).unwrap();
    s.begin_call("c2", "apply_patch", 20).unwrap();
    assert_eq!(
        s.begin_call("c1", "shell", 30),
        Err(StateError::DuplicateCall {
            call_id: "c1".to_owned()
        })
    );
    s.append_call_output("c1", "a");
    s.append_call_output("c1", "b\n");
    s.append_call_output("unknown", "dropped");
    let ids: Vec<&str> = s.open_calls().iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(ids, ["c1", "c2"]);

    assert_eq!(
        s.finish_call("c1"),
        Some(OpenCall {
            call_id: "c1".to_owned(),
            tool: "shell".to_owned(),
            started_ms: 10,
            partial_output: BoundedText::from("ab\n"),
        })
    );
    assert_eq!(s.finish_call("c1"), None);
    assert_eq!(s.finish_call("unknown"), None);
    assert_eq!(s.open_calls().len(), 1);
    // A finished id may be begun again.
    s.begin_call("c1", "shell", 40).unwrap();
    assert_eq!(s.open_calls()[1].partial_output, "");
}

#[test]
fn auto_compact_request_is_taken_once() {
    let mut s = TurnState::new(None);
    assert!(!s.take_auto_compact_request());
    s.request_auto_compact();
    s.request_auto_compact();
    assert!(s.take_auto_compact_request());
    assert!(!s.take_auto_compact_request());
}

#[test]
fn the_last_agent_message_is_the_latest_one() {
    let mut s = TurnState::new(None);
    assert_eq!(s.last_agent_message(), None);
    s.set_last_agent_message("first".to_owned());
    s.set_last_agent_message("second".to_owned());
    assert_eq!(s.last_agent_message(), Some("second"));
}

#[test]
fn the_diff_tracker_shows_paths_relative_to_the_turn_root() {
    let mut s = TurnState::new(Some(PathBuf::from("/repo")));
    assert!(!s.diff_tracker().has_changes());
    s.diff_tracker_mut()
        .record_change(Path::new("/repo/a.txt"), None, Some("x\n"));
    let diff = s.diff_tracker().unified_diff().unwrap();
    assert!(diff.starts_with("diff --git a/a.txt b/a.txt\n"), "{diff}");
}

#[test]
fn cleanup_aborts_waiters_closes_calls_and_returns_pending_input() {
    let mut s = TurnState::new(None);
    let rx_patch = s.register_approval("c2", ApprovalKind::Patch).unwrap();
    let rx_exec = s.register_approval("c1", ApprovalKind::Exec).unwrap();
    // A waiter that already left is still answered.
    drop(s.register_approval("c0", ApprovalKind::Exec).unwrap());

    s.begin_call("run", "shell", 1_000).unwrap();
    s.append_call_output("run", "line 1\n");
    s.append_call_output("run", "line 2");
    s.begin_call("patch", "apply_patch", 4_000).unwrap();
    s.begin_call("done", "shell", 4_500).unwrap();
    s.finish_call("done");
    s.queue_input(vec![text("and then this")]);

    let report = s.cleanup(6_500);

    assert_eq!(report.answered_approvals, ["c0", "c1", "c2"]);
    assert_eq!(resolve(rx_exec), Ok(ReviewDecision::Abort));
    assert_eq!(resolve(rx_patch), Ok(ReviewDecision::Abort));
    assert_eq!(
        report.closed_calls,
        vec![
            ResponseItem::FunctionCallOutput {
                call_id: "run".to_owned(),
                output: "aborted by user after 5.5s\noutput before it was aborted:\nline 1\nline 2"
                    .to_owned(),
            },
            ResponseItem::FunctionCallOutput {
                call_id: "patch".to_owned(),
                output: "aborted by user after 2.5s".to_owned(),
            },
        ]
    );
    assert_eq!(report.pending_input, vec![text("and then this")]);
    assert!(!report.is_empty());

    assert_eq!(s.waiting_approvals(), 0);
    assert!(s.open_calls().is_empty());
    assert!(!s.has_pending_input());
    for id in ["c0", "c1", "c2"] {
        assert!(!s.is_waiting_for(id));
    }

    let second = s.cleanup(7_000);
    assert!(second.is_empty());
    assert_eq!(second, CleanupReport::default());
}

#[test]
fn cleanup_of_an_idle_turn_reports_nothing() {
    let mut s = TurnState::new(None);
    s.request_auto_compact();
    s.set_last_agent_message("kept".to_owned());
    assert!(s.cleanup(0).is_empty());
    // Cleanup only ends obligations; it does not forget what the turn said.
    assert_eq!(s.last_agent_message(), Some("kept"));
    assert!(s.take_auto_compact_request());
}

#[test]
fn cleanup_with_a_clock_behind_the_call_start_does_not_underflow() {
    let mut s = TurnState::new(None);
    s.begin_call("c", "shell", 10_000).unwrap();
    let report = s.cleanup(5);
    assert_eq!(
        report.closed_calls,
        vec![ResponseItem::FunctionCallOutput {
            call_id: "c".to_owned(),
            output: "aborted by user after 0.0s".to_owned(),
        }]
    );
}

#[test]
fn cleanup_report_is_empty_only_without_any_leftover() {
    let cases = [
        (CleanupReport::default(), true),
        (
            CleanupReport {
                answered_approvals: vec!["c".to_owned()],
                ..CleanupReport::default()
            },
            false,
        ),
        (
            CleanupReport {
                closed_calls: vec![ResponseItem::FunctionCallOutput {
                    call_id: "c".to_owned(),
                    output: String::new(),
                }],
                ..CleanupReport::default()
            },
            false,
        ),
        (
            CleanupReport {
                pending_input: vec![text("x")],
                ..CleanupReport::default()
            },
            false,
        ),
    ];
    for (report, empty) in cases {
        assert_eq!(report.is_empty(), empty, "{report:?}");
    }
}

#[test]
fn active_turn_shares_its_state_with_clones_and_the_task() {
    let turn = ActiveTurn::new("sub-7", TaskKind::Compact, TurnState::new(None));
    assert_eq!(turn.sub_id(), "sub-7");
    assert_eq!(turn.kind(), TaskKind::Compact);
    let clone = turn.clone();
    clone.with_state(|s| s.queue_input(vec![text("queued")]));
    assert!(turn.with_state(|s| s.has_pending_input()));
    let shared = turn.turn_state();
    let taken = shared.lock().unwrap().take_pending_input();
    assert_eq!(taken, vec![text("queued")]);
    assert!(!clone.with_state(|s| s.has_pending_input()));
    let regular = ActiveTurn::new(String::from("s"), TaskKind::Regular, TurnState::default());
    assert_eq!(regular.kind(), TaskKind::Regular);
}

#[test]
fn with_state_still_works_after_a_panic_poisoned_the_lock() {
    let turn = ActiveTurn::new("s", TaskKind::Regular, TurnState::new(None));
    let result = catch_unwind(AssertUnwindSafe(|| {
        turn.with_state(|s| {
            s.set_last_agent_message("before the panic".to_owned());
            panic!("task panicked while holding the turn state");
        })
    }));
    assert!(result.is_err());
    assert!(turn.turn_state().is_poisoned());
    let msg = turn.with_state(|s| s.last_agent_message().map(str::to_owned));
    assert_eq!(msg.as_deref(), Some("before the panic"));
}

#[test]
fn cancelling_any_clone_cancels_the_turn() {
    let turn = ActiveTurn::new("s", TaskKind::Regular, TurnState::new(None));
    let token = turn.cancel_token().clone();
    assert!(!turn.cancel_token().is_cancelled());
    assert!(!token.is_cancelled());
    token.cancel();
    assert!(turn.cancel_token().is_cancelled());
    assert!(turn.clone().cancel_token().is_cancelled());
    // Cancelling twice is harmless.
    turn.cancel_token().cancel();
    assert!(token.is_cancelled());
}

#[test]
fn cancelled_waits_until_cancel_and_then_resolves() {
    let token = CancelToken::new();
    let waiter = token.clone();
    let mut fut = pin!(waiter.cancelled());
    assert!(poll_once(fut.as_mut()).is_pending());
    assert!(poll_once(fut.as_mut()).is_pending());

    // A waiter dropped before cancel changes nothing.
    {
        let mut dropped = pin!(token.cancelled());
        assert!(poll_once(dropped.as_mut()).is_pending());
    }
    assert!(!token.is_cancelled());

    token.cancel();
    assert!(poll_once(fut.as_mut()).is_ready());
    // A waiter that starts after the cancel resolves at once.
    assert!(poll_once(pin!(token.cancelled())).is_ready());
    assert!(poll_once(pin!(CancelToken::default().cancelled())).is_pending());
}
