//! Tests of `BoundedText`: head and tail kept, memory bounded, characters whole.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn short_text_is_kept_whole() {
    let mut t = BoundedText::new(16);
    t.push_str("abc");
    t.push_str("def");
    assert_eq!(t.to_text(), "abcdef");
    assert_eq!(t.omitted(), 0);
    assert!(BoundedText::new(16).is_empty());
}

#[test]
fn long_text_keeps_head_and_tail_in_bounded_memory() {
    let mut t = BoundedText::new(8);
    for chunk in ["0123", "4567", "89ab", "cdef", "ghij"] {
        t.push_str(chunk);
        assert!(t.len() <= 12, "kept {} bytes", t.len());
    }
    assert_eq!(t.to_text(), "0123\n[... 12 bytes omitted ...]\nghij");
}

#[test]
fn one_huge_push_is_not_copied_whole() {
    let mut t = BoundedText::new(8);
    t.push_str(&"x".repeat(1_000_000));
    assert!(t.len() <= 8);
    assert_eq!(t.to_text(), "xxxx\n[... 999992 bytes omitted ...]\nxxxx");
}

#[test]
fn cuts_fall_on_character_boundaries() {
    let mut t = BoundedText::new(7);
    for _ in 0..100 {
        t.push_str("é€");
    }
    let text = t.to_text();
    let (head, rest) = text.split_once("\n[... ").unwrap();
    let (count, tail) = rest.split_once(" bytes omitted ...]\n").unwrap();
    assert!(head.starts_with('é') && tail.ends_with('€'));
    let omitted: usize = count.parse().unwrap();
    assert_eq!(head.len() + omitted + tail.len(), 500);
}
