//! The part of the sandbox that runs in the forked child, between `fork` and `exec`.
//!
//! The child of a multi-threaded process may only make async-signal-safe calls: nothing here
//! allocates, locks, or touches the Rust runtime; everything it needs was prepared by the
//! parent. With namespaces the child becomes three processes:
//!
//! 1. the *keeper* (the pid the session sees, leader of its own session and process group)
//!    enters new user, mount and PID namespaces, maps its ids, mounts the read-only paths over
//!    themselves, forks, closes every descriptor and waits;
//! 2. the *init* (PID 1 of the new namespace) mounts a fresh `/proc`, forks, closes every
//!    descriptor and reaps until the command ends, then exits with its status, which makes
//!    the kernel kill whatever the command left behind in the namespace;
//! 3. the *command* restricts itself with Landlock and seccomp and returns to `exec`.
//!
//! The keeper and the init stay outside the Landlock domain, so the command can neither trace
//! nor read them, and they are not dumpable. Exit statuses pass up unchanged (a signal `n`
//! becomes `128 + n`, as a shell reports it).

use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use super::{Program, raw};

const CLONE_FLAGS: libc::c_int = libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID;

/// Namespaces to enter and what to do in them.
#[derive(Debug)]
pub(crate) struct NamespacePlan {
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    /// Paths mounted read-only over themselves, with the flags their mount must keep.
    read_only: Vec<(CString, libc::c_ulong)>,
}

impl NamespacePlan {
    /// Map our own uid and gid to themselves inside, so files keep their owners.
    pub(crate) fn for_current_user(read_only: Vec<(CString, libc::c_ulong)>) -> Self {
        // SAFETY: getters without preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Self {
            uid_map: format!("{uid} {uid} 1\n").into_bytes(),
            gid_map: format!("{gid} {gid} 1\n").into_bytes(),
            read_only,
        }
    }
}

/// Everything the child needs, prepared by the parent.
#[derive(Debug)]
pub(crate) struct Plan {
    ruleset: Arc<OwnedFd>,
    filter: Program,
    namespaces: Option<NamespacePlan>,
}

impl Plan {
    pub(crate) fn new(
        ruleset: Arc<OwnedFd>,
        filter: Program,
        namespaces: Option<NamespacePlan>,
    ) -> Self {
        Self {
            ruleset,
            filter,
            namespaces,
        }
    }

    /// Confine the calling process; returns only in the process that goes on to `exec`.
    ///
    /// # Safety
    ///
    /// Must be called in a freshly forked child (a `pre_exec` hook), which it may turn into
    /// several processes; the ones that are not the command never return.
    pub(crate) unsafe fn enter(&self) -> io::Result<()> {
        // SAFETY: every call below is a raw system call on memory the plan owns.
        unsafe {
            // A session of its own: no controlling terminal to inject input into, and a
            // process group the session can kill as a whole.
            check(libc::setsid())?;
            if let Some(ns) = &self.namespaces {
                enter_namespaces(ns)?;
            }
            restrict(raw(&self.ruleset), &self.filter)
        }
    }
}

/// The keeper's and init's part; returns in the command's process only.
///
/// # Safety
///
/// As [`Plan::enter`].
unsafe fn enter_namespaces(ns: &NamespacePlan) -> io::Result<()> {
    // SAFETY: raw system calls on memory `ns` owns; see the module docs for the processes.
    unsafe {
        // A session that made itself non-dumpable (`secrets::protect_process`) passes that on
        // to this fork, and /proc/self of a non-dumpable process belongs to root: an
        // unprivileged process could not write its own maps. Dumpable only until they are
        // written; init turns it off again, and exec resets it for the command.
        let was_dumpable = libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0);
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
        check(libc::unshare(CLONE_FLAGS))?;
        // Without `deny`, an unprivileged process may not write its gid map.
        match write_file(c"/proc/self/setgroups", b"deny") {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            other => other?,
        }
        write_file(c"/proc/self/uid_map", &ns.uid_map)?;
        write_file(c"/proc/self/gid_map", &ns.gid_map)?;
        if was_dumpable == 0 {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
        // Our mounts must not propagate back to the session's namespace.
        check(libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        for (path, keep) in &ns.read_only {
            check(libc::mount(
                path.as_ptr(),
                path.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
            check(libc::mount(
                std::ptr::null(),
                path.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep,
                std::ptr::null(),
            ))?;
        }
        let init = fork()?;
        if init > 0 {
            not_dumpable();
            close_all();
            libc::_exit(wait_for(init));
        }
        // PID 1 of the new namespace.
        not_dumpable();
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        check(libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ))?;
        let command = fork()?;
        if command > 0 {
            close_all();
            libc::_exit(reap_until(command));
        }
        Ok(())
    }
}

/// Landlock, then seccomp (which also sets `no_new_privs`).
///
/// # Safety
///
/// In a forked child only.
unsafe fn restrict(ruleset: libc::c_int, filter: &Program) -> io::Result<()> {
    // SAFETY: raw system calls; the program outlives the call.
    unsafe {
        check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
        check_long(libc::syscall(
            libc::SYS_landlock_restrict_self,
            ruleset,
            0 as libc::c_uint,
        ))?;
        let prog = libc::sock_fprog {
            len: u16::try_from(filter.len())
                .map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?,
            filter: filter.as_ptr().cast::<libc::sock_filter>().cast_mut(),
        };
        check_long(libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0 as libc::c_uint,
            &raw const prog,
        ))?;
    }
    Ok(())
}

/// `fork` as a raw `clone`: no atfork handlers, nothing of libc's bookkeeping.
unsafe fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: clone without CLONE_VM copies the address space, like fork(2).
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::c_ulong::try_from(libc::SIGCHLD).unwrap_or(17),
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    check_long(pid)?;
    Ok(libc::pid_t::try_from(pid).unwrap_or(-1))
}

