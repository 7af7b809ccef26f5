//! What the MCP tests run against: the in-repo test server (built once per test process with
//! the cargo that runs the tests) and the pinned reference server from npm (installed once into
//! the target directory, under a lock file so concurrent test processes install it once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use session_services::mcp::{McpManager, McpServerConfig, McpStatus};

/// The reference server and its exact version: bump both together, deliberately.
pub(crate) const EVERYTHING_PACKAGE: &str = "@modelcontextprotocol/server-everything";
pub(crate) const EVERYTHING_VERSION: &str = "2026.8.31";

/// Every wait in these tests is bounded by this; reaching it fails the test instead of hanging.
pub(crate) const LIMIT: Duration = Duration::from_secs(15);

/// Runs `future`, failing the test if it takes longer than [`LIMIT`].
pub(crate) async fn bounded<F: std::future::Future>(what: &str, future: F) -> F::Output {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {LIMIT:?}"))
}

/// The statuses reported to `on_status`, in order, as `(server, status)`.
#[derive(Clone, Default)]
pub(crate) struct StatusLog(Arc<Mutex<Vec<(String, McpStatus)>>>);

impl StatusLog {
    pub(crate) fn callback(&self) -> session_services::mcp::OnStatus {
        let log = self.clone();
        Arc::new(move |server, status| {
            log.0
                .lock()
                .unwrap()
                .push((server.to_owned(), status.clone()));
        })
    }

    pub(crate) fn of(&self, server: &str) -> Vec<McpStatus> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(s, _)| s == server)
            .map(|(_, status)| status.clone())
            .collect()
    }

    /// Waits until `server` has been reported with a status matching `wanted`.
    pub(crate) async fn wait_for(&self, server: &str, wanted: impl Fn(&McpStatus) -> bool) {
        bounded("waiting for a status", async {
            while !self.of(server).iter().any(&wanted) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    }
}

/// Starts `servers` and waits until each is ready or failed.
pub(crate) async fn started(
    servers: impl IntoIterator<Item = (&'static str, McpServerConfig)>,
) -> (Arc<McpManager>, StatusLog) {
    let log = StatusLog::default();
    let servers: BTreeMap<String, McpServerConfig> = servers
        .into_iter()
        .map(|(name, config)| (name.to_owned(), config))
        .collect();
    let manager = McpManager::start(servers, log.callback());
    bounded("wait_started", manager.wait_started()).await;
    (manager, log)
}

/// The error of a failed server, or a panic naming its status.
pub(crate) fn failure(manager: &McpManager, server: &str) -> String {
    match manager.statuses().remove(server) {
        Some(McpStatus::Failed { error }) => error,
        other => panic!("{server} is not failed: {other:?}"),
    }
}

/// The in-repo test server's binary, built on first use with the cargo running the tests.
pub(crate) fn test_server() -> &'static Path {
    session_testkit::mcp_test_server()
}

/// A stdio config running the test server in `mode` with `profile`.
pub(crate) fn test_server_config(mode: &str, profile: &str) -> McpServerConfig {
    McpServerConfig::stdio(test_server().to_string_lossy(), [mode, profile])
}

/// Whether `pid` is a live process (not gone, not a zombie).
pub(crate) fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next())
                .unwrap_or("Z");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

/// Waits until `pid` is no longer alive.
pub(crate) async fn gone(pid: i32) {
    bounded("waiting for a process to be gone", async {
        while alive(pid) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A file for the test server's companion pid, and reading it back.
pub(crate) struct PidFile(tempfile::TempDir);

impl PidFile {
    pub(crate) fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.0.path().join("companion.pid")
    }

    /// The companion's pid, once the server has written it.
    pub(crate) async fn pid(&self) -> i32 {
        let path = self.path();
        bounded("waiting for the companion pid", async {
            loop {
                if let Ok(text) = std::fs::read_to_string(&path)
                    && let Ok(pid) = text.trim().parse()
                {
                    return pid;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
    }
}

/// `node <dir>/node_modules/<package>/dist/index.js` as a stdio config, installing the pinned
/// package first. `None` (after saying why) when node or npm is missing, except under `CI=true`,
/// where that fails the test: CI must run these tests.
pub(crate) fn everything_config() -> Option<McpServerConfig> {
    static ENTRY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let entry = ENTRY.get_or_init(install_everything);
    match entry {
        Ok(entry) => Some(McpServerConfig::stdio("node", [entry.to_string_lossy()])),
        Err(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true needs the MCP reference server, but: {reason}")
        }
        Err(reason) => {
            eprintln!("skipping a test of the MCP reference server: {reason}");
            None
        }
    }
}

fn install_everything() -> Result<PathBuf, String> {
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
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mcp-everything-{EVERYTHING_VERSION}"));
    let entry = dir
        .join("node_modules")
        .join(EVERYTHING_PACKAGE)
        .join("dist")
        .join("index.js");
    let marker = dir.join(".installed");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // One install across test processes: the others wait on the lock, then see the marker.
    let lock = std::fs::File::create(dir.with_extension("lock"))
        .map_err(|e| format!("cannot create the install lock: {e}"))?;
    // SAFETY: flock on a descriptor we own; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!("cannot lock: {}", std::io::Error::last_os_error()));
    }
    if !marker.exists() || !entry.exists() {
        let package = format!("{EVERYTHING_PACKAGE}@{EVERYTHING_VERSION}");
        let output = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(&package)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`npm install {package}` failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        if !entry.exists() {
            return Err(format!("{} is missing after the install", entry.display()));
        }
        let mut file = std::fs::File::create(&marker).map_err(|e| e.to_string())?;
        file.write_all(package.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    drop(lock);
    Ok(entry)
}
