//! Tests of choosing a session to resume and of the listing's formatting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use super::{Selector, readable_time, selector, time_from_file_name, truncate};
use crate::args::{ResumeArgs, RunOptions};

fn args(last: bool, all: bool, words: &[&str]) -> ResumeArgs {
    ResumeArgs {
        last,
        all,
        words: words.iter().map(|w| (*w).to_owned()).collect(),
        run: RunOptions::default(),
    }
}

#[test]
fn last_takes_an_optional_prompt_and_an_id_comes_first_otherwise() {
    assert_eq!(
        selector(&args(true, false, &[])).unwrap(),
        (Selector::Last { all: false }, None)
    );
    assert_eq!(
        selector(&args(true, true, &["go on"])).unwrap(),
        (Selector::Last { all: true }, Some("go on".to_owned()))
    );
    assert!(selector(&args(true, false, &["a", "b"])).is_err());
    assert_eq!(
        selector(&args(false, false, &["0199", "go on"])).unwrap(),
        (Selector::Id("0199".to_owned()), Some("go on".to_owned()))
    );
    assert!(selector(&args(false, false, &[])).is_err());
}

#[test]
fn start_times_are_readable_from_the_meta_or_the_file_name() {
    assert_eq!(
        readable_time("2025-01-02T03:04:05.678Z").as_deref(),
        Some("2025-01-02 03:04:05")
    );
    assert_eq!(readable_time(""), None);
    let path = Path::new("/h/sessions/2025/01/02/rollout-2025-01-02T03-04-05-0199abc.jsonl");
    assert_eq!(
        time_from_file_name(path).as_deref(),
        Some("2025-01-02 03:04:05")
    );
}

#[test]
fn long_or_multi_line_messages_are_cut_to_one_line() {
    assert_eq!(truncate("short", 10), "short");
    assert_eq!(truncate("0123456789abc", 10), "012345678…");
    assert_eq!(truncate("first\nsecond", 10), "first…");
}
