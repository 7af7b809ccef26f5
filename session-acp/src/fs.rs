//! The file-system port through the editor: `fs/read_text_file` and `fs/write_text_file`.
//!
//! Where the client offers them, a patch reads what the editor has (unsaved buffers included)
//! and writes through it, so the change lands in the editor's buffers and its undo history.
//! Deleting, moving and resolving paths have no ACP method and stay on the local disk, as does
//! an operation the client did not offer.

use std::path::{Path, PathBuf};

use agent_client_protocol::Client;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{ReadTextFileRequest, WriteTextFileRequest};
use session_core::async_trait;
use session_core::services::{FileSystem, FsError, RealFileSystem};

/// A [`FileSystem`] that reads and writes text files through the ACP client.
pub(crate) struct ClientFs {
    cx: ConnectionTo<Client>,
    session_id: String,
    read: bool,
    write: bool,
    local: RealFileSystem,
}

impl ClientFs {
    pub(crate) fn new(
        cx: ConnectionTo<Client>,
        session_id: String,
        read: bool,
        write: bool,
    ) -> Self {
        Self {
            cx,
            session_id,
            read,
            write,
            local: RealFileSystem,
        }
    }
}

fn client_error(path: &Path, error: &agent_client_protocol::Error) -> FsError {
    FsError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("the editor answered: {}", error.message)),
    }
}

#[async_trait]
impl FileSystem for ClientFs {
    async fn read_to_string(&self, path: &Path) -> Result<String, FsError> {
        if !self.read {
            return self.local.read_to_string(path).await;
        }
        let request = ReadTextFileRequest::new(self.session_id.clone(), path);
        match self.cx.send_request(request).block_task().await {
            Ok(response) => Ok(response.content),
            // Clients differ in how they say "no such file"; the disk knows.
            Err(_) if tokio::fs::symlink_metadata(path).await.is_err() => {
                Err(FsError::NotFound(path.to_path_buf()))
            }
            Err(e) => Err(client_error(path, &e)),
        }
    }

    async fn write(&self, path: &Path, contents: &str) -> Result<(), FsError> {
        // A symlink is replaced, never written through (the port's contract): the editor would
        // follow it, so that case stays on the disk.
        let is_link = tokio::fs::symlink_metadata(path)
            .await
            .is_ok_and(|m| m.file_type().is_symlink());
        if !self.write || is_link {
            return self.local.write(path, contents).await;
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| FsError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
        }
        let request = WriteTextFileRequest::new(self.session_id.clone(), path, contents);
        self.cx
            .send_request(request)
            .block_task()
            .await
            .map(|_| ())
            .map_err(|e| client_error(path, &e))
    }

    async fn remove(&self, path: &Path) -> Result<(), FsError> {
        self.local.remove(path).await
    }

    async fn rename(&self, from: &Path, to: &Path) -> Result<(), FsError> {
        if !(self.read && self.write) {
            return self.local.rename(from, to).await;
        }
        // Through the editor, so both buffers know: write the new file, then delete the old.
        let text = self.read_to_string(from).await?;
        self.write(to, &text).await?;
        self.local.remove(from).await
    }

    async fn resolve(&self, path: &Path) -> Result<PathBuf, FsError> {
        self.local.resolve(path).await
    }
}
