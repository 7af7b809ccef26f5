//! Finding the user's shell: the login shell from the passwd database, then `$SHELL`, then
//! `/bin/sh`.
//!
//! Must not fail: whatever the system says, some shell path comes out.

use std::ffi::{CStr, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[cfg(test)]
mod tests;

/// The last resort, present on every Unix system.
const FALLBACK_SHELL: &str = "/bin/sh";

/// Largest passwd record buffer we are willing to allocate.
const MAX_PASSWD_BUFFER: usize = 1 << 20;

/// The user's shell, as described in the module docs.
pub(crate) fn detect() -> PathBuf {
    choose(login_shell(), std::env::var_os("SHELL"))
}

/// Pick the first usable candidate: the login shell, then the `$SHELL` value, then `/bin/sh`.
pub(crate) fn choose(login: Option<PathBuf>, env_shell: Option<OsString>) -> PathBuf {
    login
        .filter(|p| usable(p))
        .or_else(|| env_shell.map(PathBuf::from).filter(|p| usable(p)))
        .unwrap_or_else(|| PathBuf::from(FALLBACK_SHELL))
}

/// An existing file that is not a "no login" placeholder such as `nologin` or `false`.
fn usable(path: &Path) -> bool {
    let placeholder = path
        .file_name()
        .is_some_and(|n| n == "nologin" || n == "false");
    path.is_absolute() && !placeholder && path.is_file()
}

/// `pw_shell` of the current user's passwd entry, if there is one.
fn login_shell() -> Option<PathBuf> {
    // SAFETY: getuid(2) cannot fail and has no preconditions.
    let uid = unsafe { libc::getuid() };
    // SAFETY: sysconf(3) has no preconditions.
    let hint = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    let mut len = usize::try_from(hint)
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(1024);
    loop {
        let mut buf: Vec<libc::c_char> = vec![0; len];
        // SAFETY: passwd is a plain C struct of pointers and integers; all-zero is a valid value.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf.len()` is the buffer's true size.
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut result) };
        if rc == libc::ERANGE && len < MAX_PASSWD_BUFFER {
            len *= 2;
            continue;
        }
        if rc != 0 || result.is_null() || entry.pw_shell.is_null() {
            return None;
        }
        // SAFETY: on success pw_shell points to a NUL-terminated string inside `buf`, alive here.
        let shell = unsafe { CStr::from_ptr(entry.pw_shell) };
        let path = PathBuf::from(OsStr::from_bytes(shell.to_bytes()));
        return (!path.as_os_str().is_empty()).then_some(path);
    }
}
