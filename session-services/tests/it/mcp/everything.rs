//! The pinned reference server, `@modelcontextprotocol/server-everything`, over stdio: its tools,
//! echo and sum, progress then cancellation, an image, structured content and resource links.
//!
//! Each test skips (saying why) when node or npm is missing, except under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use session_services::mcp::{McpContent, McpError, McpStatus};
use session_state::CancelToken;
use tokio::sync::mpsc;

use super::support::{bounded, everything_config, started};

#[tokio::test]
async fn the_reference_server_lists_its_tools_and_echoes_and_adds() {
    let Some(config) = everything_config() else {
        return;
    };
    let (manager, log) = started([("everything", config)]).await;
    let Some(McpStatus::Ready { tools: names }) = log.of("everything").last().cloned() else {
        panic!("not ready: {:?}", log.of("everything"));
    };
    for name in [
        "echo",
        "get-sum",
        "get-tiny-image",
        "get-structured-content",
        "trigger-long-running-operation",
    ] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
    let tools = manager.tools();
    let sum = tools.iter().find(|t| t.name == "get-sum").unwrap();
    assert_eq!(sum.qualified, "mcp__everything__get-sum");
    assert!(sum.read_only);
    assert_eq!(sum.input_schema["type"], "object");
    assert!(
        sum.input_schema["properties"]["a"].is_object(),
        "{}",
        sum.input_schema
    );

    let echoed = manager
        .call(
            "mcp__everything__echo",
            json!({"message": "hello"}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(echoed.to_text(), "Echo: hello");
    let added = manager
        .call(
            "mcp__everything__get-sum",
            json!({"a": 2, "b": 3}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(added.to_text(), "The sum of 2 and 3 is 5.");
    // Invalid arguments are the server's to judge; it answers with an error either way.
    let refused = manager
        .call(
            "mcp__everything__get-sum",
            json!({"a": "two"}),
            CancelToken::new(),
            None,
        )
        .await;
    assert!(
        matches!(&refused, Ok(r) if r.is_error)
            || matches!(&refused, Err(McpError::Protocol { .. })),
        "{refused:?}"
    );
    bounded("shutdown", manager.shutdown()).await;
}

#[tokio::test]
async fn the_reference_servers_long_operation_reports_progress_and_is_cancelled_at_once() {
    let Some(config) = everything_config() else {
        return;
    };
    let (manager, _log) = started([("everything", config)]).await;
    let cancel = CancelToken::new();
    let (tx, mut progress) = mpsc::unbounded_channel();
    let call = tokio::spawn({
        let manager = manager.clone();
        let cancel = cancel.clone();
        async move {
            let on_progress = Box::new(move |done: f64, total: Option<f64>, _: Option<String>| {
                let _ = tx.send((done, total));
            });
            manager
                .call(
                    "mcp__everything__trigger-long-running-operation",
                    json!({"duration": 20, "steps": 100}),
                    cancel,
                    Some(on_progress),
                )
                .await
        }
    });
    assert_eq!(
        bounded("the first progress", progress.recv()).await,
        Some((1.0, Some(100.0)))
    );
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(2), call)
        .await
        .expect("a cancelled call returns at once")
        .unwrap();
    assert!(
        matches!(result, Err(McpError::Cancelled { .. })),
        "{result:?}"
    );
    let echoed = manager
        .call(
            "mcp__everything__echo",
            json!({"message": "after"}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(echoed.to_text(), "Echo: after");
    bounded("shutdown", manager.shutdown()).await;
}

#[tokio::test]
async fn the_reference_server_returns_an_image_structured_content_and_links() {
    let Some(config) = everything_config() else {
        return;
    };
    let (manager, _log) = started([("everything", config)]).await;
    let image = manager
        .call(
            "mcp__everything__get-tiny-image",
            json!({}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap();
    let found = image.content.iter().find_map(|c| match c {
        McpContent::Image { data, mime_type } => Some((data.len(), mime_type.clone())),
        _ => None,
    });
    let (encoded_len, mime_type) = found.expect("an image part");
    assert_eq!(mime_type, "image/png");
    assert!(encoded_len > 1000);
    assert!(
        image.to_text().contains("[image: image/png, "),
        "{}",
        image.to_text()
    );

    let weather = manager
        .call(
            "mcp__everything__get-structured-content",
            json!({"location": "New York"}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap();
    let expected = json!({"temperature": 33, "conditions": "Cloudy", "humidity": 82});
    assert_eq!(weather.structured, Some(expected.clone()));
    // The server repeats the JSON as text; the model gets it once.
    let text = weather.to_text();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        expected
    );

    let links = manager
        .call(
            "mcp__everything__get-resource-links",
            json!({"count": 2}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap();
    let named = links
        .content
        .iter()
        .filter(|c| matches!(c, McpContent::ResourceLink { .. }))
        .count();
    assert_eq!(named, 2, "{links:?}");
    assert!(
        links.to_text().contains("[resource: "),
        "{}",
        links.to_text()
    );
    bounded("shutdown", manager.shutdown()).await;
}
