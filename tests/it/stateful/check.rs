//! The checks run on every case's outcome: the shared invariant checkers of `support.rs`, plus
//! what only a random, concurrent run can show — each submission's answer, approvals answered
//! exactly once and never run without an accepted decision, input never dropped silently,
//! every model request equal to a recorded state of history, and nothing left behind.
//! Checks panic with a message naming the invariant; `stateful.rs` turns that into a failure.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use session_core::services::{ModelRequest, RolloutItem};
use session_core::{Event, EventMsg, ReviewDecision};

use super::plan::{Case, Policy};
use super::run::{Kind, Run, Sent};
use crate::support::{check_invariants, check_recording};

/// Every check on one case.
pub(crate) fn check(case: &Case, run: &Run) {
    assert!(run.problems.is_empty(), "{}", run.problems.join("\n"));
    assert!(
        run.stream_ended,
        "the event stream must end after shutdown_complete"
    );
    let events = &run.events;
    check_invariants(events);
    assert!(
        matches!(
            events.last().map(|e| &e.msg),
            Some(EventMsg::ShutdownComplete)
        ),
        "shutdown_complete must be the last event"
    );
    let lines = run.recorder.lines();
    check_recording(&lines, events);
    assert!(
        run.recorder.is_shut_down(),
        "the recording must be shut down"
    );
    let requests = run.model.requests();
    for (i, req) in requests.iter().enumerate() {
        if let Err(e) = req.input.check_well_formed() {
            panic!("invariant 5: model request {i} is malformed: {e}");
        }
    }
    requests_match_recorded_history(&lines, &requests);
    turn_events_in_order(events);
    submissions_answered(run);
    inputs_never_dropped(run);
    approvals_answered_once(case, run);
    nothing_left(run);
}

/// Invariant 7 from the other side: what a model saw is what was recorded, in order.
fn requests_match_recorded_history(lines: &[RolloutItem], requests: &[ModelRequest]) {
    let mut states: HashSet<Vec<String>> = HashSet::new();
    let mut current: Vec<String> = Vec::new();
    states.insert(current.clone());
    for line in lines {
        match line {
            RolloutItem::ResponseItem(item) => {
                current.push(item.json().to_owned());
                states.insert(current.clone());
            }
            RolloutItem::Compacted(_) => {
                current.clear();
                states.insert(current.clone());
            }
            _ => {}
        }
    }
    for (i, req) in requests.iter().enumerate() {
        let mut input: Vec<String> = req
            .input
            .items()
            .iter()
            .map(|h| h.json().to_owned())
            .collect();
        // A compaction request (no tools) carries the summary prompt after the history.
        if req.tools.is_empty() {
            input.pop();
        }
        assert!(
            states.contains(&input),
            "invariant 7: model request {i} carried a history that was never recorded: {input:#?}"
        );
    }
}

/// Events of a turn carry the id of the turn running at the time; output deltas fall between
/// their command's begin and end; patch applications end before their turn does.
fn turn_events_in_order(events: &[Event]) {
    let mut running: Option<&str> = None;
    let mut open_execs: HashSet<&str> = HashSet::new();
    let mut open_patches: HashSet<&str> = HashSet::new();
    for e in events {
        match &e.msg {
            EventMsg::TaskStarted { .. } => running = Some(&e.id),
            m if m.is_turn_terminal() => {
                assert!(
                    open_patches.is_empty(),
                    "patches {open_patches:?} did not end before turn {} ended",
                    e.id
                );
                running = None;
            }
            EventMsg::SessionConfigured { .. }
            | EventMsg::ShutdownComplete
            | EventMsg::Error { .. }
            | EventMsg::BackgroundEvent { .. }
            | EventMsg::ConversationPath { .. } => continue,
            _ => {}
        }
        match &e.msg {
            EventMsg::ExecCommandBegin { call_id, .. } => {
                open_execs.insert(call_id);
            }
            EventMsg::ExecCommandEnd { call_id, .. } => {
                open_execs.remove(call_id.as_str());
            }
            EventMsg::ExecCommandOutputDelta { call_id, .. } => assert!(
                open_execs.contains(call_id.as_str()),
                "output of {call_id} outside its begin and end"
            ),
            EventMsg::PatchApplyBegin { call_id, .. } => {
                assert!(open_patches.insert(call_id), "patch {call_id} began twice");
            }
            EventMsg::PatchApplyEnd { call_id, .. } => assert!(
                open_patches.remove(call_id.as_str()),
                "patch {call_id} ended without a begin"
            ),
            _ => {}
        }
        if !e.msg.is_turn_terminal() && !matches!(e.msg, EventMsg::TaskStarted { .. }) {
            assert_eq!(
                running,
                Some(e.id.as_str()),
                "{} with id {} outside its turn",
                e.msg.kind(),
                e.id
            );
        }
    }
}

