//! The Linux sandbox: Landlock for the filesystem, a seccomp filter for sockets and
//! cross-process syscalls, and new user, mount and PID namespaces where the kernel allows them.
//!
//! Everything that allocates or can fail in interesting ways happens here, in the parent,
//! before the fork: the Landlock ruleset is created and filled, the seccomp program compiled,
//! the paths and id maps turned into C strings. The child (see `child.rs`) then only makes raw
//! system calls. Nothing here may make a command less confined than its [`SandboxSpec`] says:
//! when a part cannot be prepared, the command does not start.

mod child;
mod filter;
mod rules;

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::sandbox::{Sandbox, SandboxSpec, SandboxSupport, looks_like_denial};
use crate::shell::ExecOutput;

use self::child::NamespacePlan;
pub(crate) use self::child::Plan;

/// The kernel sandbox of this machine, as [`ProcessShell`](crate::ProcessShell) applies it.
///
/// A confined command can read anywhere, write only beneath its writable roots (plus
/// `/dev/null` and the other harmless character devices), never beneath the read-only paths
/// inside them (mounted read-only over themselves), cannot open sockets other than Unix ones
/// unless the network is enabled, cannot `ptrace` or read another process's memory, cannot
/// inject terminal input, and, in its own PID namespace with its own `/proc`, can neither see
/// nor signal the session or anything outside its tree. Everything it starts dies when its
/// first process ends or is killed.
///
/// The support check runs once per process and is cached.
#[derive(Debug, Clone, Copy, Default)]
pub struct LinuxSandbox;

impl LinuxSandbox {
    /// The sandbox of this machine.
    pub fn new() -> Self {
        Self
    }
}

impl Sandbox for LinuxSandbox {
    fn support(&self) -> SandboxSupport {
        let probe = probe();
        match (&probe.landlock, &probe.seccomp) {
            (Ok(abi), Ok(())) => {
                let ns = match &probe.namespaces {
                    Ok(()) => "user, mount and pid namespaces".to_owned(),
                    Err(reason) => format!("no namespaces ({reason})"),
                };
                SandboxSupport::Enforced {
                    description: format!("landlock ABI {abi}, seccomp filter, {ns}"),
                }
            }
            (Err(reason), _) | (_, Err(reason)) => SandboxSupport::Unavailable {
                reason: reason.clone(),
            },
        }
    }

    fn denied(&self, output: &ExecOutput) -> bool {
        looks_like_denial(output)
    }
}

/// What the kernel offers, found once.
#[derive(Debug)]
struct Probe {
    landlock: Result<i64, String>,
    seccomp: Result<(), String>,
    namespaces: Result<(), String>,
}

fn probe() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(|| {
        let landlock = child::landlock_abi();
        let seccomp = child::seccomp_available();
        let namespaces = child::probe_namespaces(&NamespacePlan::for_current_user(Vec::new()));
        Probe {
            landlock,
            seccomp,
            namespaces,
        }
    })
}

/// Why a confinement could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PrepareError {
    #[error("the kernel sandbox is unavailable: {0}")]
    Unavailable(String),
    #[error("landlock ruleset: {0}")]
    Landlock(String),
    #[error("seccomp filter: {0}")]
    Seccomp(String),
    #[error("path {0} cannot be passed to the kernel")]
    Path(String),
    #[error("cannot inspect the mount of {path}")]
    Statvfs {
        path: String,
        #[source]
        source: io::Error,
    },
}

/// Prepare the confinement of one command.
///
/// # Errors
///
/// [`PrepareError`] when the kernel cannot enforce the spec; the command must then not run.
pub(crate) fn prepare(spec: &SandboxSpec) -> Result<Plan, PrepareError> {
    let probe = probe();
    if let Err(reason) = &probe.landlock {
        return Err(PrepareError::Unavailable(reason.clone()));
    }
    if let Err(reason) = &probe.seccomp {
        return Err(PrepareError::Unavailable(reason.clone()));
    }
    let with_namespaces = probe.namespaces.is_ok();
    let ruleset = cached_ruleset(spec, with_namespaces)?;
    let filter = filter::program(spec.network)?;
    let namespaces = if with_namespaces {
        let mut binds = Vec::with_capacity(spec.read_only.len());
        for path in &spec.read_only {
            binds.push(read_only_bind(path)?);
        }
        Some(NamespacePlan::for_current_user(binds))
    } else {
        None
    };
    Ok(Plan::new(ruleset, filter, namespaces))
}

/// How many rulesets are kept for reuse (a session uses one or two specs).
const RULESET_CACHE: usize = 8;

/// The ruleset of a spec, made once and reused: a ruleset descriptor can restrict any number
/// of processes. A rule names the directory it was made for, so a root deleted and made again
/// since is simply not writable through the old rule (narrower, never wider).
fn cached_ruleset(spec: &SandboxSpec, with_namespaces: bool) -> Result<Arc<OwnedFd>, PrepareError> {
    type Cache = std::sync::Mutex<Vec<(SandboxSpec, Arc<OwnedFd>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some((_, fd)) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|(s, _)| s == spec)
    {
        return Ok(Arc::clone(fd));
    }
    let fd = Arc::new(rules::ruleset(spec, with_namespaces)?);
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if cache.len() >= RULESET_CACHE {
        cache.remove(0);
    }
    cache.push((spec.clone(), Arc::clone(&fd)));
    Ok(fd)
}

/// A path to mount read-only over itself, with the flags its mount already has (a remount in a
/// user namespace must keep them).
fn read_only_bind(path: &Path) -> Result<(CString, libc::c_ulong), PrepareError> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| PrepareError::Path(path.display().to_string()))?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), &raw mut stat) };
    if rc != 0 {
        return Err(PrepareError::Statvfs {
            path: path.display().to_string(),
            source: io::Error::last_os_error(),
        });
    }
    let mut flags: libc::c_ulong = 0;
    for (st, ms) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
    ] {
        if stat.f_flag & st != 0 {
            flags |= ms;
        }
    }
    Ok((c_path, flags))
}

/// The shared, compiled seccomp program.
pub(crate) type Program = Arc<Vec<seccompiler::sock_filter>>;

/// The raw descriptor of an owned one, for the child.
fn raw(fd: &OwnedFd) -> libc::c_int {
    fd.as_raw_fd()
}
