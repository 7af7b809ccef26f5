//! The in-repo test server misbehaving: crashes, hangs, a missing command, death mid-call, a
//! tool that never answers, cancellation, and the process group at shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use session_services::mcp::{McpContent, McpError, McpStatus};
use session_state::CancelToken;
use tokio::sync::mpsc;

use super::support::{PidFile, alive, bounded, failure, gone, started, test_server_config};

#[tokio::test]
async fn a_server_that_crashes_at_start_fails_with_its_exit_status_and_stderr() {
    let pid_file = PidFile::new();
    let mut config = test_server_config("crash", "basic");
    config.env.insert(
        "MCP_TEST_PID_FILE".to_owned(),
        pid_file.path().to_string_lossy().into_owned(),
    );
    let (manager, log) = started([("crashy", config)]).await;
    let error = failure(&manager, "crashy");
    assert!(error.contains("exit status: 3"), "{error}");
    assert!(error.contains("crashing at start as asked"), "{error}");
    let statuses = log.of("crashy");
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(statuses[0], McpStatus::Starting);
    assert!(matches!(statuses[1], McpStatus::Failed { .. }));
    // The companion the server left in its group is killed with it.
    gone(pid_file.pid().await).await;
    assert!(manager.tools().is_empty());
}

#[tokio::test]
async fn a_server_that_hangs_at_start_fails_at_its_startup_timeout() {
    let pid_file = PidFile::new();
    let mut config = test_server_config("hang", "basic");
    config.startup_timeout = Duration::from_millis(300);
    config.env.insert(
        "MCP_TEST_PID_FILE".to_owned(),
        pid_file.path().to_string_lossy().into_owned(),
    );
    // `started` bounds wait_started; the server's own timeout must end it long before.
    let (manager, _log) = started([("stuck", config)]).await;
    let error = failure(&manager, "stuck");
    assert!(
        error.contains("did not finish starting within 300ms"),
        "{error}"
    );
    assert!(error.contains("hanging at start as asked"), "{error}");
    gone(pid_file.pid().await).await;
}

#[tokio::test]
async fn a_command_that_cannot_run_fails_with_the_reason() {
    let config = session_services::mcp::McpServerConfig::stdio("/nonexistent/mcp-server", ["x"]);
    let (manager, _log) = started([("missing", config)]).await;
    let error = failure(&manager, "missing");
    assert!(
        error.contains("cannot start `/nonexistent/mcp-server`"),
        "{error}"
    );
    assert!(error.contains("No such file"), "{error}");
}

