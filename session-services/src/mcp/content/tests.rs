//! Tests of tool results: conversion from rmcp's types and the text a model is given.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rmcp::model::{ContentBlock, Resource, ResourceContents};
use serde_json::json;

use super::*;

fn result(content: Vec<McpContent>, structured: Option<Value>) -> McpCallResult {
    McpCallResult {
        content,
        structured,
        is_error: false,
    }
}

#[test]
fn base64_lengths_count_decoded_bytes() {
    assert_eq!(decoded_len(""), 0);
    assert_eq!(decoded_len("QQ=="), 1);
    assert_eq!(decoded_len("QUI="), 2);
    assert_eq!(decoded_len("QUJD"), 3);
    assert_eq!(decoded_len("QUJD\nREVG"), 6);
}

#[test]
fn text_renders_every_kind_of_part() {
    let rendered = result(
        vec![
            McpContent::Text("hello".to_owned()),
            McpContent::Image {
                data: "QUJD".to_owned(),
                mime_type: "image/png".to_owned(),
            },
            McpContent::ResourceLink {
                uri: "file:///a".to_owned(),
                name: "a".to_owned(),
            },
            McpContent::Resource {
                uri: "mem://b".to_owned(),
                text: Some("body".to_owned()),
            },
            McpContent::Resource {
                uri: "mem://c".to_owned(),
                text: None,
            },
        ],
        Some(json!({"k": 1})),
    )
    .to_text();
    assert_eq!(
        rendered,
        "hello\n[image: image/png, 3 bytes]\n[resource: a <file:///a>]\n[resource: <mem://b>]\nbody\n[resource: <mem://c>]\n{\"k\":1}"
    );
}

#[test]
fn structured_content_already_in_a_text_part_is_not_repeated() {
    let structured = json!({"temperature": 33, "conditions": "Cloudy"});
    let text = r#"{"conditions":"Cloudy","temperature":33}"#.to_owned();
    let rendered = result(vec![McpContent::Text(text.clone())], Some(structured)).to_text();
    assert_eq!(rendered, text);
}

#[test]
fn rmcp_results_convert_part_by_part() {
    let mut raw = CallToolResult::error(vec![
        ContentBlock::text("t"),
        ContentBlock::image("QUJD", "image/gif"),
        ContentBlock::audio("QQ==", "audio/wav"),
        ContentBlock::resource_link(Resource::new("file:///x", "x")),
        ContentBlock::resource(ResourceContents::text("inner", "mem://y")),
    ]);
    raw.structured_content = Some(json!([1, 2]));
    let converted = McpCallResult::from(raw);
    assert!(converted.is_error);
    assert_eq!(converted.structured, Some(json!([1, 2])));
    assert_eq!(
        converted.content,
        [
            McpContent::Text("t".to_owned()),
            McpContent::Image {
                data: "QUJD".to_owned(),
                mime_type: "image/gif".to_owned()
            },
            McpContent::Audio {
                data: "QQ==".to_owned(),
                mime_type: "audio/wav".to_owned()
            },
            McpContent::ResourceLink {
                uri: "file:///x".to_owned(),
                name: "x".to_owned()
            },
            McpContent::Resource {
                uri: "mem://y".to_owned(),
                text: Some("inner".to_owned())
            },
        ]
    );
}
