//! The real file system behind the patch port, on tokio's blocking pool.
//!
//! A write goes to a new temporary file beside the target, created with `O_CREAT|O_EXCL` under
//! an unpredictable name (so a symlink or file planted in the workspace is never written
//! through), synced, then renamed over the target. It must not write through a symlink: the
//! rename replaces the directory entry the caller named, whatever it pointed to.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::fs::{FileSystem, FsError};

/// The machine's file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFileSystem;

fn io_err(path: &Path, source: std::io::Error) -> FsError {
    if source.kind() == ErrorKind::NotFound {
        FsError::NotFound(path.to_path_buf())
    } else {
        FsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

async fn create_parent(path: &Path) -> Result<(), FsError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io_err(parent, e))?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl FileSystem for RealFileSystem {
    async fn read_to_string(&self, path: &Path) -> Result<String, FsError> {
        tokio::fs::read_to_string(path)
            .await
            .map_err(|e| io_err(path, e))
    }

    async fn write(&self, path: &Path, contents: &str) -> Result<(), FsError> {
        create_parent(path).await?;
        let path = path.to_path_buf();
        let contents = contents.to_owned();
        // On the blocking pool as one unit: dropping this future cannot leave a temp file behind.
        let job = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                replace_file(&path, contents.as_bytes(), &mut random_suffixes())
            })
        };
        match job.await {
            Ok(result) => result,
            Err(e) => Err(io_err(&path, std::io::Error::other(e))),
        }
    }

    async fn remove(&self, path: &Path) -> Result<(), FsError> {
        tokio::fs::remove_file(path)
            .await
            .map_err(|e| io_err(path, e))
    }

    async fn rename(&self, from: &Path, to: &Path) -> Result<(), FsError> {
        tokio::fs::metadata(from)
            .await
            .map_err(|e| io_err(from, e))?;
        create_parent(to).await?;
        tokio::fs::rename(from, to)
            .await
            .map_err(|e| io_err(from, e))
    }

    async fn resolve(&self, path: &Path) -> Result<PathBuf, FsError> {
        // Canonicalize the longest existing prefix, then append the rest unchanged.
        let mut existing = path.to_path_buf();
        let mut rest: Vec<std::ffi::OsString> = Vec::new();
        loop {
            match tokio::fs::canonicalize(&existing).await {
                Ok(mut real) => {
                    for part in rest.iter().rev() {
                        real.push(part);
                    }
                    return Ok(real);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    let Some(name) = existing.file_name().map(|n| n.to_os_string()) else {
                        return Ok(path.to_path_buf());
                    };
                    rest.push(name);
                    if !existing.pop() {
                        return Ok(path.to_path_buf());
                    }
                }
                Err(e) => return Err(io_err(&existing, e)),
            }
        }
    }
}

/// How many names to try when a temp name is taken (each is random, so a clash means someone
/// planted files; give up rather than loop).
const TEMP_ATTEMPTS: usize = 8;

/// Random suffixes for temp names, from the operating system's random source (through `uuid`).
fn random_suffixes() -> impl Iterator<Item = String> {
    std::iter::repeat_with(|| uuid::Uuid::new_v4().simple().to_string())
}

/// Replace `path` with a file holding `contents`: write a temp file beside it, sync it, rename
/// it over `path`, sync the folder. `suffixes` names the temp file (tests pass fixed ones).
fn replace_file(
    path: &Path,
    contents: &[u8],
    suffixes: &mut dyn Iterator<Item = String>,
) -> Result<(), FsError> {
    // The mode of the file being replaced (through a symlink, the file whose content the
    // caller read), minus set-id bits, which a write clears anyway.
    let keep_mode = std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777);
    let (tmp, mut file) = create_temp(path, keep_mode, suffixes)?;
    let written = file
        .write_all(contents)
        .and_then(|()| match keep_mode {
            Some(mode) => file.set_permissions(std::fs::Permissions::from_mode(mode)),
            None => Ok(()),
        })
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(&tmp, e));
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(path, e));
    }
    // Make the rename itself durable. The file is already in place, so a failure here is not
    // reported as a failed write.
    if let Ok(dir) = File::open(parent_dir(path)) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Create a new temp file beside `path`. `O_EXCL` fails on any existing entry, a symlink
/// included, so nothing planted at the name is opened; a taken name is retried with the next
/// suffix. A file that replaces an existing one starts private (0600) until its mode is set;
/// a new file gets the usual 0666 less the umask, as it will keep.
fn create_temp(
    path: &Path,
    keep_mode: Option<u32>,
    suffixes: &mut dyn Iterator<Item = String>,
) -> Result<(PathBuf, File), FsError> {
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(64).collect())
        .unwrap_or_default();
    let mut last = std::io::Error::from(ErrorKind::AlreadyExists);
    for suffix in suffixes.take(TEMP_ATTEMPTS) {
        let tmp = parent_dir(path).join(format!(".{name}.session-tmp-{suffix}"));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if keep_mode.is_some() { 0o600 } else { 0o666 })
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp);
        match opened {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(io_err(&tmp, e)),
        }
    }
    Err(io_err(path, last))
}

/// The folder holding `path` (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests;
