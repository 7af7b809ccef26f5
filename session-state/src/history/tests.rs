//! Tests of `history`: appending, O(1) snapshots that share items, cached JSON, well-formedness
//! and closing open calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::items::{ContentItem, ReasoningSummaryPart};

fn call(id: &str) -> ResponseItem {
    ResponseItem::FunctionCall {
        id: None,
        name: "shell".to_owned(),
        arguments: r#"{"command":["ls"]}"#.to_owned(),
        call_id: id.to_owned(),
    }
}

fn output(id: &str) -> ResponseItem {
    ResponseItem::FunctionCallOutput {
        call_id: id.to_owned(),
        output: "ok".to_owned(),
    }
}

fn user(t: &str) -> ResponseItem {
    ResponseItem::user_text(t)
}

fn varied_items() -> Vec<ResponseItem> {
    vec![
        user("hi \"there\"\n"),
        ResponseItem::Reasoning {
            id: "rs_1".to_owned(),
            summary: vec![ReasoningSummaryPart::SummaryText {
                text: "thinking".to_owned(),
            }],
            encrypted_content: Some("opaque".to_owned()),
        },
        ResponseItem::Message {
            id: Some("msg_1".to_owned()),
            role: "user".to_owned(),
            content: vec![
                ContentItem::InputText {
                    text: "look".to_owned(),
                },
                ContentItem::InputImage {
                    image_url: "data:image/png;base64,AA==".to_owned(),
                },
            ],
        },
        call("c1"),
        output("c1"),
        ResponseItem::assistant_text("done ✓"),
    ]
}

#[test]
fn appending_keeps_order_and_returns_the_stored_items() {
    let mut h = ConversationHistory::new();
    assert!(h.is_empty());
    let added = h.record_items(vec![user("a"), user("b")]);
    assert_eq!(added.len(), 2);
    let added2 = h.record_items(vec![user("c")]);
    assert_eq!(h.len(), 3);
    assert!(!h.is_empty());
    let texts: Vec<String> = h.parsed().filter_map(|i| i.message_text()).collect();
    assert_eq!(texts, ["a", "b", "c"]);
    let snap = h.snapshot();
    // What `record_items` returned is the very item stored, not a copy.
    assert!(Arc::ptr_eq(&added[0], &snap.items()[0]));
    assert!(Arc::ptr_eq(&added[1], &snap.items()[1]));
    assert!(Arc::ptr_eq(&added2[0], &snap.items()[2]));
    assert_eq!(snap.parsed().next_back(), Some(user("c")));
}

#[test]
fn a_snapshot_shares_every_item_and_ignores_later_appends() {
    let mut h = ConversationHistory::from_items(varied_items());
    let snap = h.snapshot();
    let again = h.snapshot();
    assert!(
        Arc::ptr_eq(&snap.items, &again.items),
        "a snapshot is one Arc clone"
    );
    assert_eq!(snap.len(), h.len());

    h.record_items(vec![user("later")]);
    h.record_shared(vec![Arc::new(HistoryItem::new(user("shared")))]);
    assert_eq!(snap.len(), varied_items().len());
    assert_eq!(h.len(), varied_items().len() + 2);
    assert_eq!(snap.parsed().collect::<Vec<_>>(), varied_items());

    let after = h.snapshot();
    for (old, new) in snap.items().iter().zip(after.items()) {
        assert!(Arc::ptr_eq(old, new), "appending copied an item");
    }
}

#[test]
fn a_snapshot_survives_replacing_the_history() {
    let mut h = ConversationHistory::from_items(vec![user("a"), user("b")]);
    let snap = h.snapshot();
    h.replace(vec![user("summary")]);
    assert_eq!(h.parsed().collect::<Vec<_>>(), vec![user("summary")]);
    assert_eq!(
        snap.parsed().collect::<Vec<_>>(),
        vec![user("a"), user("b")]
    );
}

#[test]
fn cached_json_equals_serializing_the_item() {
    let h = ConversationHistory::from_items(varied_items());
    for stored in h.snapshot().items() {
        assert_eq!(
            stored.json(),
            serde_json::to_string(&stored.item()).unwrap()
        );
        let back: ResponseItem = serde_json::from_str(stored.json()).unwrap();
        assert_eq!(back, stored.item());
    }
}

