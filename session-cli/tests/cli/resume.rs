//! `session resume`: continuing a recording, and refusing when there is none or when another
//! session is appending to it.

use std::collections::HashSet;

use session_testkit::{MockResponse, sse_responses_text};

use crate::support::{Mock, Sandbox, events_of, session_id, with_args};

#[test]
fn resume_last_appends_to_the_same_recording_and_sends_the_old_history() {
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_text(&["Noted: pineapple."], None)),
        MockResponse::sse(sse_responses_text(&["It was pineapple."], None)),
    ]);
    let sandbox = Sandbox::new();
    let first = sandbox.run(
        &with_args(
            &mock,
            "responses",
            &["exec", "--json", "remember the word pineapple"],
        ),
        None,
    );
    assert_eq!(first.code, Some(0), "{first:?}");
    let id = session_id(&events_of(&first.stdout)[0]);
    let recordings = sandbox.recordings();
    assert_eq!(recordings.len(), 1);
    let before = std::fs::read_to_string(&recordings[0]).unwrap();

    let second = sandbox.run(
        &with_args(
            &mock,
            "responses",
            &["resume", "--last", "which word was it?"],
        ),
        None,
    );
    assert_eq!(second.code, Some(0), "{second:?}");
    assert!(
        second.stderr.contains(&format!("resuming session {id}")),
        "{second:?}"
    );
    assert!(second.stdout.contains("It was pineapple."), "{second:?}");

    assert_eq!(
        sandbox.recordings(),
        recordings,
        "the same file, no new one"
    );
    let after = std::fs::read_to_string(&recordings[0]).unwrap();
    assert!(
        after.starts_with(&before),
        "the old lines are kept as they were"
    );
    assert!(after.lines().count() > before.lines().count());
    let mut seen = HashSet::new();
    for line in after.lines() {
        assert!(seen.insert(line), "duplicated line: {line}");
    }
    assert_eq!(after.matches("\"session_meta\"").count(), 1, "{after}");

    let resumed_request = mock.body(1);
    assert!(
        resumed_request.contains("remember the word pineapple"),
        "{resumed_request}"
    );
    assert!(
        resumed_request.contains("Noted: pineapple."),
        "{resumed_request}"
    );
    assert!(
        resumed_request.contains("which word was it?"),
        "{resumed_request}"
    );
}

#[test]
fn resume_last_with_no_recording_fails_with_a_clear_message() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["resume", "--last", "hello?"], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    let expected = format!(
        "no recorded session found for {}; start one with `session exec`",
        sandbox.cwd().display()
    );
    assert!(out.stderr.contains(&expected), "{out:?}");
    assert!(sandbox.recordings().is_empty(), "no session was started");
}

#[test]
fn resume_last_ignores_other_directories_unless_all_is_given() {
    let sandbox = Sandbox::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut command = sandbox.command_in(elsewhere.path(), &["exec", "hello from elsewhere"]);
    command.stdin(std::process::Stdio::null());
    let out = sandbox.run_command(command, None);
    assert_eq!(out.code, Some(0), "{out:?}");

    let here = sandbox.run(&["resume", "--last", "again"], None);
    assert_eq!(here.code, Some(1), "{here:?}");
    let all = sandbox.run(&["resume", "--last", "--all", "again"], None);
    assert_eq!(all.code, Some(0), "{all:?}");
    assert_eq!(sandbox.recordings().len(), 1);
}

#[test]
fn resume_by_id_prefix_continues_that_session() {
    let sandbox = Sandbox::new();
    let first = sandbox.run(&["exec", "--json", "first session"], None);
    let second = sandbox.run(&["exec", "--json", "second session"], None);
    let first_id = session_id(&events_of(&first.stdout)[0]);
    let second_id = session_id(&events_of(&second.stdout)[0]);
    assert_ne!(first_id, second_id);

    let prefix = &first_id[..first_id.len() - 4];
    let out = sandbox.run(&["resume", prefix, "--json", "once more"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let events = events_of(&out.stdout);
    assert_eq!(session_id(&events[0]), first_id);

    let missing = sandbox.run(&["resume", "no-such-id", "hi"], None);
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(
        missing
            .stderr
            .contains("no recorded session found for id no-such-id"),
        "{missing:?}"
    );
}

#[test]
fn resume_while_another_session_appends_fails_at_once_and_leaves_the_recording_alone() {
    let sandbox = Sandbox::new();
    let first = sandbox.run(&["exec", "--json", "first session"], None);
    assert_eq!(first.code, Some(0), "{first:?}");
    let recording = sandbox.recordings().remove(0);

    // Another process appends to it: a chat resumed on it, waiting for input.
    let mut holder = sandbox.spawn(&["resume", "--last"]);
    holder.expect_stderr("> ");
    let before = std::fs::read(&recording).unwrap();

    let second = sandbox.run(&["resume", "--last", "--json", "me too"], None);
    assert_eq!(second.code, Some(1), "{second:?}");
    let expected = format!(
        "recording {} is in use by another session (locked)",
        recording.display()
    );
    assert!(second.stderr.contains(&expected), "{second:?}");
    assert_eq!(
        std::fs::read(&recording).unwrap(),
        before,
        "the refused resume changed the recording"
    );

    holder.send("/quit");
    let held = holder.wait();
    assert_eq!(held.code, Some(0), "{held:?}");
    let third = sandbox.run(&["resume", "--last", "--json", "now me"], None);
    assert_eq!(third.code, Some(0), "{third:?}");
}
