//! Tests of the server configuration: codex's keys, defaults, and transport validation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;

use super::*;

fn parse(value: serde_json::Value) -> Result<McpServerConfig, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}

#[test]
fn a_stdio_table_takes_codex_keys_and_defaults() {
    let config = parse(json!({
        "command": "npx",
        "args": ["-y", "server"],
        "env": {"A": "1"},
        "tool_timeout_sec": 2.5,
        "disabled_tools": ["rm"],
        "some_future_key": true,
    }))
    .unwrap();
    assert_eq!(config.command.as_deref(), Some("npx"));
    assert_eq!(config.args, ["-y", "server"]);
    assert_eq!(config.env.get("A").map(String::as_str), Some("1"));
    assert_eq!(config.startup_timeout, DEFAULT_STARTUP_TIMEOUT);
    assert_eq!(config.tool_timeout, Duration::from_millis(2500));
    assert!(config.enabled);
    assert!(!config.trust);
    assert_eq!(config.enabled_tools, None);
}

#[test]
fn an_http_table_takes_its_keys() {
    let config = parse(json!({
        "url": "http://127.0.0.1:1/mcp",
        "bearer_token_env_var": "TOKEN",
        "http_headers": {"X-Team": "a"},
        "startup_timeout_ms": 1500,
        "enabled": false,
        "trust": true,
    }))
    .unwrap();
    assert_eq!(config.url.as_deref(), Some("http://127.0.0.1:1/mcp"));
    assert_eq!(config.bearer_token_env_var.as_deref(), Some("TOKEN"));
    assert_eq!(config.startup_timeout, Duration::from_millis(1500));
    assert!(!config.enabled);
    assert!(config.trust);
}

#[test]
fn bad_tables_say_what_is_wrong() {
    let cases = [
        (json!({}), "set `command`"),
        (json!({"command": "a", "url": "http://x"}), "not both"),
        (
            json!({"url": "http://x", "args": ["a"]}),
            "apply only to `command` servers",
        ),
        (
            json!({"command": "a", "bearer_token_env_var": "T"}),
            "apply only to `url` servers",
        ),
        (
            json!({"command": "a", "tool_timeout_sec": -1.0}),
            "non-negative",
        ),
        (
            json!({"command": "a", "startup_timeout_sec": 1.0, "startup_timeout_ms": 5}),
            "not both",
        ),
    ];
    for (value, expected) in cases {
        let error = parse(value.clone()).unwrap_err();
        assert!(error.contains(expected), "{value}: {error}");
    }
}

#[test]
fn enabled_tools_then_disabled_tools_decide_what_is_offered() {
    let mut config = McpServerConfig::stdio("a", ["b"]);
    assert!(config.offers("anything"));
    config.enabled_tools = Some(vec!["read".to_owned(), "write".to_owned()]);
    config.disabled_tools = vec!["write".to_owned()];
    assert!(config.offers("read"));
    assert!(!config.offers("write"));
    assert!(!config.offers("other"));
}
