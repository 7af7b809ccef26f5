//! Tests of what a server's tool list becomes: filters, order, descriptions, schemas, hints.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use rmcp::model::{Tool, ToolAnnotations};
use serde_json::json;

use super::*;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn schemas_pass_through_when_usable_and_fall_back_otherwise() {
    let cases = [
        (
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}),
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}),
        ),
        (
            json!({"properties": {"a": {}}}),
            json!({"type": "object", "properties": {"a": {}}}),
        ),
        (json!({}), json!({"type": "object"})),
        (json!({"type": "string"}), json!({"type": "object"})),
        (
            json!({"type": ["object", "null"]}),
            json!({"type": "object"}),
        ),
        (
            json!({"type": "object", "properties": 5}),
            json!({"type": "object"}),
        ),
        (
            json!({"type": "object", "required": "a"}),
            json!({"type": "object"}),
        ),
    ];
    for (given, expected) in cases {
        assert_eq!(
            normalize_schema(&object(given.clone())),
            expected,
            "{given}"
        );
    }
}

#[test]
fn listed_tools_are_filtered_deduplicated_and_sorted() {
    let schema = object(json!({"type": "object"}));
    let tools = vec![
        Tool::new("zeta", "last", schema.clone()),
        Tool::new("alpha", "first", schema.clone())
            .with_annotations(ToolAnnotations::new().read_only(true)),
        Tool::new("alpha", "a duplicate", schema.clone()),
        Tool::new("hidden", "disabled", schema.clone()),
        Tool::new_with_raw("bare", None, schema.clone()).with_title("A title"),
    ];
    let mut config = McpServerConfig::stdio("x", Vec::<String>::new());
    config.disabled_tools = vec!["hidden".to_owned()];
    let listed = listed(tools, &config);
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["alpha", "bare", "zeta"]);
    assert!(listed[0].read_only);
    assert_eq!(listed[0].description, "first");
    assert_eq!(listed[1].description, "A title");
    assert!(!listed[2].read_only);
}
