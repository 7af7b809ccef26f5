//! An in-memory file system for tests of the patch tool; no symlinks, no permissions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::fs::{FileSystem, FsError};

/// Files kept in a map from path to content.
#[derive(Debug, Default)]
pub struct MemoryFileSystem {
    files: Mutex<BTreeMap<PathBuf, String>>,
}

impl MemoryFileSystem {
    /// An empty file system.
    pub fn new() -> Self {
        Self::default()
    }

    /// A file system holding these files.
    pub fn with_files<P: Into<PathBuf>, S: Into<String>>(
        files: impl IntoIterator<Item = (P, S)>,
    ) -> Self {
        let fs = Self::new();
        {
            let mut map = fs.lock();
            for (p, s) in files {
                map.insert(p.into(), s.into());
            }
        }
        fs
    }

    /// A copy of every file.
    pub fn files(&self) -> BTreeMap<PathBuf, String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, String>> {
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl FileSystem for MemoryFileSystem {
    async fn read_to_string(&self, path: &Path) -> Result<String, FsError> {
        self.lock()
            .get(path)
            .cloned()
            .ok_or_else(|| FsError::NotFound(path.to_path_buf()))
    }

    async fn write(&self, path: &Path, contents: &str) -> Result<(), FsError> {
        self.lock().insert(path.to_path_buf(), contents.to_owned());
        Ok(())
    }

    async fn remove(&self, path: &Path) -> Result<(), FsError> {
        self.lock()
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| FsError::NotFound(path.to_path_buf()))
    }

    async fn rename(&self, from: &Path, to: &Path) -> Result<(), FsError> {
        let mut map = self.lock();
        let content = map
            .remove(from)
            .ok_or_else(|| FsError::NotFound(from.to_path_buf()))?;
        map.insert(to.to_path_buf(), content);
        Ok(())
    }

    async fn resolve(&self, path: &Path) -> Result<PathBuf, FsError> {
        Ok(path.to_path_buf())
    }
}
