//! Project instructions from the file system: the `AGENTS.md` files that apply to a session in
//! a working directory, read and concatenated into one bounded text.
//!
//! The files, in the order they are concatenated:
//!
//! 1. the global one in the session home: `AGENTS.override.md`, else `AGENTS.md`;
//! 2. for each directory from the repository root down to the working directory (inclusive):
//!    its `AGENTS.override.md`, else its `AGENTS.md`, else the first of the configured fallback
//!    filenames that exists. The repository root is the nearest ancestor of the working
//!    directory holding `.git` (a directory, or a file as in a worktree); with none, only the
//!    working directory itself is searched. The search never goes above the root.
//!
//! Which file a directory contributes is decided by existence alone, as in codex: an empty
//! `AGENTS.override.md` silences that directory's `AGENTS.md`. Files holding only whitespace are
//! skipped, and a file reached twice (a symlink to a doc already included, a session home that
//! is the working directory) is included once.
//!
//! Symlinks: a project doc may be a symlink only to a regular file inside the repository root
//! (the working directory when there is no repository); one pointing outside is passed over as
//! if absent. Unlike codex, which follows any symlink: the docs are sent to the model without
//! anyone being asked, so a cloned repository must not be able to name `~/.ssh/id_ed25519` its
//! `AGENTS.md`. The global file belongs to the user and may point anywhere. Anything that is not
//! a regular file (a directory, a FIFO, a device) is passed over, and opening never blocks.
//!
//! The total is capped at [`ProjectDocOptions::max_bytes`], headers included; a cut falls on a
//! character boundary and is said in a final line, the only text allowed past the cap. No file
//! is read beyond what the budget has left plus one byte. Invalid UTF-8 is replaced lossily.
//!
//! This module only reads: it must not write, create or cache anything, and it reports nothing
//! but the text (unreadable files are skipped with a debug trace).

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// The cap on the project instructions when none is configured: 32 KiB.
pub const DEFAULT_MAX_BYTES: usize = 32 * 1024;
/// The file each directory (and the session home) is searched for.
pub const AGENTS_FILENAME: &str = "AGENTS.md";
/// The local file that takes precedence over [`AGENTS_FILENAME`] in its directory.
pub const OVERRIDE_FILENAME: &str = "AGENTS.override.md";

/// How the project instructions are looked up (`project_doc_max_bytes`,
/// `project_doc_fallback_filenames`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDocOptions {
    /// The most bytes the returned text holds before its truncation line; 0 turns project
    /// instructions off.
    pub max_bytes: usize,
    /// Names tried in order in a directory holding neither `AGENTS.override.md` nor
    /// `AGENTS.md` (`CLAUDE.md`, …). A name that is empty or not a single plain file name
    /// (`a/b`, `..`) is ignored. Not used for the global file.
    pub fallback_filenames: Vec<String>,
}

impl Default for ProjectDocOptions {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            fallback_filenames: Vec::new(),
        }
    }
}

/// One file to include: what its header calls it and where it is (fully resolved).
#[derive(Debug)]
struct Doc {
    label: String,
    path: PathBuf,
}

/// The user instructions for a session in `cwd`: the global file in `home`
/// (`home/AGENTS.override.md`, else `home/AGENTS.md`), then for each directory from the
/// repository root down to `cwd` its `AGENTS.override.md`, else `AGENTS.md`, else the first
/// fallback filename that exists (see the module documentation for the rules).
///
/// Each part is preceded by a line `==> PATH <==` naming it relative to the repository root
/// (`==> AGENTS.md (global) <==` for the global file), and parts are separated by a blank line.
/// The text is at most `options.max_bytes` bytes, followed, when it had to be cut, by a final
/// line saying so. `None` when nothing was found, when every file found is empty, or when
/// `max_bytes` is 0.
pub fn load(cwd: &Path, home: Option<&Path>, options: &ProjectDocOptions) -> Option<String> {
    let max = options.max_bytes;
    if max == 0 {
        return None;
    }
    let mut docs: Vec<Doc> = home.into_iter().filter_map(global_doc).collect();
    docs.extend(project_docs(cwd, &candidate_names(options)));

    let mut out = String::new();
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut truncated = false;
    for doc in docs {
        let budget = max.saturating_sub(out.len());
        let Some((id, bytes)) = read_bounded(&doc.path, budget) else {
            continue;
        };
        if !seen.insert(id) {
            continue;
        }
        let over = bytes.len() > budget;
        let text = String::from_utf8_lossy(&bytes);
        if !over && text.trim().is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str("==> ");
        out.push_str(&doc.label);
        out.push_str(" <==\n");
        if over {
            out.push_str(&text);
        } else {
            out.push_str(text.trim_end_matches(['\n', '\r']));
        }
        if over || out.len() > max {
            let mut end = max;
            while !out.is_char_boundary(end) {
                end -= 1;
            }
            out.truncate(end);
            truncated = true;
            break;
        }
    }
    if out.is_empty() {
        return None;
    }
    if truncated {
        out.push_str(&format!(
            "\n[project instructions truncated: they exceed project_doc_max_bytes ({max} bytes)]"
        ));
    }
    Some(out)
}

