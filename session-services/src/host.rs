//! Read-only questions about the host that the known-safe check asks: where a program name
//! resolves, whether a path is an installed shell, which filters a repository's own attribute
//! file names.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Directories an installed shell lives in when `/etc/shells` does not list it.
const SHELL_DIRS: &[&str] = &["/bin", "/usr/bin", "/usr/local/bin"];

/// The most of `$GIT_DIR/info/attributes` that is read; a longer one cannot be told.
const MAX_ATTRIBUTES: u64 = 1 << 20;

/// Where `exec` finds a bare program `name` through this process's `PATH`, when the first entry
/// holding it is absolute and outside `cwd`. `None` when it is not found, when an empty or relative
/// entry comes first (it would be searched relative to the command's working directory), or when
/// it lies inside `cwd`, where the session's commands may have put it.
pub fn find_program(name: &str, cwd: &Path) -> Option<PathBuf> {
    find_program_in(name, cwd, std::env::var_os("PATH").as_deref())
}

/// [`find_program`] with an explicit `PATH` value.
pub fn find_program_in(name: &str, cwd: &Path, path: Option<&OsStr>) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') {
        return None;
    }
    let workspace = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
    for dir in std::env::split_paths(path?) {
        if !dir.is_absolute() {
            return None;
        }
        let candidate = dir.join(name);
        let Ok(meta) = candidate.metadata() else {
            continue;
        };
        if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
            continue;
        }
        let real = candidate.canonicalize().ok()?;
        if real.starts_with(&workspace) || dir.starts_with(&workspace) {
            return None;
        }
        return Some(real);
    }
    None
}

/// Whether the absolute `path` is an installed shell: an executable file that `/etc/shells`
/// lists, or that lies (after symlinks) in `/bin`, `/usr/bin` or `/usr/local/bin`.
pub fn is_installed_shell(path: &Path) -> bool {
    if !path.is_absolute() {
        return false;
    }
    let Ok(real) = path.canonicalize() else {
        return false;
    };
    let Ok(meta) = real.metadata() else {
        return false;
    };
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return false;
    }
    let listed = std::fs::read_to_string("/etc/shells").is_ok_and(|text| {
        text.lines()
            .map(str::trim)
            .any(|line| !line.starts_with('#') && Path::new(line) == path)
    });
    listed
        || real
            .parent()
            .is_some_and(|dir| SHELL_DIRS.iter().any(|d| Path::new(d) == dir))
}

/// The filter drivers named in `$GIT_DIR/info/attributes` (and its common directory's, for a
/// worktree) of the repository around `dir`: empty outside a repository, `None` when a file
/// cannot be read or is too long to tell.
pub fn git_info_filters(dir: &Path) -> Option<Vec<String>> {
    let Some(git_dir) = git_dir_of(dir) else {
        return Some(Vec::new());
    };
    let mut dirs = vec![git_dir.clone()];
    if let Ok(common) = std::fs::read_to_string(git_dir.join("commondir")) {
        dirs.push(git_dir.join(common.trim()));
    }
    let mut names = Vec::new();
    let mut seen = HashSet::new();
    for dir in dirs {
        let file = dir.join("info").join("attributes");
        let meta = match std::fs::metadata(&file) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => return None,
        };
        if meta.len() > MAX_ATTRIBUTES {
            return None;
        }
        let bytes = std::fs::read(&file).ok()?;
        let text = String::from_utf8_lossy(&bytes);
        for token in text.split_whitespace() {
            if let Some(name) = token.strip_prefix("filter=")
                && seen.insert(name.to_owned())
            {
                names.push(name.to_owned());
            }
        }
    }
    Some(names)
}

/// The git directory of the repository around `dir`: `$GIT_DIR`, else the nearest `.git` above.
fn git_dir_of(dir: &Path) -> Option<PathBuf> {
    if let Some(env) = std::env::var_os("GIT_DIR") {
        return Some(dir.join(env));
    }
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    for ancestor in start.ancestors() {
        let git = ancestor.join(".git");
        match std::fs::symlink_metadata(&git) {
            Ok(meta) if meta.is_file() => return crate::sandbox::gitdir_of_file(&git),
            Ok(_) => return Some(git),
            Err(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests;
