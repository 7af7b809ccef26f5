//! The Landlock ruleset of a confined command: read and execute everywhere, write beneath the
//! writable roots and to a few character devices, and no signals or abstract Unix sockets
//! across the sandbox's edge.
//!
//! Landlock only ever adds permissions beneath a directory, so a read-only path inside a
//! writable root cannot be carved out by a rule. With namespaces it is mounted read-only over
//! itself (see `child.rs`); without them the root is granted piece by piece around it, which
//! leaves the root's own entries unwritable: narrower, never wider.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use landlock::{
    ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, Scope,
};

use super::PrepareError;
use crate::sandbox::SandboxSpec;

/// The newest ABI whose rights we ask for; older kernels get what they support.
const ABI_WANTED: ABI = ABI::V6;

/// Character devices any program may write (and `ioctl`, for terminals).
const WRITABLE_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
];

/// The ruleset as an open descriptor, ready for `landlock_restrict_self` in the child.
pub(super) fn ruleset(spec: &SandboxSpec, with_namespaces: bool) -> Result<OwnedFd, PrepareError> {
    let all = AccessFs::from_all(ABI_WANTED);
    let read = AccessFs::from_read(ABI_WANTED);
    let err = |e: &dyn std::fmt::Display| PrepareError::Landlock(e.to_string());
    let mut created: RulesetCreated = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(|e| err(&e))?
        .scope(Scope::Signal | Scope::AbstractUnixSocket)
        .map_err(|e| err(&e))?
        .create()
        .map_err(|e| err(&e))?;
    created = add(created, Path::new("/"), read)?;
    for device in WRITABLE_DEVICES {
        let path = Path::new(device);
        if path.exists() {
            created = add(created, path, AccessFs::from_file(ABI_WANTED))?;
        }
    }
    if Path::new("/dev/pts").is_dir() {
        created = add(
            created,
            Path::new("/dev/pts"),
            AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev,
        )?;
    }
    for root in &spec.writable_roots {
        let grants = if with_namespaces {
            vec![root.clone()]
        } else {
            grants_around(root, &spec.read_only)
        };
        for path in grants {
            let access = if path.is_dir() {
                all
            } else {
                AccessFs::from_file(ABI_WANTED)
            };
            created = add(created, &path, access)?;
        }
    }
    let fd: Option<OwnedFd> = created.into();
    fd.ok_or_else(|| PrepareError::Landlock("the kernel does not enforce landlock".to_owned()))
}

fn add(
    created: RulesetCreated,
    path: &Path,
    access: BitFlags<AccessFs>,
) -> Result<RulesetCreated, PrepareError> {
    let fd = match PathFd::new(path) {
        Ok(fd) => fd,
        // A root that vanished since the spec was made is simply not granted.
        Err(_) if !path.exists() => return Ok(created),
        Err(e) => return Err(PrepareError::Landlock(format!("{}: {e}", path.display()))),
    };
    created
        .add_rule(PathBeneath::new(fd, access))
        .map_err(|e| PrepareError::Landlock(format!("{}: {e}", path.display())))
}

/// The paths to grant so that `root` is writable except beneath `read_only`: `root` itself
/// when nothing read-only lies inside it, else its entries, split further around the
/// read-only ones.
pub(super) fn grants_around(root: &Path, read_only: &[PathBuf]) -> Vec<PathBuf> {
    let inside: Vec<&PathBuf> = read_only.iter().filter(|p| p.starts_with(root)).collect();
    if inside.is_empty() {
        return vec![root.to_path_buf()];
    }
    if inside.iter().any(|p| p.as_path() == root) {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut grants = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        // A granted symlink would grant whatever it points at, possibly outside the root.
        if kind.is_symlink() {
            continue;
        }
        let is_dir = kind.is_dir();
        if inside.iter().any(|p| p.starts_with(&path)) {
            if is_dir && inside.iter().all(|p| p.as_path() != path) {
                grants.extend(grants_around(&path, read_only));
            }
        } else {
            grants.push(path);
        }
    }
    grants
}

#[cfg(test)]
mod tests;
