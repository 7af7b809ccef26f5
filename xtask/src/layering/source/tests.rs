//! Tests of the source rules: every spelling of a std I/O import in `session-state` and every
//! print macro in a library crate is found, while comments, tests and binaries are left alone.

use super::{SourceView, check};

/// Runs the source rules alone and renders the violations, sorted like the full check.
fn scan(view: &SourceView) -> Vec<String> {
    let mut out = Vec::new();
    check(view, &mut out);
    let mut lines: Vec<String> = out.iter().map(ToString::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn state_source_using_std_io_modules_is_reported_in_every_spelling() {
    let text = "\
//! Pure data, supposedly.
use std::fs;
use std::{collections::HashMap, net::TcpStream};
use std::{
    io,
    process,
};
fn f() { let _ = ::std::fs::read(\"x\"); }
use std::os::unix::fs::PermissionsExt;
";
    let view = SourceView::of(&[("session-state", "session-state/src/lib.rs", text)]);
    let expected: Vec<String> = [(2, "fs"), (3, "net"), (6, "process"), (8, "fs"), (9, "fs")]
        .iter()
        .map(|(line, module)| {
            format!(
                "session-state/src/lib.rs:{line}: session-state must not use std::{module}: it holds pure data, no I/O"
            )
        })
        .collect();
    assert_eq!(scan(&view), expected);
}

#[test]
fn std_io_in_comments_other_crates_std_or_other_library_crates_is_not_reported() {
    let state = "\
//! Mentions std::fs in its docs.
// use std::fs;
    /// See std::process.
use std::io::Read;
use other::std::fs;
";
    let view = SourceView::of(&[
        ("session-state", "session-state/src/lib.rs", state),
        (
            "session-services",
            "session-services/src/recorder.rs",
            "//! Real I/O.\nuse std::fs;\n",
        ),
    ]);
    assert_eq!(scan(&view), Vec::<String>::new());
}

#[test]
fn library_crates_printing_is_reported() {
    let view = SourceView::of(&[
        (
            "session-state",
            "session-state/src/lib.rs",
            "//! Data.\nfn f() { println!(\"x\"); }\n",
        ),
        (
            "session-services",
            "session-services/src/shell.rs",
            "//! Shell.\nfn f() {\n    eprint!(\"x\");\n}\n",
        ),
        (
            "session-core",
            "session-core/src/session.rs",
            "//! Core.\nfn f() { std::eprintln!(\"x\"); print!(\"y\"); }\n",
        ),
    ]);
    assert_eq!(
        scan(&view),
        [
            "session-core/src/session.rs:2: session-core must not use eprintln!: library crates never print",
            "session-core/src/session.rs:2: session-core must not use print!: library crates never print",
            "session-services/src/shell.rs:3: session-services must not use eprint!: library crates never print",
            "session-state/src/lib.rs:2: session-state must not use println!: library crates never print",
        ]
    );
}

#[test]
fn printing_in_tests_comments_and_binaries_is_not_reported() {
    let with_test_module = "\
//! Core.
// println!(\"commented out\");
fn f() {}
#[cfg(test)]
mod tests { fn g() { println!(\"x\"); } }
";
    let view = SourceView::of(&[
        (
            "session-core",
            "session-core/src/session.rs",
            with_test_module,
        ),
        (
            "session-core",
            "session-core/src/session/tests.rs",
            "//! Tests.\nfn g() { println!(\"x\"); }\n",
        ),
        (
            "session-services",
            "session-services/src/tests/support.rs",
            "//! Support.\nfn g() { eprintln!(\"x\"); }\n",
        ),
        (
            "session-cli",
            "session-cli/src/render.rs",
            "//! Render.\nfn g() { println!(\"x\"); }\n",
        ),
    ]);
    assert_eq!(scan(&view), Vec::<String>::new());
}

#[test]
fn a_checkout_under_a_directory_named_tests_is_still_scanned() {
    let view = SourceView::of(&[(
        "session-core",
        "/home/me/tests/repo/session-core/src/session.rs",
        "//! Core.\nfn f() { println!(\"x\"); }\n",
    )]);
    assert_eq!(scan(&view).len(), 1);
}
