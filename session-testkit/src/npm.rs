//! Pinned npm packages for tests that drive a real third-party program (the MCP reference
//! server, the ACP TypeScript SDK) with the machine's `node`.
//!
//! A package set is installed once into a folder under the target directory, under a file lock
//! so concurrent test processes install it once, with a marker naming exactly what was
//! installed. Without node or npm a test is skipped with a message, except under `CI=true`,
//! where that fails it: CI must run these tests.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Install `packages` (`name@exact-version`) into `<root>/<folder>` unless already there, and
/// return the folder. `entry` (relative to the folder) must exist after the install.
///
/// # Errors
///
/// Why it could not: node or npm missing, npm failing, the entry missing.
pub fn install(
    root: &Path,
    folder: &str,
    packages: &[&str],
    entry: &str,
) -> Result<PathBuf, String> {
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
    let dir = root.join(folder);
    let entry = dir.join(entry);
    let marker = dir.join(".installed");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // One install across test processes: the others wait on the lock, then see the marker.
    let lock = std::fs::File::create(root.join(format!("{folder}.lock")))
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
            .args(packages)
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

/// The installed folder, or why the test is skipped (for the test to print: this crate never
/// prints).
///
/// # Errors
///
/// The skip message, when the install failed outside CI.
///
/// # Panics
///
/// Under `CI=true` when the install failed: CI must run the test.
pub fn required(installed: &Result<PathBuf, String>, what: &str) -> Result<PathBuf, String> {
    match installed {
        Ok(dir) => Ok(dir.clone()),
        Err(reason) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true needs {what}, but: {reason}")
        }
        Err(reason) => Err(format!("skipping a test of {what}: {reason}")),
    }
}