#[tokio::test]
async fn a_server_that_dies_mid_call_returns_server_died_and_is_reported_failed() {
    let (manager, log) = started([("mortal", test_server_config("serve", "basic"))]).await;
    let error = bounded(
        "the call",
        manager.call("mcp__mortal__die", json!({}), CancelToken::new(), None),
    )
    .await
    .unwrap_err();
    let McpError::ServerDied {
        server,
        tool,
        reason,
    } = &error
    else {
        panic!("not ServerDied: {error:?}");
    };
    assert_eq!((server.as_str(), tool.as_str()), ("mortal", "die"));
    assert!(reason.contains("exit status: 7"), "{reason}");
    assert!(reason.contains("dying mid-call as asked"), "{reason}");
    log.wait_for("mortal", |s| matches!(s, McpStatus::Failed { .. }))
        .await;
    let statuses = log.of("mortal");
    assert!(
        matches!(statuses[1], McpStatus::Ready { .. }),
        "{statuses:?}"
    );
    assert!(manager.tools().is_empty());
    let again = manager
        .call(
            "mcp__mortal__echo",
            json!({"text": "x"}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(again, McpError::NotReady { .. }), "{again:?}");
    assert!(again.to_string().contains("mortal"), "{again}");
}

#[tokio::test]
async fn a_tool_that_never_answers_times_out_and_the_server_still_works() {
    let mut config = test_server_config("serve", "basic");
    config.tool_timeout = Duration::from_millis(200);
    let (manager, _log) = started([("slow", config)]).await;
    let error = bounded(
        "the call",
        manager.call("mcp__slow__never", json!({}), CancelToken::new(), None),
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        McpError::Timeout {
            server: "slow".to_owned(),
            tool: "never".to_owned(),
            timeout: Duration::from_millis(200),
        }
    );
    assert_eq!(
        error.to_string(),
        "MCP tool never of server slow timed out after 200ms"
    );
    let echoed = manager
        .call(
            "mcp__slow__echo",
            json!({"text": "still here"}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(echoed.to_text(), "still here");
}

#[tokio::test]
async fn a_cancelled_call_returns_at_once_and_the_server_is_told() {
    let (manager, _log) = started([("sleepy", test_server_config("serve", "basic"))]).await;
    let cancel = CancelToken::new();
    let (tx, mut progress) = mpsc::unbounded_channel();
    let call = tokio::spawn({
        let manager = manager.clone();
        let cancel = cancel.clone();
        async move {
            let on_progress = Box::new(
                move |done: f64, total: Option<f64>, message: Option<String>| {
                    let _ = tx.send((done, total, message));
                },
            );
            manager
                .call(
                    "mcp__sleepy__sleep",
                    json!({"ms": 10_000}),
                    cancel,
                    Some(on_progress),
                )
                .await
        }
    });
    let (done, total, message) = bounded("the first progress", progress.recv())
        .await
        .unwrap();
    assert_eq!(
        (done, total, message.as_deref()),
        (1.0, Some(500.0), Some("step 1"))
    );
    cancel.cancel();
    // Far less than the 10 s the tool would take: the call does not wait for the server.
    let result = tokio::time::timeout(Duration::from_secs(2), call)
        .await
        .expect("a cancelled call returns at once")
        .unwrap();
    assert_eq!(
        result.unwrap_err(),
        McpError::Cancelled {
            server: "sleepy".to_owned(),
            tool: "sleep".to_owned()
        }
    );
    // The server heard notifications/cancelled, and it still answers.
    bounded("the server counting the cancellation", async {
        loop {
            let count = manager
                .call(
                    "mcp__sleepy__cancelled",
                    json!({}),
                    CancelToken::new(),
                    None,
                )
                .await
                .unwrap();
            if count.to_text() == "1" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_call_cancelled_before_it_starts_is_not_sent() {
    let (manager, _log) = started([("s", test_server_config("serve", "basic"))]).await;
    let cancel = CancelToken::new();
    cancel.cancel();
    let error = manager
        .call("mcp__s__sleep", json!({"ms": 100}), cancel, None)
        .await
        .unwrap_err();
    assert!(matches!(error, McpError::Cancelled { .. }), "{error:?}");
    let count = manager
        .call("mcp__s__cancelled", json!({}), CancelToken::new(), None)
        .await
        .unwrap();
    assert_eq!(count.to_text(), "0");
}

#[tokio::test]
async fn tool_results_keep_every_kind_of_content() {
    let (manager, _log) = started([("kinds", test_server_config("serve", "basic"))]).await;
    let call = |tool: &'static str| {
        let manager = manager.clone();
        async move {
            manager
                .call(
                    &format!("mcp__kinds__{tool}"),
                    json!({}),
                    CancelToken::new(),
                    None,
                )
                .await
                .unwrap()
        }
    };
    let failed = call("fail").await;
    assert!(failed.is_error);
    assert_eq!(failed.to_text(), "the tool failed as asked");

    let media = call("media").await;
    assert!(!media.is_error);
    assert!(
        matches!(&media.content[1], McpContent::Image { mime_type, .. } if mime_type == "image/png")
    );
    assert_eq!(
        media.to_text(),
        "here is a picture\n[image: image/png, 70 bytes]\n[resource: notes <file:///tmp/notes.txt>]\n[resource: <mem://embedded>]\nembedded body"
    );

    let structured = call("structured").await;
    assert_eq!(
        structured.structured,
        Some(json!({"answer": 42, "unit": "none"}))
    );
    assert_eq!(structured.to_text(), r#"{"answer":42,"unit":"none"}"#);
}

#[tokio::test]
async fn schemas_and_hints_are_passed_on_and_broken_schemas_replaced() {
    let mut config = test_server_config("serve", "basic");
    config.trust = true;
    let (manager, _log) = started([("schemas", config)]).await;
    let tools = manager.tools();
    let tool = |name: &str| {
        tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no tool {name} in {tools:?}"))
    };
    assert_eq!(tool("bad_schema").input_schema, json!({"type": "object"}));
    assert_eq!(
        tool("untyped_schema").input_schema,
        json!({"type": "object", "properties": {"x": {"type": "string"}}})
    );
    assert_eq!(
        tool("echo").input_schema,
        json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]})
    );
    assert!(tool("read_only").read_only);
    assert!(!tool("die").read_only);
    assert!(tools.iter().all(|t| t.trusted && t.server == "schemas"));
    assert_eq!(tool("echo").qualified, "mcp__schemas__echo");
    assert_eq!(tool("echo").description, "returns its text argument");
}

#[tokio::test]
async fn filters_and_disabled_servers_decide_what_is_offered() {
    let mut filtered = test_server_config("serve", "basic");
    filtered.enabled_tools = Some(vec!["echo".to_owned(), "fail".to_owned(), "die".to_owned()]);
    filtered.disabled_tools = vec!["die".to_owned()];
    let mut off = test_server_config("serve", "basic");
    off.enabled = false;
    let (manager, log) = started([("filtered", filtered), ("off", off)]).await;
    let names: Vec<String> = manager.tools().into_iter().map(|t| t.qualified).collect();
    assert_eq!(names, ["mcp__filtered__echo", "mcp__filtered__fail"]);
    assert_eq!(
        log.of("filtered").last(),
        Some(&McpStatus::Ready {
            tools: vec!["echo".to_owned(), "fail".to_owned()]
        })
    );
    assert!(
        log.of("off").is_empty(),
        "a disabled server reports nothing"
    );
    let hidden = manager
        .call("mcp__filtered__die", json!({}), CancelToken::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(hidden, McpError::UnknownTool { .. }), "{hidden:?}");
    let unknown = manager
        .call("mcp__off__echo", json!({}), CancelToken::new(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, McpError::UnknownServer { .. }),
        "{unknown:?}"
    );
    let bad_args = manager
        .call("mcp__filtered__echo", json!([1]), CancelToken::new(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(bad_args, McpError::InvalidArguments { .. }),
        "{bad_args:?}"
    );
}

#[tokio::test]
async fn shutdown_kills_the_whole_process_group() {
    let pid_file = PidFile::new();
    let mut config = test_server_config("serve", "basic");
    config.env.insert(
        "MCP_TEST_PID_FILE".to_owned(),
        pid_file.path().to_string_lossy().into_owned(),
    );
    let (manager, log) = started([("grouped", config)]).await;
    assert!(matches!(
        manager.statuses()["grouped"],
        McpStatus::Ready { .. }
    ));
    let companion = pid_file.pid().await;
    assert!(alive(companion));
    bounded("shutdown", manager.shutdown()).await;
    assert!(!alive(companion), "shutdown returns once the group is gone");
    assert_eq!(log.of("grouped").len(), 2, "shutting down reports nothing");
    let error = manager
        .call("mcp__grouped__echo", json!({}), CancelToken::new(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, McpError::NotReady { .. }), "{error:?}");
}

#[tokio::test]
async fn dropping_the_manager_kills_the_process_group() {
    let pid_file = PidFile::new();
    let mut config = test_server_config("serve", "basic");
    config.env.insert(
        "MCP_TEST_PID_FILE".to_owned(),
        pid_file.path().to_string_lossy().into_owned(),
    );
    let (manager, _log) = started([("dropped", config)]).await;
    let companion = pid_file.pid().await;
    drop(manager);
    gone(companion).await;
}

#[test]
fn a_call_is_a_send_future() {
    fn assert_send<T: Send>(_: &T) {}
    let manager = session_services::mcp::McpManager::start(
        Default::default(),
        std::sync::Arc::new(|_: &str, _: &McpStatus| {}),
    );
    let call = manager.call("x", json!({}), CancelToken::new(), None);
    assert_send(&call);
}
