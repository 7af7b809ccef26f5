//! An MCP server for the MCP client's tests, built on rmcp's server side: it plays the servers
//! that misbehave (crash or hang at start, die in the middle of a call, never answer, list odd
//! tool names and broken schemas) and serves over stdio or loopback streamable HTTP.
//!
//! Test support only: nothing may depend on it, and it must never listen beyond 127.0.0.1.
//!
//! Usage: `mcp-test-server <mode> [profile]`, where mode is `crash` (exit 3 at once), `hang`
//! (never answer `initialize`), `serve` (stdio) or `http` (loopback streamable HTTP; prints
//! `listening <url>` on stdout and, when `MCP_TEST_BEARER` is set, answers 401 to any request
//! without `Authorization: Bearer <that value>`). The profile picks the tools: `basic` (default)
//! or `names`. When `MCP_TEST_PID_FILE` is set, the server first starts a `sleep` in its process
//! group and writes that process's pid to the file, so a test can check the group was killed.

mod http;
mod tools;

use std::process::ExitCode;
use std::time::Duration;

use rmcp::ServiceExt;

use crate::tools::{Profile, TestServer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("serve", String::as_str);
    let profile = match args.get(1).map(String::as_str) {
        None | Some("basic") => Profile::Basic,
        Some("names") => Profile::Names,
        Some(other) => {
            eprintln!("mcp-test-server: unknown profile {other:?}");
            return ExitCode::from(2);
        }
    };
    // Kept alive (and in our process group) until we exit; the test checks it dies with us.
    let _companion = match spawn_companion() {
        Ok(child) => child,
        Err(message) => {
            eprintln!("mcp-test-server: {message}");
            return ExitCode::from(2);
        }
    };
    match mode {
        "crash" => {
            eprintln!("mcp-test-server: crashing at start as asked");
            ExitCode::from(3)
        }
        "hang" => {
            eprintln!("mcp-test-server: hanging at start as asked");
            loop {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        }
        "serve" => serve_stdio(profile).await,
        "http" => http::serve(profile).await,
        other => {
            eprintln!("mcp-test-server: unknown mode {other:?}");
            ExitCode::from(2)
        }
    }
}

async fn serve_stdio(profile: Profile) -> ExitCode {
    let service = match TestServer::new(profile)
        .serve(rmcp::transport::stdio())
        .await
    {
        Ok(service) => service,
        Err(error) => {
            eprintln!("mcp-test-server: initialize failed: {error}");
            return ExitCode::from(4);
        }
    };
    match service.waiting().await {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp-test-server: service failed: {error}");
            ExitCode::from(5)
        }
    }
}

/// Starts `sleep 300` when `MCP_TEST_PID_FILE` names a file, and writes its pid there.
fn spawn_companion() -> Result<Option<tokio::process::Child>, String> {
    let Some(path) = std::env::var_os("MCP_TEST_PID_FILE") else {
        return Ok(None);
    };
    let child = tokio::process::Command::new("sleep")
        .arg("300")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the companion sleep: {e}"))?;
    let pid = child.id().ok_or("the companion sleep has no pid")?;
    std::fs::write(&path, pid.to_string())
        .map_err(|e| format!("cannot write {}: {e}", path.to_string_lossy()))?;
    Ok(Some(child))
}
