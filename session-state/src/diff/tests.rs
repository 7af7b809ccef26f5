//! Tests of `diff`: adds, deletes, updates, renames, reverts and the multi-file unified diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use super::*;

fn tracker() -> TurnDiffTracker {
    TurnDiffTracker::new(Some(PathBuf::from("/repo")))
}

fn p(path: &str) -> PathBuf {
    Path::new("/repo").join(path)
}

#[test]
fn a_fresh_tracker_has_no_diff() {
    let t = tracker();
    assert!(!t.has_changes());
    assert_eq!(t.unified_diff(), None);
}

#[test]
fn single_file_changes_render_as_git_diffs() {
    type Step = fn(&mut TurnDiffTracker);
    // (label, steps, exact diff)
    let cases: Vec<(&str, Step, &str)> = vec![
        (
            "add",
            |t| t.record_change(&p("new.txt"), None, Some("a\nb\n")),
            "diff --git a/new.txt b/new.txt\n\
             new file mode 100644\n\
             --- /dev/null\n\
             +++ b/new.txt\n\
             @@ -0,0 +1,2 @@\n\
             +a\n\
             +b\n",
        ),
        (
            "delete",
            |t| t.record_change(&p("old.txt"), Some("x\n"), None),
            "diff --git a/old.txt b/old.txt\n\
             deleted file mode 100644\n\
             --- a/old.txt\n\
             +++ /dev/null\n\
             @@ -1 +0,0 @@\n\
             -x\n",
        ),
        (
            "update",
            |t| t.record_change(&p("f.txt"), Some("a\nb\nc\n"), Some("a\nB\nc\n")),
            "diff --git a/f.txt b/f.txt\n\
             --- a/f.txt\n\
             +++ b/f.txt\n\
             @@ -1,3 +1,3 @@\n \
             a\n\
             -b\n\
             +B\n \
             c\n",
        ),
        (
            "update keeps the first baseline",
            |t| {
                t.record_change(&p("f.txt"), Some("1\n"), Some("2\n"));
                t.record_change(&p("f.txt"), Some("2\n"), Some("3\n"));
            },
            "diff --git a/f.txt b/f.txt\n\
             --- a/f.txt\n\
             +++ b/f.txt\n\
             @@ -1 +1 @@\n\
             -1\n\
             +3\n",
        ),
        (
            "pure rename",
            |t| t.record_move(&p("a.txt"), &p("b.txt"), "same\n", "same\n"),
            "diff --git a/a.txt b/b.txt\n\
             rename from a.txt\n\
             rename to b.txt\n",
        ),
        (
            "rename with edits",
            |t| t.record_move(&p("a.txt"), &p("b.txt"), "one\ntwo\n", "one\n2\n"),
            "diff --git a/a.txt b/b.txt\n\
             rename from a.txt\n\
             rename to b.txt\n\
             --- a/a.txt\n\
             +++ b/b.txt\n\
             @@ -1,2 +1,2 @@\n \
             one\n\
             -two\n\
             +2\n",
        ),
        (
            "edit then rename",
            |t| {
                t.record_change(&p("a.txt"), Some("v1\n"), Some("v2\n"));
                t.record_move(&p("a.txt"), &p("b.txt"), "v2\n", "v3\n");
            },
            "diff --git a/a.txt b/b.txt\n\
             rename from a.txt\n\
             rename to b.txt\n\
             --- a/a.txt\n\
             +++ b/b.txt\n\
             @@ -1 +1 @@\n\
             -v1\n\
             +v3\n",
        ),
        (
            "rename then edit at the new path",
            |t| {
                t.record_move(&p("a.txt"), &p("b.txt"), "v1\n", "v1\n");
                t.record_change(&p("b.txt"), Some("v1\n"), Some("v2\n"));
            },
            "diff --git a/a.txt b/b.txt\n\
             rename from a.txt\n\
             rename to b.txt\n\
             --- a/a.txt\n\
             +++ b/b.txt\n\
             @@ -1 +1 @@\n\
             -v1\n\
             +v2\n",
        ),
        (
            "chained renames collapse into one",
            |t| {
                t.record_move(&p("a.txt"), &p("b.txt"), "x\n", "x\n");
                t.record_move(&p("b.txt"), &p("c.txt"), "x\n", "x\n");
            },
            "diff --git a/a.txt b/c.txt\n\
             rename from a.txt\n\
             rename to c.txt\n",
        ),
        (
            "added then moved shows as added at the new path",
            |t| {
                t.record_change(&p("a.txt"), None, Some("n\n"));
                t.record_move(&p("a.txt"), &p("b.txt"), "n\n", "n\n");
            },
            "diff --git a/b.txt b/b.txt\n\
             new file mode 100644\n\
             --- /dev/null\n\
             +++ b/b.txt\n\
             @@ -0,0 +1 @@\n\
             +n\n",
        ),
        (
            "moved then deleted shows as deleted at the old path",
            |t| {
                t.record_move(&p("a.txt"), &p("b.txt"), "o\n", "o\n");
                t.record_change(&p("b.txt"), Some("o\n"), None);
            },
            "diff --git a/a.txt b/a.txt\n\
             deleted file mode 100644\n\
             --- a/a.txt\n\
             +++ /dev/null\n\
             @@ -1 +0,0 @@\n\
             -o\n",
        ),
        (
            "an empty new file has no hunks",
            |t| t.record_change(&p("empty"), None, Some("")),
            "diff --git a/empty b/empty\n\
             new file mode 100644\n",
        ),
        (
            "a missing final newline is marked",
            |t| t.record_change(&p("f"), Some("a\n"), Some("a\nb")),
            "diff --git a/f b/f\n\
             --- a/f\n\
             +++ b/f\n\
             @@ -1 +1,2 @@\n \
             a\n\
             +b\n\
             \\ No newline at end of file\n",
        ),
    ];
    for (label, step, want) in cases {
        let mut t = tracker();
        step(&mut t);
        assert!(t.has_changes(), "{label}");
        assert_eq!(t.unified_diff().as_deref(), Some(want), "{label}");
    }
}

