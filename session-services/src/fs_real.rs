//! The real file system behind the patch port, on tokio's blocking pool.

use std::io::ErrorKind;
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
        // Write beside the target and rename over it, so a crash never leaves half a file.
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{file_name}.session-tmp-{}", std::process::id()));
        tokio::fs::write(&tmp, contents)
            .await
            .map_err(|e| io_err(&tmp, e))?;
        if let Ok(meta) = tokio::fs::metadata(path).await {
            let _ = tokio::fs::set_permissions(&tmp, meta.permissions()).await;
        }
        if let Err(e) = tokio::fs::rename(&tmp, path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(io_err(path, e));
        }
        Ok(())
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
