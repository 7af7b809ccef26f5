//! Tests of the one truncation of text bound for the model.
#![allow(clippy::unwrap_used)]

use super::*;

fn lines(n: usize) -> String {
    (0..n).map(|i| format!("line {i}\n")).collect()
}

fn within_budget(text: &str) -> bool {
    text.len() <= MAX_BYTES && line_count(text) <= MAX_LINES
}

#[test]
fn text_within_the_budget_is_untouched() {
    for text in ["", "x", "a\nb\n", &lines(MAX_LINES), &"y".repeat(MAX_BYTES)] {
        assert!(matches!(for_model(text), Cow::Borrowed(t) if t == text));
    }
}

#[test]
fn many_lines_keep_the_head_and_the_tail() {
    let text = lines(10_000);
    let out = for_model(&text);
    assert!(within_budget(&out), "{} bytes", out.len());
    assert!(out.starts_with("line 0\nline 1\n"));
    assert!(out.ends_with("line 9998\nline 9999\n"));
    let marker = out.lines().find(|l| l.starts_with("[...")).unwrap();
    let kept = out.lines().count() - 1;
    assert_eq!(
        marker,
        format!(
            "[... {} lines ({} bytes) omitted ...]",
            10_000 - kept,
            text.len() - (out.len() - marker.len() - 1)
        )
    );
}

#[test]
fn one_huge_line_is_cut_inside_it() {
    let text = format!("{}{}", "a".repeat(1_000_000), "b".repeat(1_000_000));
    let out = for_model(&text);
    assert!(within_budget(&out), "{} bytes", out.len());
    assert!(out.starts_with("aaaa"));
    assert!(out.ends_with("bbbb"));
    assert!(out.contains("[... 1 lines ("));
}

#[test]
fn cuts_fall_on_character_boundaries() {
    let text = "é".repeat(MAX_BYTES);
    let out = for_model(&text);
    assert!(within_budget(&out));
    assert!(out.starts_with('é') && out.ends_with('é'));
}

#[test]
fn applying_it_twice_changes_nothing() {
    let long_lines: String = (0..500)
        .map(|i| format!("{i}{}\n", "z".repeat(i * 7)))
        .collect();
    for text in [lines(10_000), long_lines, "q".repeat(100_000)] {
        let once = for_model(&text).into_owned();
        assert_eq!(for_model(&once), once.as_str());
    }
}
