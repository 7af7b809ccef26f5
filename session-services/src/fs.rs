//! The file-system port for patches: read, write, delete, rename.
//!
//! Lets the patch tool be tested on an in-memory tree and keeps the core free of `std::fs`.

use std::path::{Path, PathBuf};

/// Why a file operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsError {
    /// The file does not exist.
    #[error("{0} does not exist")]
    NotFound(PathBuf),
    /// The file system panicked; the message says where and why.
    #[error("{0}")]
    Panicked(String),
    /// Any other failure.
    #[error("file operation failed on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// File operations a patch needs. Called by the core's patch tool with absolute paths.
///
/// Implementers must create missing parent folders on write and rename, and report a missing file
/// as [`FsError::NotFound`].
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait::async_trait]
pub trait FileSystem: Send + Sync {
    /// Read a file as UTF-8 text.
    ///
    /// # Errors
    ///
    /// [`FsError::NotFound`] when it does not exist, [`FsError::Io`] otherwise.
    async fn read_to_string(&self, path: &Path) -> Result<String, FsError>;

    /// Write a file, creating parent folders; replaces it atomically where the platform allows.
    ///
    /// A symlink at `path` is replaced, never written through (its parent folders are followed,
    /// so callers check where they resolve). Implementers must not open any existing file
    /// for writing on the way, temporary files included.
    ///
    /// # Errors
    ///
    /// [`FsError::Io`] when it cannot be written.
    async fn write(&self, path: &Path, contents: &str) -> Result<(), FsError>;

    /// Delete a file.
    ///
    /// # Errors
    ///
    /// [`FsError::NotFound`] when it does not exist, [`FsError::Io`] otherwise.
    async fn remove(&self, path: &Path) -> Result<(), FsError>;

    /// Move a file, creating the destination's parent folders.
    ///
    /// # Errors
    ///
    /// [`FsError::NotFound`] when `from` does not exist, [`FsError::Io`] otherwise.
    async fn rename(&self, from: &Path, to: &Path) -> Result<(), FsError>;

    /// The path with every symlink resolved, for the longest prefix that exists; the rest is
    /// appended as it is. Used to keep patches inside the working directory.
    ///
    /// # Errors
    ///
    /// [`FsError::Io`] when a component cannot be read.
    async fn resolve(&self, path: &Path) -> Result<PathBuf, FsError>;
}