#[test]
fn changes_that_end_where_they_started_leave_no_diff() {
    type Step = fn(&mut TurnDiffTracker);
    let cases: Vec<(&str, Step)> = vec![
        ("change then revert", |t| {
            t.record_change(&p("f"), Some("x\n"), Some("y\n"));
            t.record_change(&p("f"), Some("y\n"), Some("x\n"));
        }),
        ("add then delete", |t| {
            t.record_change(&p("f"), None, Some("y\n"));
            t.record_change(&p("f"), Some("y\n"), None);
        }),
        ("delete then recreate", |t| {
            t.record_change(&p("f"), Some("x\n"), None);
            t.record_change(&p("f"), None, Some("x\n"));
        }),
        ("move and move back", |t| {
            t.record_move(&p("a"), &p("b"), "x\n", "x\n");
            t.record_move(&p("b"), &p("a"), "x\n", "x\n");
        }),
        ("add, move, delete", |t| {
            t.record_change(&p("a"), None, Some("x\n"));
            t.record_move(&p("a"), &p("b"), "x\n", "x\n");
            t.record_change(&p("b"), Some("x\n"), None);
        }),
        ("write the same content", |t| {
            t.record_change(&p("f"), Some("x\n"), Some("x\n"));
        }),
        ("move onto itself", |t| {
            t.record_move(&p("f"), &p("f"), "x\n", "x\n");
        }),
    ];
    for (label, step) in cases {
        let mut t = tracker();
        step(&mut t);
        assert!(!t.has_changes(), "{label}");
        assert_eq!(t.unified_diff(), None, "{label}");
    }
}

#[test]
fn a_new_file_in_place_of_a_moved_one_keeps_both() {
    let mut t = tracker();
    t.record_move(&p("a.txt"), &p("b.txt"), "old\n", "old\n");
    t.record_change(&p("a.txt"), None, Some("fresh\n"));
    let diff = t.unified_diff().unwrap();
    assert_eq!(
        diff,
        "diff --git a/a.txt b/b.txt\n\
         rename from a.txt\n\
         rename to b.txt\n\
         diff --git a/a.txt b/a.txt\n\
         new file mode 100644\n\
         --- /dev/null\n\
         +++ b/a.txt\n\
         @@ -0,0 +1 @@\n\
         +fresh\n"
    );
}

