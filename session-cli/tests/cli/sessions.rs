//! `session sessions`: the listing of recordings.

use crate::support::{Sandbox, events_of, session_id};

#[test]
fn sessions_lists_recordings_newest_first_with_id_turns_and_first_message() {
    let sandbox = Sandbox::new();
    let older = sandbox.run(&["exec", "--json", "the older prompt"], None);
    let newer = sandbox.run(&["exec", "--json", "the newer prompt"], None);
    let older_id = session_id(&events_of(&older.stdout)[0]);
    let newer_id = session_id(&events_of(&newer.stdout)[0]);
    let elsewhere = tempfile::tempdir().unwrap();
    let mut command = sandbox.command_in(elsewhere.path(), &["exec", "from elsewhere"]);
    command.stdin(std::process::Stdio::null());
    assert_eq!(sandbox.run_command(command, None).code, Some(0));

    let out = sandbox.run(&["sessions"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "a header and this directory's two sessions: {out:?}"
    );
    assert!(lines[0].starts_with("ID"), "{out:?}");
    assert!(
        lines[1].starts_with(&newer_id) && lines[1].contains("the newer prompt"),
        "{out:?}"
    );
    assert!(
        lines[2].starts_with(&older_id) && lines[2].contains("the older prompt"),
        "{out:?}"
    );
    let cwd = sandbox.cwd().display().to_string();
    assert!(lines[1].contains(&cwd), "{out:?}");
    let columns: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(columns[3], "1", "one turn: {out:?}");

    let all = sandbox.run(&["sessions", "--all"], None);
    assert_eq!(all.stdout.lines().count(), 4, "{all:?}");
    assert!(
        all.stdout
            .lines()
            .nth(1)
            .unwrap()
            .contains("from elsewhere"),
        "{all:?}"
    );
}

#[test]
fn sessions_with_nothing_recorded_says_so() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&["sessions"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("no recorded sessions"), "{out:?}");
}
