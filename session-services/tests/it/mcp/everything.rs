//! The reference server `@modelcontextprotocol/server-everything`: its tools listed, echo and
//! add called, a long-running tool with progress interrupted mid-call, an image, structured
//! content.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use session_services::mcp::{McpContent, McpError, McpTool};
use session_state::CancelToken;

use super::support::{bounded, everything_config, started};

fn find<'a>(tools: &'a [McpTool], names: &[&str]) -> &'a McpTool {
    tools
        .iter()
        .find(|t| names.contains(&t.name.as_str()))
        .unwrap_or_else(|| panic!("no tool among {names:?}: {tools:?}"))
}

#[tokio::test]
async fn the_reference_server_lists_and_runs_its_tools() {
    let Some(config) = everything_config() else {
        return;
    };
    let (manager, _log) = started([("everything", config)]).await;
    let tools = manager.tools();
    assert!(tools.len() >= 5, "{tools:?}");
    assert!(
        tools
            .iter()
            .all(|t| t.qualified.starts_with("mcp__everything__"))
    );

    let echo = find(&tools, &["echo"]);
    let result = bounded(
        "echo",
        manager.call(
            &echo.qualified,
            json!({"message": "hi there"}),
            CancelToken::new(),
            None,
        ),
    )
    .await
    .unwrap();
    assert!(result.to_text().contains("hi there"), "{result:?}");

    let add = find(&tools, &["add", "get-sum"]);
    let result = bounded(
        "add",
        manager.call(
            &add.qualified,
            json!({"a": 2, "b": 3}),
            CancelToken::new(),
            None,
        ),
    )
    .await
    .unwrap();
    assert!(result.to_text().contains('5'), "{result:?}");

    let image = find(&tools, &["getTinyImage", "get-tiny-image"]);
    let result = bounded(
        "image",
        manager.call(&image.qualified, json!({}), CancelToken::new(), None),
    )
    .await
    .unwrap();
    assert!(
        result.content.iter().any(
            |c| matches!(c, McpContent::Image { mime_type, .. } if mime_type.starts_with("image/"))
        ),
        "{result:?}"
    );

    if let Some(structured) = tools
        .iter()
        .find(|t| t.name.contains("structured") || t.name.contains("Structured"))
    {
        let result = bounded(
            "structured",
            manager.call(
                &structured.qualified,
                json!({"location": "New York"}),
                CancelToken::new(),
                None,
            ),
        )
        .await
        .unwrap();
        assert!(
            result.structured.is_some() || !result.content.is_empty(),
            "{result:?}"
        );
    }

    // A long-running tool with progress, interrupted mid-call.
    let long = find(
        &tools,
        &["longRunningOperation", "trigger-long-running-operation"],
    );
    let cancel = CancelToken::new();
    let trigger = cancel.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let progress = Box::new(
        move |done: f64, _total: Option<f64>, _msg: Option<String>| {
            let _ = tx.send(done);
        },
    );
    let call = manager.call(
        &long.qualified,
        json!({"duration": 30, "steps": 30}),
        cancel,
        Some(progress),
    );
    let started_at = Instant::now();
    let watcher = async {
        let _ = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        trigger.cancel();
    };
    let (outcome, ()) = tokio::join!(call, watcher);
    assert!(
        matches!(outcome, Err(McpError::Cancelled { .. })),
        "{outcome:?}"
    );
    assert!(started_at.elapsed() < Duration::from_secs(15));
    // The server still answers afterwards.
    let result = bounded(
        "echo after cancel",
        manager.call(
            &echo.qualified,
            json!({"message": "still here"}),
            CancelToken::new(),
            None,
        ),
    )
    .await
    .unwrap();
    assert!(result.to_text().contains("still here"));
    manager.shutdown().await;
}