/// Wait for `pid`; its exit code, `128 + n` for signal `n`.
unsafe fn wait_for(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes into our local.
        let rc = unsafe { libc::waitpid(pid, &raw mut status, 0) };
        if rc == pid {
            return code_of(status);
        }
        if rc == -1 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 1;
        }
    }
}

/// As PID 1: reap every child until `pid` ends; its exit code.
unsafe fn reap_until(pid: libc::pid_t) -> libc::c_int {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes into our local.
        let rc = unsafe { libc::waitpid(-1, &raw mut status, 0) };
        if rc == pid {
            return code_of(status);
        }
        if rc == -1 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return 1;
        }
    }
}

fn code_of(status: libc::c_int) -> libc::c_int {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

/// Close every descriptor: the keeper and the init hold nothing, so the pipes close when the
/// command's processes are gone and the spawn's error pipe reaches end of file at `exec`.
unsafe fn close_all() {
    // SAFETY: closing descriptors we own in this single-threaded child.
    unsafe {
        if libc::syscall(
            libc::SYS_close_range,
            0 as libc::c_uint,
            libc::c_uint::MAX,
            0,
        ) != 0
        {
            for fd in 0..4096 {
                libc::close(fd);
            }
        }
    }
}

unsafe fn not_dumpable() {
    // SAFETY: prctl without pointers.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

unsafe fn write_file(path: &std::ffi::CStr, bytes: &[u8]) -> io::Result<()> {
    // SAFETY: open/write/close on a NUL-terminated path and a slice we borrow.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        check(fd)?;
        let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        let result = if usize::try_from(n).ok() == Some(bytes.len()) {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        };
        libc::close(fd);
        result
    }
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn check_long(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// The Landlock ABI version of the running kernel.
pub(super) fn landlock_abi() -> Result<i64, String> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: the version query takes no pointer.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if abi >= 1 {
        Ok(abi)
    } else {
        let err = io::Error::last_os_error();
        Err(match err.raw_os_error() {
            Some(libc::ENOSYS) => "landlock is missing: the kernel was built without it".to_owned(),
            Some(libc::EOPNOTSUPP) => "landlock is disabled at boot (not in lsm=)".to_owned(),
            _ => format!("landlock is unavailable: {err}"),
        })
    }
}

/// Whether seccomp filters can be installed.
pub(super) fn seccomp_available() -> Result<(), String> {
    const SECCOMP_GET_ACTION_AVAIL: libc::c_uint = 2;
    let action: u32 = libc::SECCOMP_RET_ERRNO;
    // SAFETY: the kernel reads one u32 we own.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0 as libc::c_uint,
            &raw const action,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "seccomp filters are unavailable: {}",
            io::Error::last_os_error()
        ))
    }
}

/// Whether this process may create the namespaces: tried for real in a throwaway child.
pub(super) fn probe_namespaces(ns: &NamespacePlan) -> Result<(), String> {
    // SAFETY: the child makes raw system calls only and leaves with _exit; `ns` is not
    // touched by the parent meanwhile.
    unsafe {
        let pid = fork().map_err(|e| format!("cannot fork to probe namespaces: {e}"))?;
        if pid == 0 {
            let code = match enter_namespaces(ns) {
                Ok(()) => 0,
                Err(e) => e.raw_os_error().unwrap_or(1).clamp(1, 125),
            };
            libc::_exit(code);
        }
        match wait_for(pid) {
            0 => Ok(()),
            errno => Err(format!(
                "user, mount and pid namespaces are not allowed here: {}",
                io::Error::from_raw_os_error(errno)
            )),
        }
    }
}