fn by_id(events: &[Event]) -> HashMap<&str, Vec<&EventMsg>> {
    let mut map: HashMap<&str, Vec<&EventMsg>> = HashMap::new();
    for e in events {
        map.entry(e.id.as_str()).or_default().push(&e.msg);
    }
    map
}

fn errors(msgs: &[&EventMsg]) -> usize {
    msgs.iter()
        .filter(|m| matches!(m, EventMsg::Error { .. }))
        .count()
}

/// Index of the shutdown in the log: later submissions were never handled.
fn shutdown_index(run: &Run) -> usize {
    run.log
        .iter()
        .position(|e| matches!(e.sent, Sent::Shutdown))
        .expect("shutdown was submitted")
}

/// Each submission got the answer the protocol promises (invariant 9 for the bad ones).
fn submissions_answered(run: &Run) {
    let events = by_id(&run.events);
    let stop = shutdown_index(run);
    let none = Vec::new();
    for (i, entry) in run.log.iter().enumerate() {
        let mine = events.get(entry.id.as_str()).unwrap_or(&none);
        let owns_turn = mine
            .iter()
            .any(|m| matches!(m, EventMsg::TaskStarted { .. }));
        let id = &entry.id;
        if i > stop {
            assert!(mine.is_empty(), "{id} came after shutdown yet got {mine:?}");
            continue;
        }
        match &entry.sent {
            // Input queued into a turn that shutdown ended is answered, under its own id, by
            // one notice that it was not sent.
            Sent::Input(_) => assert!(
                owns_turn
                    || mine.is_empty()
                    || matches!(&mine[..], [EventMsg::BackgroundEvent { message }] if message.contains("not sent")),
                "input {id} that started no turn got {mine:?}"
            ),
            Sent::Rejected(_) => assert!(
                mine.len() == 1 && errors(mine) == 1,
                "invariant 9: {id} must get exactly one error, got {mine:?}"
            ),
            Sent::Interrupt | Sent::Override => {
                assert!(mine.is_empty(), "{id} got {mine:?}");
            }
            Sent::PathQuery => assert!(
                matches!(mine[..], [EventMsg::ConversationPath { .. }]),
                "get_path {id} must get one conversation_path, got {mine:?}"
            ),
            Sent::Compact => assert!(
                owns_turn || (mine.len() == 1 && errors(mine) == 1),
                "compact {id} must run a turn or get one error, got {mine:?}"
            ),
            Sent::Decision { .. } => assert!(
                errors(mine) <= 1 && errors(mine) == mine.len(),
                "invariant 4: decision {id} got {mine:?}"
            ),
            Sent::Shutdown => assert!(
                matches!(mine.last(), Some(EventMsg::ShutdownComplete)),
                "shutdown {id} must end with shutdown_complete, got {mine:?}"
            ),
        }
    }
}

/// Invariant 6: every input reaches history exactly once, or the shutdown said it did not.
fn inputs_never_dropped(run: &Run) {
    let said_dropped = run.events.iter().any(|e| {
        matches!(&e.msg, EventMsg::BackgroundEvent { message } if message.contains("shutting down"))
    });
    for entry in &run.log {
        let (text, refused) = match &entry.sent {
            Sent::Input(text) => (text, false),
            Sent::Rejected(Some(text)) => (text, true),
            _ => continue,
        };
        let token = text.split_whitespace().next().unwrap_or_default();
        let delivered = run
            .events
            .iter()
            .filter(|e| {
                matches!(&e.msg, EventMsg::UserMessage { message }
                    if message.split_whitespace().any(|w| w == token))
            })
            .count();
        if refused {
            assert_eq!(delivered, 0, "refused input {token} was delivered");
            continue;
        }
        assert!(
            delivered <= 1,
            "invariant 6: input {token} was delivered {delivered} times"
        );
        assert!(
            delivered == 1 || said_dropped,
            "invariant 6: input {token} ({}) was dropped silently",
            entry.id
        );
    }
}

struct Request<'a> {
    kind: Kind,
    turn: &'a str,
    command: Option<&'a [String]>,
    at: usize,
}