/// `AGENTS.override.md` and `AGENTS.md`, then the usable fallbacks, each once.
fn candidate_names(options: &ProjectDocOptions) -> Vec<&str> {
    let mut names = vec![OVERRIDE_FILENAME, AGENTS_FILENAME];
    for name in &options.fallback_filenames {
        let mut components = Path::new(name).components();
        let plain = matches!(
            (components.next(), components.next()),
            (Some(Component::Normal(_)), None)
        );
        if plain && !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
}

/// The global file in `home`; it may be a symlink to anywhere.
fn global_doc(home: &Path) -> Option<Doc> {
    [OVERRIDE_FILENAME, AGENTS_FILENAME]
        .into_iter()
        .find_map(|name| {
            resolve(&home.join(name), None).map(|path| Doc {
                label: format!("{name} (global)"),
                path,
            })
        })
}

/// One doc per directory from the repository root (or `cwd` alone) down to `cwd`.
fn project_docs(cwd: &Path, names: &[&str]) -> Vec<Doc> {
    // Resolved, so the walk goes through real parents and every path below is canonical.
    let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
    let root = cwd
        .ancestors()
        .find(|dir| std::fs::metadata(dir.join(".git")).is_ok())
        .unwrap_or(cwd.as_path())
        .to_path_buf();
    let mut dirs: Vec<&Path> = cwd.ancestors().take_while(|dir| *dir != root).collect();
    dirs.push(&root);
    dirs.reverse();

    let mut docs = Vec::new();
    for dir in dirs {
        let found = names
            .iter()
            .find_map(|name| resolve(&dir.join(name), Some(&root)).map(|path| (*name, path)));
        if let Some((name, path)) = found {
            docs.push(Doc {
                label: relative_label(dir, &root, name),
                path,
            });
        }
    }
    docs
}

/// `name` in `dir`, written relative to `root` with `/` separators.
fn relative_label(dir: &Path, root: &Path, name: &str) -> String {
    let mut label = String::new();
    if let Ok(relative) = dir.strip_prefix(root) {
        for part in relative.components() {
            label.push_str(&part.as_os_str().to_string_lossy());
            label.push('/');
        }
    }
    label.push_str(name);
    label
}

/// Where `candidate` leads when it is a regular file, or a symlink to one that stays inside
/// `within` (anywhere when `within` is `None`).
fn resolve(candidate: &Path, within: Option<&Path>) -> Option<PathBuf> {
    let kind = std::fs::symlink_metadata(candidate).ok()?.file_type();
    if !kind.is_file() && !kind.is_symlink() {
        return None;
    }
    let target = std::fs::canonicalize(candidate).ok()?;
    if within.is_some_and(|root| !target.starts_with(root)) {
        tracing::debug!(path = %candidate.display(), "project doc points outside the repository");
        return None;
    }
    std::fs::metadata(&target).ok()?.is_file().then_some(target)
}

/// The file at the resolved `path` (its device and inode, and at most `budget + 1` bytes of
/// it), or `None` when it cannot be read as a regular file.
fn read_bounded(path: &Path, budget: usize) -> Option<((u64, u64), Vec<u8>)> {
    let result = (|| {
        // No symlink is followed any more (the path is resolved), and a FIFO swapped in since
        // the check cannot block the open.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        let limit = u64::try_from(budget).unwrap_or(u64::MAX).saturating_add(1);
        let mut bytes = Vec::new();
        File::take(file, limit).read_to_end(&mut bytes)?;
        Ok(((meta.dev(), meta.ino()), bytes))
    })();
    match result {
        Ok(read) => Some(read),
        Err(error) => {
            tracing::debug!(path = %path.display(), %error, "cannot read project doc");
            None
        }
    }
}

#[cfg(test)]
mod tests;
