//! `session acp` on real stdio: bad input is answered and the connection goes on; stdout holds
//! nothing but JSON-RPC messages; the end of input shuts down with exit 0.

use crate::support::Sandbox;

fn lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON-RPC on stdout ({e}): {l}"))
        })
        .collect()
}

#[test]
fn bad_input_is_answered_and_the_connection_goes_on() {
    let sandbox = Sandbox::new();
    let mut agent = sandbox.spawn(&["acp"]);
    agent.send(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}"#);
    agent.expect_stdout(r#""id":1,"result""#);
    agent.send("this is not json");
    agent.expect_stdout(r#""code":-32700"#);
    agent.send(r#"{"jsonrpc":"2.0","id":2,"method":"session/teleport","params":{}}"#);
    agent.expect_stdout(r#""id":2,"error":{"code":-32601"#);
    agent.send(r#"{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"nope","prompt":[{"type":"text","text":"hi"}]}}"#);
    agent.expect_stdout(r#""id":3,"error":{"code":-32602,"message":"unknown session id `nope`""#);
    agent.send(r#"{"jsonrpc":"2.0","id":4,"method":"session/new","params":{"cwd":"not/absolute","mcpServers":[]}}"#);
    agent.expect_stdout(r#""id":4,"error""#);
    let cwd = sandbox.cwd().display().to_string();
    agent.send(&format!(
        r#"{{"jsonrpc":"2.0","id":5,"method":"session/new","params":{{"cwd":{},"mcpServers":[]}}}}"#,
        serde_json::to_string(&cwd).unwrap()
    ));
    agent.expect_stdout(r#""id":5,"result":{"sessionId""#);
    let output = agent.wait();
    assert_eq!(output.code, Some(0), "stderr: {}", output.stderr);
    let messages = lines(&output.stdout);
    assert!(messages.iter().all(|m| m["jsonrpc"] == "2.0"));
    assert_eq!(messages.len(), 6, "{}", output.stdout);
    // The session was recorded, and made durable at the end of input.
    assert_eq!(sandbox.recordings().len(), 1);
}