/// Invariant 4 and the approval policy: each request answered exactly once (by its decision or
/// the turn's end), refused decisions change nothing, and nothing runs without an approval.
fn approvals_answered_once(case: &Case, run: &Run) {
    let events = &run.events;
    let mut requests: HashMap<&str, Request<'_>> = HashMap::new();
    for (at, e) in events.iter().enumerate() {
        let (call_id, kind, command) = match &e.msg {
            EventMsg::ExecApprovalRequest {
                call_id, command, ..
            } => (call_id, Kind::Exec, Some(command.as_slice())),
            EventMsg::ApplyPatchApprovalRequest { call_id, .. } => (call_id, Kind::Patch, None),
            _ => continue,
        };
        let request = Request {
            kind,
            turn: &e.id,
            command,
            at,
        };
        assert!(
            requests.insert(call_id, request).is_none(),
            "approval for {call_id} was requested twice"
        );
    }
    let terminals: HashMap<&str, &EventMsg> = events
        .iter()
        .filter(|e| e.msg.is_turn_terminal())
        .map(|e| (e.id.as_str(), &e.msg))
        .collect();
    let by_id = by_id(events);
    let stop = shutdown_index(run);
    let mut accepted: HashMap<&str, Vec<ReviewDecision>> = HashMap::new();
    for entry in &run.log[..stop] {
        let Sent::Decision {
            call_id,
            kind,
            decision,
        } = &entry.sent
        else {
            continue;
        };
        if by_id.get(entry.id.as_str()).is_some_and(|m| errors(m) > 0) {
            continue;
        }
        let Some(request) = requests.get(call_id.as_str()) else {
            panic!(
                "invariant 4: decision {} for {call_id} was accepted, but nothing asked",
                entry.id
            );
        };
        assert_eq!(
            request.kind, *kind,
            "invariant 4: {call_id} accepted a decision of the wrong kind"
        );
        accepted.entry(call_id).or_default().push(*decision);
    }
    let began = |call_id: &str| {
        events.iter().position(|e| match &e.msg {
            EventMsg::ExecCommandBegin { call_id: c, .. }
            | EventMsg::PatchApplyBegin { call_id: c, .. } => c == call_id,
            _ => false,
        })
    };
    for (call_id, request) in &requests {
        let decisions = accepted.get(call_id).map_or(&[][..], Vec::as_slice);
        assert!(
            decisions.len() <= 1,
            "invariant 4: {call_id} was answered {} times: {decisions:?}",
            decisions.len()
        );
        let completed = matches!(
            terminals.get(request.turn),
            Some(EventMsg::TaskComplete { .. })
        );
        let approved = matches!(
            decisions.first(),
            Some(ReviewDecision::Approved | ReviewDecision::ApprovedForSession)
        );
        if completed {
            assert_eq!(
                decisions.len(),
                1,
                "invariant 4: {call_id} of turn {} that completed was never answered",
                request.turn
            );
            assert_ne!(
                decisions[0],
                ReviewDecision::Abort,
                "{call_id}: abort must interrupt the turn"
            );
        }
        match began(call_id) {
            Some(at) => {
                assert!(approved, "{call_id} ran without an accepted approval");
                assert!(at > request.at, "{call_id} ran before it was approved");
            }
            None => assert!(
                !(completed && approved),
                "{call_id} was approved in a turn that completed but never ran"
            ),
        }
    }
    if case.overrides_policy() {
        return;
    }
    // With a fixed policy, who asks is known.
    let for_session: Vec<&[String]> = requests
        .iter()
        .filter(|(id, _)| {
            accepted.get(*id).map(Vec::as_slice) == Some(&[ReviewDecision::ApprovedForSession])
        })
        .filter_map(|(_, r)| r.command)
        .collect();
    for e in events {
        match (&e.msg, case.policy) {
            (
                EventMsg::ExecCommandBegin {
                    call_id, command, ..
                },
                Policy::Untrusted,
            ) => {
                let safe = matches!(
                    command.first().map(String::as_str),
                    Some("echo" | "true" | "false")
                );
                assert!(
                    safe || requests.contains_key(call_id.as_str())
                        || for_session.contains(&command.as_slice()),
                    "under untrusted, {call_id} {command:?} ran without asking"
                );
            }
            (
                EventMsg::PatchApplyBegin {
                    call_id,
                    auto_approved,
                    ..
                },
                Policy::Untrusted,
            ) => {
                assert!(
                    requests.contains_key(call_id.as_str()) && !auto_approved,
                    "under untrusted, patch {call_id} was applied without asking"
                );
            }
            (EventMsg::ExecApprovalRequest { call_id, .. }, Policy::Never | Policy::OnRequest) => {
                panic!("{call_id}: commands never ask under {:?}", case.policy);
            }
            (EventMsg::ApplyPatchApprovalRequest { call_id, .. }, Policy::Never) => {
                panic!("{call_id}: patches never ask under never");
            }
            _ => {}
        }
    }
}

/// No task, waiter or stream of the session holds its services any more.
fn nothing_left(run: &Run) {
    assert_eq!(
        Arc::strong_count(&run.model),
        1,
        "something of the session still holds the model"
    );
    assert_eq!(
        Arc::strong_count(&run.recorder),
        1,
        "something of the session still holds the recorder"
    );
    if let Some(fake) = &run.fake {
        let begins = run
            .events
            .iter()
            .filter(|e| matches!(e.msg, EventMsg::ExecCommandBegin { .. }))
            .count();
        assert_eq!(
            fake.runs().len(),
            begins,
            "invariant 3: the shell ran commands without exec_command_begin"
        );
        assert_eq!(
            Arc::strong_count(fake),
            1,
            "something of the session still holds the shell"
        );
    }
}
