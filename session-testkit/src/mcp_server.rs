//! The workspace's MCP test server (crate `mcp-test-server`), built on first use by the cargo
//! running the tests, so a test can start it as an MCP server over stdio.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Path of the `mcp-test-server` binary (`mcp-test-server <crash|hang|serve|http> [basic|names]`).
///
/// # Panics
///
/// When it cannot be built: the test cannot run without it.
pub fn mcp_test_server() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let output = Command::new(cargo)
            .args([
                "build",
                "--package",
                "mcp-test-server",
                "--bin",
                "mcp-test-server",
            ])
            .arg("--message-format=json-render-diagnostics")
            .current_dir(workspace)
            .stderr(Stdio::inherit())
            .output();
        let output = match output {
            Ok(o) if o.status.success() => o,
            other => panic!("building mcp-test-server failed: {other:?}"),
        };
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["target"]["name"] == "mcp-test-server")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .unwrap_or_else(|| panic!("cargo named no mcp-test-server executable"))
    })
}
