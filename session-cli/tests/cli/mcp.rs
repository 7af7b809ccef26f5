//! `session mcp list` against the workspace's MCP test server: status and tools of each server,
//! in text and JSON, and a failing server named with its reason.

use session_testkit::mcp_test_server;

use crate::support::Sandbox;

fn args(rest: &[&str]) -> Vec<String> {
    let server = mcp_test_server().display().to_string();
    let mut out: Vec<String> = [
        format!("mcp_servers.t.command=\"{server}\""),
        "mcp_servers.t.args=[\"serve\", \"basic\"]".to_owned(),
        format!("mcp_servers.bad.command=\"{server}\""),
        "mcp_servers.bad.args=[\"crash\"]".to_owned(),
    ]
    .into_iter()
    .flat_map(|a| ["-c".to_owned(), a])
    .collect();
    out.extend(rest.iter().map(|s| (*s).to_owned()));
    out
}

#[test]
fn mcp_list_prints_each_servers_status_and_tools() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(&args(&["mcp", "list"]), None);
    assert_eq!(out.code, Some(1), "a server failed: {out:?}");
    assert!(out.stdout.contains("t: ready, "), "{out:?}");
    assert!(
        out.stdout
            .contains("  mcp__t__echo  returns its text argument"),
        "{out:?}"
    );
    assert!(out.stdout.contains("bad: failed: "), "{out:?}");

    let out = sandbox.run(&args(&["mcp", "list", "--json"]), None);
    let rows: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let t = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["server"] == "t")
        .unwrap();
    assert_eq!(t["status"], "ready");
    assert!(
        t["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|tool| tool["qualified"] == "mcp__t__echo" && tool["read_only"] == true)
    );
}
