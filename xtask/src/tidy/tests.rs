//! Tests of the tidy check on throwaway trees: each rule fires with its location, and build
//! output and hidden directories are left alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;

use super::{MAX_FILE_BYTES, check};

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn problems(root: &Path) -> Vec<String> {
    check(root)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn clean_tree_has_no_problems() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "Cargo.toml", "[workspace]\n");
    write(
        dir.path(),
        "a/src/lib.rs",
        "//! Why a exists.\npub fn f() {}\n",
    );
    write(
        dir.path(),
        "a/src/b.rs",
        "\n\n//! Blank lines before the header are fine.\n",
    );
    write(
        dir.path(),
        "a/tests/snapshots/it__shape.snap",
        "---\nsource: x\n---\nok\n",
    );
    assert_eq!(problems(dir.path()), Vec::<String>::new());
}

#[test]
fn rust_file_without_a_leading_module_comment_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/no_header.rs", "fn main() {}\n");
    write(
        dir.path(),
        "a/attribute_first.rs",
        "#![allow(missing_docs)]\n//! Too late.\n",
    );
    write(
        dir.path(),
        "a/plain_comment.rs",
        "// not a module comment\n",
    );
    write(dir.path(), "a/empty.rs", "\n");
    assert_eq!(
        problems(dir.path()),
        [
            "a/attribute_first.rs:1: the first line must be a `//!` comment saying why the module exists",
            "a/empty.rs:1: empty file: it needs a `//!` comment saying why the module exists",
            "a/no_header.rs:1: the first line must be a `//!` comment saying why the module exists",
            "a/plain_comment.rs:1: the first line must be a `//!` comment saying why the module exists",
        ]
    );
}

#[test]
fn debugging_leftovers_and_skipped_tests_are_reported_with_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        "//! A module.",
        &format!("fn f() {{ {}1); }}", concat!("dbg", "!(")),
        &format!("{}]", concat!("#[", "ignore")),
        &format!("{} = \"slow\"]", concat!("#[", "ignore")),
        &format!("{}]", concat!("#[", "should_panic")),
        &format!("{}(expected = \"boom\")]", concat!("#[", "should_panic")),
        "#[ignored_attribute_of_another_name]",
        "",
    ]
    .join("\n");
    write(dir.path(), "src/lib.rs", &text);
    assert_eq!(
        problems(dir.path()),
        [
            "src/lib.rs:2: leftover dbg! call",
            "src/lib.rs:3: ignored test: fix it or delete it",
            "src/lib.rs:4: ignored test: fix it or delete it",
            "src/lib.rs:5: should_panic test: assert on the Err instead",
            "src/lib.rs:6: should_panic test: assert on the Err instead",
        ]
    );
}

#[test]
fn pending_snapshots_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tests/snapshots/it__a.snap.new", "new");
    write(dir.path(), "tests/.it__b.pending-snap", "hidden pending");
    write(dir.path(), "tests/it__c.pending-snap", "pending");
    assert_eq!(
        problems(dir.path()),
        [
            "tests/it__c.pending-snap: pending insta snapshot: review it with `cargo insta review`",
            "tests/snapshots/it__a.snap.new: pending insta snapshot: review it with `cargo insta review`",
        ]
    );
}

#[test]
fn files_larger_than_one_mebibyte_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let limit = usize::try_from(MAX_FILE_BYTES).unwrap();
    write(dir.path(), "data/at_limit.bin", &"x".repeat(limit));
    write(dir.path(), "data/over_limit.bin", &"x".repeat(limit + 1));
    assert_eq!(
        problems(dir.path()),
        [format!(
            "data/over_limit.bin: file is {} bytes, more than the 1 MiB limit",
            limit + 1
        )]
    );
}

#[test]
fn build_output_and_hidden_directories_are_skipped_but_a_target_module_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "fn main() {}\n";
    write(dir.path(), "Cargo.toml", "[workspace]\n");
    write(dir.path(), "target/debug/build/out.rs", bad);
    write(dir.path(), "fuzz/Cargo.toml", "[package]\n");
    write(dir.path(), "fuzz/target/gen.rs", bad);
    write(
        dir.path(),
        "elsewhere/CACHEDIR.TAG",
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    );
    write(dir.path(), "elsewhere/gen.rs", bad);
    write(dir.path(), ".git/hooks/x.rs", bad);
    write(dir.path(), "a/src/target/mod.rs", bad);
    assert_eq!(
        problems(dir.path()),
        [
            "a/src/target/mod.rs:1: the first line must be a `//!` comment saying why the module exists"
        ]
    );
}
