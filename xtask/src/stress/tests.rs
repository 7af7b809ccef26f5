//! Tests of `cargo xtask stress`'s argument parsing and of reading the test's case count.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use super::{DEFAULT_CASES, Options, cases_run, it_executable, shares};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn no_arguments_mean_the_default_case_count() {
    let options = Options::parse(&[]).unwrap();
    assert_eq!(options.cases, DEFAULT_CASES);
    assert!(options.jobs >= 1);
}

#[test]
fn cases_are_read_in_both_flag_forms() {
    assert_eq!(Options::parse(&args(&["--cases", "12"])).unwrap().cases, 12);
    assert_eq!(Options::parse(&args(&["--cases=34"])).unwrap().cases, 34);
    assert_eq!(
        Options::parse(&args(&[
            "--jobs",
            "3",
            "--cases=5",
            "--kills",
            "7",
            "--fuzz-seconds=2"
        ]))
        .unwrap(),
        Options {
            cases: 5,
            jobs: 3,
            kills: 7,
            fuzz_seconds: 2
        }
    );
}

#[test]
fn bad_arguments_are_refused_with_the_usage() {
    for bad in [
        &["--cases"][..],
        &["--cases", "0"],
        &["--cases", "many"],
        &["--cases=-3"],
        &["--seeds", "3"],
        &["--jobs", "0"],
    ] {
        let error = Options::parse(&args(bad)).unwrap_err().to_string();
        assert!(
            error.contains("usage: cargo xtask stress"),
            "{bad:?}: {error}"
        );
    }
}

#[test]
fn the_case_count_is_read_from_the_tests_summary_line() {
    assert_eq!(cases_run("stateful cases run: 10000"), Some(10_000));
    assert_eq!(cases_run("  stateful cases run: 7 \n"), Some(7));
    assert_eq!(cases_run("stateful events seen: {}"), None);
    assert_eq!(cases_run("test result: ok. 1 passed"), None);
}

#[test]
fn cases_are_shared_out_without_empty_jobs() {
    assert_eq!(shares(10, 4), vec![3, 3, 2, 2]);
    assert_eq!(shares(3, 8), vec![1, 1, 1]);
    assert_eq!(shares(10_000, 1), vec![10_000]);
    assert_eq!(shares(7, 7).iter().sum::<u64>(), 7);
}

#[test]
fn the_it_executable_is_found_among_cargos_messages() {
    let it = r#"{"reason":"compiler-artifact","target":{"name":"it","kind":["test"]},"executable":"/t/release/deps/it-123"}"#;
    let lib =
        r#"{"reason":"compiler-artifact","target":{"name":"session_tests"},"executable":null}"#;
    assert_eq!(
        it_executable(it),
        Some(PathBuf::from("/t/release/deps/it-123"))
    );
    assert_eq!(it_executable(lib), None);
    assert_eq!(
        it_executable(r#"{"reason":"build-finished","success":true}"#),
        None
    );
    assert_eq!(it_executable("Compiling foo"), None);
}

#[test]
fn fuzz_runs_reads_libfuzzers_closing_line() {
    let log = "#1024 pulse\n#2804630\tDONE   cov: 729\nDone 2804630 runs in 21 second(s)\n";
    assert_eq!(super::fuzz_runs(log), Some(2_804_630));
    assert_eq!(super::fuzz_runs("nothing here"), None);
}
