//! The sandbox port: what the kernel can confine here, the confinement of one command resolved
//! to concrete paths, and whether a failed confined command was stopped by the sandbox.
//!
//! The confinement itself is enforced by the shell that starts the process ([`ProcessShell`]
//! applies it in the child before `exec`); this module only describes it. It must never widen
//! what a policy allows: a path that cannot be resolved is left out of the writable set, never
//! added to it.
//!
//! [`ProcessShell`]: crate::ProcessShell

use std::path::{Path, PathBuf};

use session_state::SandboxPolicy;

use crate::shell::{ExecEnd, ExecOutput};

/// Whether commands may open network sockets (anything but Unix sockets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NetworkAccess {
    /// Only `AF_UNIX` sockets; every other socket family is refused.
    #[default]
    Restricted,
    /// The network is open.
    Enabled,
}

/// A kernel confinement resolved to concrete, absolute paths.
///
/// A confined command reads anywhere, writes only beneath `writable_roots` (and the usual
/// character devices such as `/dev/null`), never beneath `read_only`, cannot see or signal
/// processes outside its own tree, and cannot trace any process.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SandboxSpec {
    /// Folders the command may write beneath.
    pub writable_roots: Vec<PathBuf>,
    /// Paths inside the writable roots that stay read-only (every `.git`, the session home).
    pub read_only: Vec<PathBuf>,
    /// Network sockets allowed or not.
    pub network: NetworkAccess,
}

/// How one command is to be confined.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ExecSandbox {
    /// Not at all (`danger-full-access`, or a command the user allowed outside the sandbox).
    #[default]
    None,
    /// By the kernel, as the spec says.
    Confined(SandboxSpec),
}

impl ExecSandbox {
    /// Whether the command is confined.
    pub fn is_confined(&self) -> bool {
        matches!(self, Self::Confined(_))
    }

    /// The confinement a policy asks for, for a command of a session working in `cwd`.
    ///
    /// `workspace-write` may write `cwd`, its `writable_roots` (relative ones are taken from
    /// `cwd`), and unless `exclude_tmp` is set, `$TMPDIR`, `/tmp` and `/dev/shm`. Inside those
    /// roots every `.git` found near the top of a root (see [`find_git_dirs`]) and every path
    /// of `protected` (the session home) stay read-only. Roots that do not exist are left out.
    pub fn from_policy(policy: &SandboxPolicy, cwd: &Path, protected: &[PathBuf]) -> Self {
        let (roots, network, include_tmp) = match policy {
            SandboxPolicy::DangerFullAccess => return Self::None,
            SandboxPolicy::ReadOnly => (Vec::new(), NetworkAccess::Restricted, false),
            SandboxPolicy::WorkspaceWrite {
                writable_roots,
                network_access,
                exclude_tmp,
            } => {
                let mut roots = vec![cwd.to_path_buf()];
                roots.extend(writable_roots.iter().map(|r| cwd.join(r)));
                let network = if *network_access {
                    NetworkAccess::Enabled
                } else {
                    NetworkAccess::Restricted
                };
                (roots, network, !exclude_tmp)
            }
        };
        let mut candidates = roots;
        if include_tmp {
            if let Some(tmpdir) = std::env::var_os("TMPDIR").filter(|t| !t.is_empty()) {
                candidates.push(PathBuf::from(tmpdir));
            }
            candidates.push(PathBuf::from("/tmp"));
            candidates.push(PathBuf::from("/dev/shm"));
        }
        let mut writable_roots: Vec<PathBuf> = Vec::new();
        for candidate in candidates {
            // Canonical paths only: the kernel rules and the read-only bind mounts must name
            // the same directories the command will reach through symlinks.
            let Ok(real) = candidate.canonicalize() else {
                continue;
            };
            if real.is_dir() && !writable_roots.contains(&real) {
                writable_roots.push(real);
            }
        }
        let mut read_only: Vec<PathBuf> = Vec::new();
        for root in &writable_roots {
            for git in find_git_dirs(root) {
                push_unique(&mut read_only, git);
            }
        }
        for path in protected {
            if let Ok(real) = path.canonicalize()
                && writable_roots.iter().any(|root| real.starts_with(root))
            {
                push_unique(&mut read_only, real);
            }
        }
        Self::Confined(SandboxSpec {
            writable_roots,
            read_only,
            network,
        })
    }
}

fn push_unique(paths: &mut Vec<PathBuf>, path: PathBuf) {
    if !paths.contains(&path) {
        paths.push(path);
    }
}

