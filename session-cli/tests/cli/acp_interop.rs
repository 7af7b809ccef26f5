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

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
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

/// The npm prefix holding the pinned SDK, installed on first use. `None` (after saying why)
/// when node or npm is missing, except under `CI=true`, where that fails the test.
fn sdk_prefix() -> Option<PathBuf> {
    static PREFIX: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match PREFIX.get_or_init(install_sdk) {
        Ok(prefix) => Some(prefix.clone()),
        Err(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true needs the ACP TypeScript SDK, but: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping the ACP interoperability test: {reason}");
            None
        }
    }
}

fn install_sdk() -> Result<PathBuf, String> {
    for tool in ["node", "npm"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!("`{tool}` is not installed"));
        }
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("acp-sdk-{SDK_VERSION}"));
    let entry = dir
        .join("node_modules")
        .join(SDK_PACKAGE)
        .join("dist/v1/stable/acp.js");
    let marker = dir.join(".installed");
    let packages = [
        format!("{SDK_PACKAGE}@{SDK_VERSION}"),
        format!("zod@{ZOD_VERSION}"),
    ];
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // One install across test processes: the others wait on the lock, then see the marker.
    let lock = std::fs::File::create(dir.with_file_name(format!("acp-sdk-{SDK_VERSION}.lock")))
        .map_err(|e| format!("cannot create the install lock: {e}"))?;
    // SAFETY: flock on a descriptor we own; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock: {}", std::io::Error::last_os_error()));
    }
    let wanted = packages.join("\n");
    let installed = std::fs::read_to_string(&marker).is_ok_and(|text| text == wanted);
    if !installed || !entry.exists() {
        let output = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--save-exact",
                "--prefix",
            ])
            .arg(&dir)
            .args(&packages)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`npm install {}` failed: {}",
                packages.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        if !entry.exists() {
            return Err(format!("{} is missing after the install", entry.display()));
        }
        let mut file = std::fs::File::create(&marker).map_err(|e| e.to_string())?;
        file.write_all(wanted.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    drop(lock);
    Ok(dir)
}
