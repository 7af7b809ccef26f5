//! Tests of applying update chunks to text.

use super::*;

fn chunk(context: Option<&str>, old: &[&str], new: &[&str]) -> UpdateChunk {
    UpdateChunk {
        context: context.map(str::to_owned),
        old_lines: old.iter().map(|s| (*s).to_owned()).collect(),
        new_lines: new.iter().map(|s| (*s).to_owned()).collect(),
        end_of_file: false,
    }
}

#[test]
fn replaces_lines_after_the_context() {
    let old = "fn a() {\n    1\n}\nfn b() {\n    1\n}\n";
    let out = apply_chunks(old, &[chunk(Some("fn b() {"), &["    1"], &["    2"])]);
    assert_eq!(
        out,
        Ok("fn a() {\n    1\n}\nfn b() {\n    2\n}\n".to_owned())
    );
}

#[test]
fn pure_addition_appends_and_several_chunks_apply_in_order() {
    let old = "a\nb\nc\n";
    let out = apply_chunks(
        old,
        &[
            chunk(None, &["a"], &["A"]),
            chunk(None, &["c"], &["C"]),
            chunk(None, &[], &["d"]),
        ],
    );
    assert_eq!(out, Ok("A\nb\nC\nd\n".to_owned()));
}

#[test]
fn trailing_whitespace_differences_are_tolerated() {
    let out = apply_chunks("x  \ny\n", &[chunk(None, &["x", "y"], &["z"])]);
    assert_eq!(out, Ok("z\n".to_owned()));
}

#[test]
fn missing_lines_and_context_are_errors() {
    assert!(apply_chunks("a\n", &[chunk(None, &["nope"], &["x"])]).is_err());
    assert!(apply_chunks("a\n", &[chunk(Some("ctx"), &["a"], &["x"])]).is_err());
}
