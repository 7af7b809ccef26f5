//! `session mcp list`: start the configured MCP servers, print how each one started and the
//! tools it offers, and stop them.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::Result;
use session_core::services::mcp::{McpManager, McpStatus};

use crate::app::Outcome;
use crate::config::Settings;

/// List the servers (`--json`: one JSON array); exits 1 when a server failed.
pub(crate) async fn list(settings: &Settings, json: bool) -> Result<Outcome> {
    let servers = settings.mcp_servers.clone();
    let manager = McpManager::start(servers.clone(), Arc::new(|_: &str, _: &McpStatus| {}));
    manager.wait_started().await;
    let statuses = manager.statuses();
    let mut tools: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for tool in manager.tools() {
        tools.entry(tool.server.clone()).or_default().push(tool);
    }
    manager.shutdown().await;
    let mut failed = false;
    let mut out = std::io::stdout().lock();
    let mut rows = Vec::new();
    for (name, config) in &servers {
        let status = statuses.get(name);
        let (state, error) = match status {
            _ if !config.enabled => ("disabled", None),
            Some(McpStatus::Ready { .. }) => ("ready", None),
            Some(McpStatus::Failed { error }) => {
                failed = true;
                ("failed", Some(error.clone()))
            }
            _ => ("starting", None),
        };
        let offered = tools.remove(name).unwrap_or_default();
        if json {
            rows.push(serde_json::json!({
                "server": name,
                "status": state,
                "error": error,
                "tools": offered.iter().map(|t| serde_json::json!({
                    "name": t.name,
                    "qualified": t.qualified,
                    "description": t.description,
                    "read_only": t.read_only,
                    "input_schema": t.input_schema,
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        match &error {
            Some(e) => writeln!(out, "{name}: failed: {e}")?,
            None => writeln!(out, "{name}: {state}, {} tools", offered.len())?,
        }
        for tool in &offered {
            let first = tool.description.lines().next().unwrap_or_default();
            writeln!(out, "  {}  {first}", tool.qualified)?;
        }
    }
    if json {
        writeln!(out, "{}", serde_json::Value::Array(rows))?;
    } else if servers.is_empty() {
        writeln!(
            out,
            "no MCP servers configured ([mcp_servers.<name>] in config.toml)"
        )?;
    }
    out.flush()?;
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Done
    })
}