/// How deep below a writable root `.git` entries are looked for.
const GIT_SEARCH_DEPTH: usize = 2;
/// How many directories the search reads at most per root, so a huge tree costs little.
const GIT_SEARCH_DIRS: usize = 256;
/// Folders too large or too generated to hold a repository worth protecting.
const GIT_SEARCH_SKIP: &[&str] = &["node_modules", "target", ".venv", "venv", "__pycache__"];

/// The `.git` entries of `root`: its own, those of nested repositories a few levels down (a
/// vendored checkout, a submodule), and the git directory a `.git` file points at when it lies
/// inside `root`. Canonical paths; bounded work.
pub fn find_git_dirs(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut queue = std::collections::VecDeque::from([(root.to_path_buf(), 0usize)]);
    let mut visited = 0;
    while let Some((dir, depth)) = queue.pop_front() {
        visited += 1;
        if visited > GIT_SEARCH_DIRS {
            break;
        }
        let git = dir.join(".git");
        if let Ok(meta) = std::fs::symlink_metadata(&git) {
            if let Ok(real) = git.canonicalize() {
                push_unique(&mut found, real);
            }
            if meta.is_file()
                && let Some(target) = gitdir_of_file(&git)
                && target.starts_with(root)
            {
                push_unique(&mut found, target);
            }
        }
        if depth >= GIT_SEARCH_DEPTH {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name == ".git" || GIT_SEARCH_SKIP.iter().any(|s| name == *s) {
                continue;
            }
            // file_type does not follow symlinks: a link cannot lead the walk out of the root.
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                queue.push_back((entry.path(), depth + 1));
            }
        }
    }
    found
}

/// The directory a `gitdir: …` file names, canonical.
pub(crate) fn gitdir_of_file(git_file: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(git_file).ok()?;
    let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
    let base = git_file.parent()?;
    base.join(target).canonicalize().ok()
}

/// What this machine can confine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SandboxSupport {
    /// Commands can be confined; `description` says by what (for logs and `session sandbox`).
    Enforced {
        /// The mechanisms in force, e.g. "landlock ABI 7, seccomp, user+pid+mount namespaces".
        description: String,
    },
    /// Commands cannot be confined here.
    Unavailable {
        /// Which kernel feature is missing, or why.
        reason: String,
    },
}

impl SandboxSupport {
    /// Whether confinement is enforced.
    pub fn is_enforced(&self) -> bool {
        matches!(self, Self::Enforced { .. })
    }
}

/// The sandbox a session's commands run in. Called by the core when a session starts (which
/// policies can be honoured) and after a confined command fails (was it the sandbox?).
///
/// Implementers must report [`SandboxSupport::Enforced`] only when the session's shell really
/// applies [`ExecSandbox::Confined`] to every command that carries it: the core relies on it to
/// never run a command less confined than the session says.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Sandbox: Send + Sync {
    /// What can be enforced.
    fn support(&self) -> SandboxSupport;

    /// Whether a confined command that failed was stopped by the sandbox (a denied write, a
    /// refused socket), so that asking to run it again outside may help.
    fn denied(&self, output: &ExecOutput) -> bool;
}

/// A sandbox that confines nothing: every policy but `danger-full-access` is refused.
#[derive(Debug, Clone)]
pub struct NoSandbox {
    reason: String,
}

impl NoSandbox {
    /// No sandbox, for the reason given (shown when a policy is refused).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

impl Sandbox for NoSandbox {
    fn support(&self) -> SandboxSupport {
        SandboxSupport::Unavailable {
            reason: self.reason.clone(),
        }
    }

    fn denied(&self, _output: &ExecOutput) -> bool {
        false
    }
}

/// The error messages programs print when the kernel refused them what a sandbox refuses:
/// `EACCES` (Landlock), `EROFS` (read-only bind mounts), `EPERM` (seccomp).
const DENIAL_MARKERS: &[&str] = &[
    "permission denied",
    "operation not permitted",
    "read-only file system",
    "eacces",
    "eperm",
    "erofs",
];

/// Whether a failed command's output reads like a sandbox denial: it exited non-zero by
/// itself and its output carries one of the messages of `EACCES`, `EPERM` or `EROFS`.
pub fn looks_like_denial(output: &ExecOutput) -> bool {
    if output.end != ExecEnd::Exited || output.exit_code == 0 {
        return false;
    }
    let text = output.aggregated_output.to_ascii_lowercase();
    DENIAL_MARKERS.iter().any(|m| text.contains(m))
}

#[cfg(test)]
mod tests;
