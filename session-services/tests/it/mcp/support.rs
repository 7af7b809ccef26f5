//! What the MCP tests run against: the in-repo test server (built once per test process with
//! the cargo that runs the tests) and the pinned reference server from npm (installed once into
//! the target directory, under a lock file so concurrent test processes install it once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
/// package first; `None` when skipped (never under `CI=true`).
pub(crate) fn everything_config() -> Option<McpServerConfig> {
    const ENTRY: &str = "dist/index.js";
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let package = format!("{EVERYTHING_PACKAGE}@{EVERYTHING_VERSION}");
        session_testkit::npm::install(
            Path::new(env!("CARGO_TARGET_TMPDIR")),
            &format!("mcp-everything-{EVERYTHING_VERSION}"),
            &[&package],
            &format!("node_modules/{EVERYTHING_PACKAGE}/{ENTRY}"),
        )
    });
    let dir = match session_testkit::npm::required(dir, "the MCP reference server") {
        Ok(dir) => dir,
        Err(skip) => {
            eprintln!("{skip}");
            return None;
        }
    };
    let entry = dir
        .join("node_modules")
        .join(EVERYTHING_PACKAGE)
        .join(ENTRY);
    Some(McpServerConfig::stdio("node", [entry.to_string_lossy()]))
}
