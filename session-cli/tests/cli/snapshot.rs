//! A snapshot of `exec`'s human output when piped, with a scripted model in a directory of
//! fixed files, so nothing machine-specific shows.

use serde_json::json;

use crate::support::Sandbox;

#[test]
fn exec_human_output_when_piped_is_plain_text() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.cwd().join("hello.txt"), "hello, world\n").unwrap();
    let patch = "*** Begin Patch\n*** Update File: hello.txt\n@@\n-hello, world\n+hello, session\n*** End Patch\n";
    let script = json!({"responses": [
        {"steps": [
            {"type": "text", "text": "Let me read the file.", "deltas": 3},
            {"type": "tool_call", "call_id": "c1", "name": "shell",
             "arguments": {"command": ["cat", "hello.txt"]}},
            {"type": "usage", "input_tokens": 120, "output_tokens": 12},
        ]},
        {"steps": [
            {"type": "text", "text": "Now a command that fails, and a patch.", "deltas": 2},
            {"type": "tool_call", "call_id": "c2", "name": "shell",
             "arguments": {"command": ["false"]}},
            {"type": "tool_call", "call_id": "c3", "name": "apply_patch",
             "arguments": {"input": patch}},
            {"type": "usage", "input_tokens": 200, "output_tokens": 30},
        ]},
        {"steps": [
            {"type": "describe_last_output", "prefix": "Done. "},
            {"type": "usage", "input_tokens": 260, "output_tokens": 9},
        ]},
    ]});
    let script_path = sandbox.home.path().join("script.json");
    std::fs::write(&script_path, script.to_string()).unwrap();
    let out = sandbox.run(
        &[
            "-c",
            "model_provider=script",
            "-c",
            &format!("model_script=\"{}\"", script_path.display()),
            "exec",
            "--full-auto",
            "tidy up hello.txt",
        ],
        None,
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let cwd = sandbox.cwd().display().to_string();
    let stdout = out.stdout.replace(&cwd, "[CWD]");
    insta::assert_snapshot!("exec_human_output_piped", stdout);
    assert_eq!(
        std::fs::read_to_string(sandbox.cwd().join("hello.txt")).unwrap(),
        "hello, session\n"
    );
}