#[test]
fn json_array_is_valid_json_equal_to_the_items() {
    let cases: Vec<Vec<ResponseItem>> = vec![Vec::new(), vec![user("one")], varied_items()];
    for items in cases {
        let h = ConversationHistory::from_items(items.clone());
        let text = h.snapshot().to_json_array();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, serde_json::to_value(&items).unwrap());
        assert_eq!(text, serde_json::to_string(&items).unwrap());
    }
}

/// A history whose JSON array spans several chunks: `n` items of about 10 KiB each.
fn big_items(n: usize) -> Vec<ResponseItem> {
    (0..n)
        .map(|i| user(&format!("{i}:{}", "x\"y\n".repeat(2_500))))
        .collect()
}

#[test]
fn json_chunks_join_to_the_json_array_and_know_its_length_up_front() {
    let cases: Vec<Vec<ResponseItem>> = vec![
        Vec::new(),
        vec![user("one")],
        varied_items(),
        big_items(20),
        // One item larger than a chunk on its own.
        vec![
            user(&"z".repeat(3 * JsonArrayChunks::CHUNK_BYTES)),
            user("after"),
        ],
    ];
    for items in cases {
        let snapshot = ConversationHistory::from_items(items.clone()).snapshot();
        let chunks = snapshot.json_chunks();
        let len = chunks.byte_len();
        assert_eq!(chunks.item_count(), items.len());
        let pieces: Vec<Vec<u8>> = chunks.collect();
        let joined = pieces.concat();
        assert_eq!(len, joined.len());
        assert_eq!(joined, snapshot.to_json_array().into_bytes());
        assert!(pieces.iter().all(|p| !p.is_empty()));
    }
}

#[test]
fn json_chunks_hold_whole_items_and_stay_near_the_chunk_size() {
    let items = big_items(30);
    let snapshot = ConversationHistory::from_items(items).snapshot();
    let largest_item = snapshot
        .items()
        .iter()
        .map(|h| h.json().len())
        .max()
        .unwrap();
    let pieces: Vec<Vec<u8>> = snapshot.json_chunks().collect();
    assert!(pieces.len() > 1, "{} chunks", pieces.len());
    for piece in &pieces {
        assert!(piece.len() < JsonArrayChunks::CHUNK_BYTES + largest_item + 2);
    }
    // Every boundary falls between two items, so each later chunk starts with a separator.
    for next in &pieces[1..] {
        assert_eq!(next[0], b',');
    }
}

#[test]
fn json_chunks_of_chosen_items_leave_the_others_out() {
    let mut items = big_items(20);
    items.extend(varied_items());
    items.extend(big_items(15));
    let snapshot = ConversationHistory::from_items(items).snapshot();
    const LAST: usize = 20 + 6 + 15 - 1;
    assert_eq!(snapshot.len(), LAST + 1);
    type Keep = fn(usize, &HistoryItem) -> bool;
    let cases: [(&str, Keep); 6] = [
        ("none", |_, _| false),
        ("first only", |i, _| i == 0),
        ("last only", |i, _| i == LAST),
        ("all but the last", |i, _| i != LAST),
        ("no calls", |_, h| h.call_id().is_none()),
        ("every third", |i, _| i % 3 == 0),
    ];
    for (name, keep) in cases {
        let expected: Vec<ResponseItem> = snapshot
            .items()
            .iter()
            .enumerate()
            .filter(|(i, h)| keep(*i, h))
            .map(|(_, h)| h.item())
            .collect();
        let mut i = 0;
        let chunks = snapshot.json_chunks_where(|h| {
            i += 1;
            keep(i - 1, h)
        });
        assert_eq!(chunks.item_count(), expected.len(), "{name}");
        let len = chunks.byte_len();
        let pieces: Vec<Vec<u8>> = chunks.collect();
        assert!(pieces.iter().all(|p| !p.is_empty()), "{name}");
        let joined = pieces.concat();
        assert_eq!(joined.len(), len, "{name}");
        assert_eq!(joined, serde_json::to_vec(&expected).unwrap(), "{name}");
    }
}

