//! The streamable HTTP transport against the test server on loopback, with a bearer token read
//! from the variable `bearer_token_env_var` names; without the token the server refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;
use session_state::CancelToken;

use super::support::{bounded, failure, started, test_server};

/// The test server in `http` mode, and the URL it listens on.
fn serve(token: &str) -> (Child, String) {
    let mut child = Command::new(test_server())
        .args(["http", "basic"])
        .env("MCP_TEST_BEARER", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().strip_prefix("listening ").unwrap().to_owned();
    (child, url)
}

#[tokio::test]
async fn a_streamable_http_server_is_called_with_the_bearer_token() {
    // Cargo sets CARGO_PKG_NAME for every test process; its value stands in for a token, so
    // the test needs no change to its own environment.
    let token = std::env::var("CARGO_PKG_NAME").unwrap();
    let (mut child, url) = serve(&token);
    let mut config = session_services::mcp::McpServerConfig::http(&url);
    config.bearer_token_env_var = Some("CARGO_PKG_NAME".to_owned());
    let (manager, _log) = started([("web", config)]).await;
    let result = bounded(
        "echo over http",
        manager.call(
            "mcp__web__echo",
            json!({"text": "over http"}),
            CancelToken::new(),
            None,
        ),
    )
    .await
    .unwrap();
    assert!(result.to_text().contains("over http"), "{result:?}");
    manager.shutdown().await;

    // Without the token the server answers 401 and the server is reported failed.
    let config = session_services::mcp::McpServerConfig::http(&url);
    let (manager, _log) = started([("web", config)]).await;
    let error = failure(&manager, "web");
    assert!(!error.is_empty());
    manager.shutdown().await;
    let _ = child.kill();
    let _ = child.wait();
}
