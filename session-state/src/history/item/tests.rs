//! Tests of `HistoryItem`: one form kept, and a header that agrees with the item it came from,
//! read without parsing where the JSON holds a key as it is and by parsing where it is escaped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::items::ReasoningSummaryPart;

fn message(role: &str, content: Vec<ContentItem>) -> ResponseItem {
    ResponseItem::Message {
        id: Some("msg_1".to_owned()),
        role: role.to_owned(),
        content,
    }
}

fn reasoning(id: &str, encrypted_content: Option<&str>) -> ResponseItem {
    ResponseItem::Reasoning {
        id: id.to_owned(),
        summary: vec![ReasoningSummaryPart::SummaryText {
            text: "\"id\":\"not this one\"".to_owned(),
        }],
        encrypted_content: encrypted_content.map(str::to_owned),
    }
}

fn call(call_id: &str, arguments: &str) -> ResponseItem {
    ResponseItem::FunctionCall {
        id: Some("fc_1".to_owned()),
        name: "shell".to_owned(),
        arguments: arguments.to_owned(),
        call_id: call_id.to_owned(),
    }
}

fn output(call_id: &str) -> ResponseItem {
    ResponseItem::FunctionCallOutput {
        call_id: call_id.to_owned(),
        output: r#"{"call_id":"decoy"}"#.to_owned(),
    }
}

/// Items whose keys are plain, and whether each one's key is read from the JSON's bytes.
fn cases() -> Vec<(ResponseItem, bool)> {
    vec![
        (ResponseItem::user_text("hi"), true),
        (ResponseItem::assistant_text(""), true),
        (message("assistant", Vec::new()), true),
        (
            message(
                "user",
                vec![ContentItem::InputImage {
                    image_url: "data:image/png;base64,AA==".to_owned(),
                }],
            ),
            true,
        ),
        (message("dé\"veloper", Vec::new()), false),
        (reasoning("rs_1", None), true),
        (reasoning("thinking", Some("sig")), true),
        (reasoning("", Some("")), true),
        (reasoning("rs\\2", None), false),
        (
            call("call_1", r#"{"call_id":"decoy","command":["ls"]}"#),
            true,
        ),
        (call("call \"quoted\"", "{}"), false),
        (call("call\u{1}", "{}"), false),
        (call("ünïcode", "{}"), true),
        (output("call_1"), true),
        (output("call\\n"), false),
    ]
}

fn key(item: &ResponseItem) -> &str {
    match item {
        ResponseItem::Message { role, .. } => role,
        ResponseItem::Reasoning { id, .. } => id,
        ResponseItem::FunctionCall { call_id, .. }
        | ResponseItem::FunctionCallOutput { call_id, .. } => call_id,
    }
}

#[test]
fn the_header_agrees_with_the_item_it_was_read_from() {
    for (item, plain) in cases() {
        let stored = HistoryItem::new(item.clone());
        assert_eq!(stored.item(), item);
        assert_eq!(stored.json(), serde_json::to_string(&item).unwrap());
        let (kind, read) = match &item {
            ResponseItem::Message { .. } => (ItemKind::Message, stored.role()),
            ResponseItem::Reasoning { .. } => (ItemKind::Reasoning, stored.reasoning_id()),
            ResponseItem::FunctionCall { .. } => (ItemKind::FunctionCall, stored.call_id()),
            ResponseItem::FunctionCallOutput { .. } => {
                (ItemKind::FunctionCallOutput, stored.output_call_id())
            }
        };
        assert_eq!(stored.kind(), kind, "{item:?}");
        let read = read.unwrap();
        assert_eq!(read, key(&item), "{item:?}");
        assert_eq!(
            matches!(read, Cow::Borrowed(_)),
            plain,
            "{item:?}: read without parsing"
        );
        assert_eq!(
            stored.has_text(),
            item.message_text().is_some_and(|t| !t.is_empty()),
            "{item:?}"
        );
        assert_eq!(
            stored.has_encrypted_content(),
            matches!(
                item,
                ResponseItem::Reasoning {
                    encrypted_content: Some(_),
                    ..
                }
            ),
            "{item:?}"
        );
    }
}

#[test]
fn each_key_accessor_answers_only_for_its_own_kind() {
    let user = HistoryItem::new(ResponseItem::user_text("hi"));
    let call = HistoryItem::new(call("c1", "{}"));
    let out = HistoryItem::new(output("c1"));
    let thought = HistoryItem::new(reasoning("rs_1", None));
    assert_eq!(user.role().as_deref(), Some("user"));
    assert_eq!(user.call_id(), None);
    assert_eq!(user.reasoning_id(), None);
    assert_eq!(call.call_id().as_deref(), Some("c1"));
    assert_eq!(call.output_call_id(), None);
    assert_eq!(call.role(), None);
    assert_eq!(out.output_call_id().as_deref(), Some("c1"));
    assert_eq!(out.call_id(), None);
    assert_eq!(thought.reasoning_id().as_deref(), Some("rs_1"));
    assert_eq!(thought.role(), None);
}

#[test]
fn an_item_keeps_only_its_json_and_a_small_header() {
    // The JSON's pointer and length, and the header in as much again: never the parsed item.
    assert!(std::mem::size_of::<HistoryItem>() <= 32);
}
