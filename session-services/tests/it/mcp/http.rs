//! The test server over loopback streamable HTTP, behind a bearer token and a required header.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;

use serde_json::json;
use session_services::mcp::{McpServerConfig, McpStatus};
use session_state::CancelToken;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::support::{bounded, failure, started, test_server};

/// The bearer token's variable: one the test process already has (cargo sets it for every
/// test run), so the test need not change its own environment while other tests run.
const TOKEN_VAR: &str = "CARGO_PKG_VERSION";

/// Starts the test server on HTTP and returns it (killed on drop) with its URL.
async fn http_server() -> (Child, String) {
    let mut child = Command::new(test_server())
        .args(["http", "basic"])
        .env("MCP_TEST_BEARER", env!("CARGO_PKG_VERSION"))
        .env("MCP_TEST_HEADER", "X-Session-Test: yes")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = bounded("the server's address", lines.next_line())
        .await
        .unwrap()
        .expect("the server prints its address");
    let url = line
        .strip_prefix("listening ")
        .expect("listening <url>")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, url)
}

fn config(url: &str) -> McpServerConfig {
    let mut config = McpServerConfig::http(url);
    config.bearer_token_env_var = Some(TOKEN_VAR.to_owned());
    config
        .http_headers
        .insert("X-Session-Test".to_owned(), "yes".to_owned());
    config
}

#[tokio::test]
async fn a_streamable_http_server_is_called_with_the_bearer_token_and_headers() {
    assert_eq!(
        std::env::var(TOKEN_VAR).as_deref(),
        Ok(env!("CARGO_PKG_VERSION"))
    );
    let (_server, url) = http_server().await;
    let (manager, log) = started([("remote", config(&url))]).await;
    assert!(
        matches!(log.of("remote").last(), Some(McpStatus::Ready { tools }) if tools.contains(&"echo".to_owned())),
        "{:?}",
        log.of("remote")
    );
    let answer = manager
        .call(
            "mcp__remote__echo",
            json!({"text": "over http"}),
            CancelToken::new(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(answer.to_text(), "over http");
    let media = manager
        .call("mcp__remote__media", json!({}), CancelToken::new(), None)
        .await
        .unwrap();
    assert!(media.to_text().contains("[image: image/png, 70 bytes]"));
    bounded("shutdown", manager.shutdown()).await;
}

#[tokio::test]
async fn an_http_server_refusing_us_fails_to_start() {
    let (_server, url) = http_server().await;
    let mut wrong = config(&url);
    wrong.http_headers.clear();
    let mut unset = config(&url);
    unset.bearer_token_env_var = Some("MCP_TEST_VARIABLE_NOBODY_SETS".to_owned());
    let (manager, _log) = started([("refused", wrong), ("tokenless", unset)]).await;
    let refused = failure(&manager, "refused");
    assert!(refused.contains("initialize failed"), "{refused}");
    assert!(refused.contains("401"), "{refused}");
    let tokenless = failure(&manager, "tokenless");
    assert_eq!(
        tokenless,
        "the bearer token variable MCP_TEST_VARIABLE_NOBODY_SETS is not set"
    );
}
