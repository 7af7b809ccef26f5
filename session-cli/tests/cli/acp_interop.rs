//! `session acp` against the official TypeScript client of the Agent Client Protocol: the
//! pinned `@agentclientprotocol/sdk`, run with the machine's `node`, drives the binary as an
//! editor would (initialize, a new session, a plain prompt, a command allowed once, a prompt
//! cancelled while its permission request is open, then the session loaded on a second
//! connection) and validates every message the agent sends with the SDK's own schemas. The
//! script is `acp_interop/client.mjs`; it prints one JSON summary line and fails on any check.
//!
//! The SDK is installed once into the target directory, under a lock so concurrent test
//! processes install it once. Without node or npm the test is skipped, except under `CI=true`,
//! where that fails it: CI must run it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use session_testkit::{MockResponse, sse_responses_text, sse_responses_tool_call};

use crate::support::{Mock, Sandbox};

/// The client SDK and its exact version: bump both together, deliberately.
const SDK_PACKAGE: &str = "@agentclientprotocol/sdk";
const SDK_VERSION: &str = "2.4.0";
/// The SDK's peer dependency (its schemas are zod schemas), pinned too so that a zod release
/// cannot change what validates.
const ZOD_VERSION: &str = "4.6.7";

/// The script bounds each of its waits (20 s) and itself (110 s); this bounds the script.
const SCRIPT_LIMIT: Duration = Duration::from_secs(150);

const HELLO_ANSWER: &str = "Hello from the mock.";
const APPROVED_ANSWER: &str = "The file is made.";

#[test]
fn the_typescript_sdk_client_drives_prompts_permissions_cancel_and_load() {
    let Some(prefix) = sdk_prefix() else {
        return;
    };
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_text(&["Hello ", "from the mock."], None)),
        MockResponse::sse(sse_responses_tool_call(
            "call_approved",
            "shell",
            r#"{"command":["touch","approved.txt"]}"#,
            None,
        )),
        MockResponse::sse(sse_responses_text(&[APPROVED_ANSWER], None)),
        MockResponse::sse(sse_responses_tool_call(
            "call_cancelled",
            "shell",
            r#"{"command":["touch","cancelled.txt"]}"#,
            None,
        )),
    ]);
    let sandbox = Sandbox::new();
    let workspace = sandbox.cwd().to_path_buf();
    let spec = serde_json::json!({
        "workspace": workspace,
        "sdkVersion": SDK_VERSION,
        "hello": { "prompt": "hello", "answer": HELLO_ANSWER },
        "approve": {
            "prompt": "make approved.txt",
            "command": ["touch", "approved.txt"],
            "answer": APPROVED_ANSWER,
        },
        "cancel": { "prompt": "make cancelled.txt", "command": ["touch", "cancelled.txt"] },
    });
    let scratch = tempfile::tempdir().unwrap();
    let spec_path = scratch.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();

    let mut args = mock.args("responses");
    args.extend(["-c", "approval_policy=\"untrusted\"", "acp"].map(str::to_owned));
    let agent = sandbox.command(&args);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/acp_interop/client.mjs");
    let mut node = Command::new("node");
    node.arg(&script)
        .arg(&spec_path)
        .arg(agent.get_program())
        .args(agent.get_args())
        .current_dir(&workspace)
        .env("ACP_SDK_PREFIX", &prefix);
    // The agent the script starts sees the environment every test of the binary gets.
    for (key, value) in agent.get_envs() {
        match value {
            Some(value) => node.env(key, value),
            None => node.env_remove(key),
        };
    }

    let started = Instant::now();
    let run = run_bounded(node, SCRIPT_LIMIT);
    let context = format!(
        "node client.mjs exited {:?} after {:?}\n--- its stdout ---\n{}\n--- its stderr \
         (agent lines prefixed `agent#N| `) ---\n{}",
        run.code,
        started.elapsed(),
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code, Some(0), "{context}");
    let line = run.stdout.lines().last().unwrap_or_default();
    let summary: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("the summary line is not JSON ({e})\n{context}"));
    eprintln!("acp interop summary: {line}");
    assert_eq!(summary["ok"], true, "{context}");
    assert_eq!(
        summary["stopReasons"],
        serde_json::json!(["end_turn", "end_turn", "cancelled"]),
        "{context}"
    );
    assert_eq!(
        summary["validationFailures"],
        serde_json::json!([]),
        "{context}"
    );

    // What the agent did on the client's word, seen from outside it.
    assert!(workspace.join("approved.txt").exists(), "{context}");
    assert!(!workspace.join("cancelled.txt").exists(), "{context}");
    assert_eq!(mock.requests().len(), 4, "{context}");
    assert_eq!(sandbox.recordings().len(), 1, "{context}");
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `command` to its end, killing it past `limit`.
fn run_bounded(mut command: Command, limit: Duration) -> Run {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run node");
    let collect = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = collect(Box::new(child.stdout.take().unwrap()));
    let stderr = collect(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = stderr.join().unwrap();
    if timed_out {
        stderr.push_str(&format!("\n(killed: still running after {limit:?})"));
    }
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr,
    }
}

/// The npm prefix holding the pinned SDK, installed on first use; `None` when skipped.
fn sdk_prefix() -> Option<PathBuf> {
    static PREFIX: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let installed = PREFIX.get_or_init(|| {
        let sdk = format!("{SDK_PACKAGE}@{SDK_VERSION}");
        let zod = format!("zod@{ZOD_VERSION}");
        session_testkit::npm::install(
            Path::new(env!("CARGO_TARGET_TMPDIR")),
            &format!("acp-sdk-{SDK_VERSION}"),
            &[&sdk, &zod],
            &format!("node_modules/{SDK_PACKAGE}/dist/v1/stable/acp.js"),
        )
    });
    match session_testkit::npm::required(installed, "the ACP TypeScript SDK") {
        Ok(prefix) => Some(prefix),
        Err(skip) => {
            eprintln!("{skip}");
            None
        }
    }
}
