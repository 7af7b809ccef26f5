//! Tool names that need sanitizing, across servers whose own names collide once sanitized.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use serde_json::json;
use session_state::CancelToken;

use super::support::{started, test_server_config};

fn valid(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[tokio::test]
async fn odd_tool_names_are_qualified_validly_uniquely_and_call_the_right_tool() {
    let servers = ["dup.server", "dup_server", "names"];
    let (manager, _log) = started(servers.map(|s| (s, test_server_config("serve", "names")))).await;
    let tools = manager.tools();
    assert_eq!(tools.len(), 3 * 7, "{tools:?}");
    let distinct: BTreeSet<&str> = tools.iter().map(|t| t.qualified.as_str()).collect();
    assert_eq!(distinct.len(), tools.len(), "{distinct:?}");
    for tool in &tools {
        assert!(valid(&tool.qualified), "{}", tool.qualified);
    }
    // Names nobody else claims stay plain; the colliding ones carry a hash.
    assert!(distinct.contains("mcp__names__echo"));
    assert!(distinct.contains("mcp__names__with_space"));
    assert!(distinct.contains("mcp__names__dotted_name"));
    assert!(!distinct.contains("mcp__dup_server__echo"));
    // Sorted, and the same on every listing.
    let sorted: Vec<&str> = distinct.iter().copied().collect();
    let listed: Vec<&str> = tools.iter().map(|t| t.qualified.as_str()).collect();
    assert_eq!(listed, sorted);
    assert_eq!(manager.tools(), tools);
    for tool in &tools {
        let answer = manager
            .call(&tool.qualified, json!({}), CancelToken::new(), None)
            .await
            .unwrap();
        assert_eq!(
            answer.to_text(),
            format!("called {}", tool.name),
            "{}",
            tool.qualified
        );
    }
}