#[test]
fn a_move_onto_a_tracked_file_shows_the_source_deleted_and_the_target_changed() {
    let mut t = tracker();
    t.record_change(&p("b.txt"), Some("b0\n"), Some("b1\n"));
    t.record_move(&p("a.txt"), &p("b.txt"), "a0\n", "a1\n");
    assert_eq!(
        t.unified_diff().unwrap(),
        "diff --git a/a.txt b/a.txt\n\
         deleted file mode 100644\n\
         --- a/a.txt\n\
         +++ /dev/null\n\
         @@ -1 +0,0 @@\n\
         -a0\n\
         diff --git a/b.txt b/b.txt\n\
         --- a/b.txt\n\
         +++ b/b.txt\n\
         @@ -1 +1 @@\n\
         -b0\n\
         +a1\n"
    );
}

#[test]
fn paths_show_relative_to_the_root_only_when_under_it() {
    let cases = [
        (Some("/repo"), "/repo/src/a.rs", "src/a.rs"),
        (Some("/repo/"), "/repo/a.rs", "a.rs"),
        (Some("/repo"), "/elsewhere/a.rs", "/elsewhere/a.rs"),
        (Some("/repo"), "/repository/a.rs", "/repository/a.rs"),
        (None, "/repo/a.rs", "/repo/a.rs"),
        (None, "rel/a.rs", "rel/a.rs"),
    ];
    for (root, path, shown) in cases {
        let mut t = TurnDiffTracker::new(root.map(PathBuf::from));
        t.record_change(Path::new(path), Some("1\n"), Some("2\n"));
        let diff = t.unified_diff().unwrap();
        let header = format!("diff --git a/{shown} b/{shown}\n--- a/{shown}\n+++ b/{shown}\n");
        assert!(diff.starts_with(&header), "{root:?} {path}: {diff}");
    }
}

#[test]
fn a_multi_file_diff_lists_files_in_path_order_and_matches_the_snapshot() {
    let mut t = tracker();
    // Recorded out of order on purpose.
    t.record_change(
        &p("src/main.rs"),
        Some("fn main() {\n    println!(\"hi\");\n}\n"),
        Some("fn main() {\n    println!(\"hello\");\n}\n"),
    );
    t.record_change(&p("README.md"), None, Some("# Title\n\nWords.\n"));
    t.record_move(
        &p("docs/old.md"),
        &p("docs/new.md"),
        "keep\nchange me\nkeep\n",
        "keep\nchanged\nkeep\n",
    );
    t.record_change(&p("obsolete.txt"), Some("gone\n"), None);
    t.record_move(
        &p("assets/logo.svg"),
        &p("img/logo.svg"),
        "<svg/>\n",
        "<svg/>\n",
    );
    t.record_change(&p("untouched.txt"), Some("same\n"), Some("other\n"));
    t.record_change(&p("untouched.txt"), Some("other\n"), Some("same\n"));

    let diff = t.unified_diff().unwrap();
    let headers: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with("diff --git "))
        .collect();
    assert_eq!(
        headers,
        [
            "diff --git a/README.md b/README.md",
            "diff --git a/assets/logo.svg b/img/logo.svg",
            "diff --git a/docs/old.md b/docs/new.md",
            "diff --git a/obsolete.txt b/obsolete.txt",
            "diff --git a/src/main.rs b/src/main.rs",
        ]
    );
    for needle in [
        "new file mode 100644\n--- /dev/null\n+++ b/README.md\n",
        "deleted file mode 100644\n--- a/obsolete.txt\n+++ /dev/null\n",
        "rename from assets/logo.svg\nrename to img/logo.svg\ndiff --git",
        "rename from docs/old.md\nrename to docs/new.md\n--- a/docs/old.md\n+++ b/docs/new.md\n",
    ] {
        assert!(diff.contains(needle), "missing {needle:?} in\n{diff}");
    }
    assert!(!diff.contains("untouched"));
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!("turn_diff_multi_file", diff);
    });
}
