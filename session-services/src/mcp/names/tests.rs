//! Tests of qualified tool names: valid, unique, stable, and plain when nothing forces otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use super::*;

#[test]
fn plain_names_stay_readable() {
    let names = qualify(&[
        ("docs", "search"),
        ("git-hub", "open_pr"),
        ("fs", "read.file"),
    ]);
    assert_eq!(
        names,
        [
            "mcp__docs__search",
            "mcp__git-hub__open_pr",
            "mcp__fs__read_file"
        ]
    );
}

#[test]
fn odd_characters_become_underscores() {
    assert_eq!(sanitize("with space"), "with_space");
    assert_eq!(sanitize("ünï.cödé"), "_n__c_d_");
    assert_eq!(sanitize(""), "_");
}

#[test]
fn every_name_is_valid_unique_and_stable() {
    let long = "x".repeat(100);
    let pairs = [
        ("a", "b.c"),
        ("a", "b_c"),
        ("a", "b c"),
        ("dup.server", "echo"),
        ("dup_server", "echo"),
        ("s", long.as_str()),
        ("s", &long[..99]),
        ("ü", "ü"),
        ("u", "ü"),
    ];
    let names = qualify(&pairs);
    for name in &names {
        assert!(is_valid(name), "{name}");
    }
    let distinct: BTreeSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "{names:?}");
    assert_eq!(
        names,
        qualify(&pairs),
        "the same input gives the same names"
    );
}

#[test]
fn collisions_and_long_names_get_a_hash_suffix_and_others_do_not() {
    let long = "y".repeat(80);
    let names = qualify(&[
        ("a", "b.c"),
        ("a", "b_c"),
        ("a", "ok"),
        ("a", long.as_str()),
    ]);
    assert!(names[0].starts_with("mcp__a__b_c_") && names[0].len() == "mcp__a__b_c_".len() + 8);
    assert!(names[1].starts_with("mcp__a__b_c_"));
    assert_ne!(names[0], names[1]);
    assert_eq!(names[2], "mcp__a__ok");
    assert_eq!(names[3].len(), MAX_NAME_LEN);
    assert!(names[3].starts_with("mcp__a__yyyy"));
}

#[test]
fn a_suffix_depends_on_the_pair_not_on_its_neighbours() {
    let alone = qualify(&[("a", "b.c"), ("a", "b_c")]);
    let crowded = qualify(&[("z", "q"), ("a", "b_c"), ("m", "n"), ("a", "b.c")]);
    assert_eq!(alone[0], crowded[3]);
    assert_eq!(alone[1], crowded[1]);
}

#[test]
fn the_same_pair_twice_gets_the_same_name() {
    let names = qualify(&[("a", "t"), ("a", "t")]);
    assert_eq!(names[0], names[1]);
    assert_eq!(names[0], "mcp__a__t");
}

#[test]
fn leftover_clashes_get_counters() {
    let mut names = vec![
        "mcp__a__x".to_owned(),
        "mcp__a__x".to_owned(),
        "mcp__a__x".to_owned(),
    ];
    separate_leftovers(&[("a", "1"), ("a", "2"), ("a", "3")], &mut names);
    assert_eq!(names, ["mcp__a__x", "mcp__a__x_2", "mcp__a__x_3"]);
}