#[test]
fn well_formedness_is_checked_on_a_table_of_histories() {
    // (label, items, Ok or the start of the reason)
    let cases: Vec<(&str, Vec<ResponseItem>, Result<(), &str>)> = vec![
        ("empty", Vec::new(), Ok(())),
        ("messages only", vec![user("a"), user("b")], Ok(())),
        (
            "call then output",
            vec![user("a"), call("c1"), output("c1")],
            Ok(()),
        ),
        (
            "interleaved pairs",
            vec![call("c1"), call("c2"), output("c2"), output("c1")],
            Ok(()),
        ),
        (
            "missing output",
            vec![call("c1"), output("c1"), call("c2")],
            Err("tool call c2 has no output"),
        ),
        (
            "duplicate output",
            vec![call("c1"), output("c1"), output("c1")],
            Err("tool call c1 has more than one output"),
        ),
        (
            "output without call",
            vec![output("c9")],
            Err("output for c9 has no call before it"),
        ),
        (
            "output before its call",
            vec![output("c1"), call("c1")],
            Err("output for c1 has no call before it"),
        ),
        (
            "duplicate call",
            vec![call("c1"), output("c1"), call("c1"), output("c1")],
            Err("tool call c1 appears twice"),
        ),
        (
            "the first open call is named",
            vec![call("c3"), call("c1"), call("c2")],
            Err("tool call c3 has no output"),
        ),
        (
            "ids the JSON escapes pair like any other",
            vec![call("c\"1"), call("c\\2"), output("c\\2"), output("c\"1")],
            Ok(()),
        ),
        (
            "an escaped id is not the plain one",
            vec![call("c\"1"), output("c1")],
            Err("output for c1 has no call before it"),
        ),
    ];
    for (label, items, want) in cases {
        let h = ConversationHistory::from_items(items);
        let want = want.map_err(|reason| StateError::MalformedHistory {
            reason: reason.to_owned(),
        });
        assert_eq!(h.check_well_formed(), want, "{label}");
        assert_eq!(h.snapshot().check_well_formed(), want, "{label} (snapshot)");
    }
}

#[test]
fn open_calls_lists_unanswered_calls_in_call_order() {
    let h = ConversationHistory::from_items(vec![call("c1"), call("c2"), output("c1"), call("c3")]);
    assert_eq!(h.open_calls(), ["c2", "c3"]);
    let h = ConversationHistory::from_items(vec![call("c\"1"), call("c2"), output("c2")]);
    assert_eq!(h.open_calls(), ["c\"1"]);
}

#[test]
fn closing_open_calls_closes_exactly_the_open_ones_keeping_partial_output() {
    let mut h = ConversationHistory::from_items(vec![
        user("run things"),
        call("c1"),
        output("c1"),
        call("c2"),
        call("c3"),
    ]);
    let partial = HashMap::from([
        ("c2".to_owned(), "line 1\nline 2".to_owned()),
        ("c1".to_owned(), "ignored: c1 is answered".to_owned()),
    ]);
    let close = |id: &str| aborted_output(partial.get(id).map(String::as_str), None);
    let closed = h.close_open_calls(close);
    let closed: Vec<ResponseItem> = closed.iter().map(|c| c.item()).collect();
    assert_eq!(
        closed,
        vec![
            ResponseItem::FunctionCallOutput {
                call_id: "c2".to_owned(),
                output: "aborted by user\noutput before it was aborted:\nline 1\nline 2".to_owned(),
            },
            ResponseItem::FunctionCallOutput {
                call_id: "c3".to_owned(),
                output: "aborted by user".to_owned(),
            },
        ]
    );
    assert_eq!(h.len(), 7);
    assert_eq!(h.check_well_formed(), Ok(()));
    assert!(h.open_calls().is_empty());
    assert!(
        h.close_open_calls(close).is_empty(),
        "nothing left to close"
    );
    assert_eq!(h.len(), 7);
}

#[test]
fn aborted_output_keeps_partial_output_and_elapsed_time() {
    let cases = [
        (None, None, "aborted by user"),
        (Some(""), None, "aborted by user"),
        (None, Some(1500), "aborted by user after 1.5s"),
        (Some(""), Some(0), "aborted by user after 0.0s"),
        (
            Some("partial"),
            Some(12_345),
            "aborted by user after 12.3s\noutput before it was aborted:\npartial",
        ),
        (
            Some("x\n"),
            None,
            "aborted by user\noutput before it was aborted:\nx\n",
        ),
    ];
    for (partial, elapsed, want) in cases {
        assert_eq!(
            aborted_output(partial, elapsed),
            want,
            "{partial:?} {elapsed:?}"
        );
    }
}

#[test]
fn replace_drops_the_old_items() {
    let mut h = ConversationHistory::from_items(vec![call("c1"), user("a")]);
    h.replace(vec![user("summary"), user("next")]);
    assert_eq!(h.len(), 2);
    assert!(h.open_calls().is_empty());
    assert_eq!(
        h.snapshot().to_json_array(),
        serde_json::to_string(&vec![user("summary"), user("next")]).unwrap()
    );
}
