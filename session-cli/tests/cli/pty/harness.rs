//! A `session` process on a real pseudo-terminal: the pty's slave side is its stdin, stdout,
//! stderr and controlling terminal; the test holds the master side, types into it and reads
//! what the program draws. Every wait is bounded, and a failed wait kills the process.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::support::TIMEOUT;

#[derive(Default)]
struct Shown {
    bytes: Vec<u8>,
    /// The slave side is closed everywhere: nothing more will come.
    closed: bool,
}

/// A running `session` on a pty.
pub struct Pty {
    child: Child,
    master: File,
    shown: Arc<(Mutex<Shown>, Condvar)>,
    /// Where the next `expect` starts looking.
    cursor: usize,
}

fn open_pty() -> (OwnedFd, OwnedFd) {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: the out-pointers point at live locals that openpty fills in; the name buffer
    // and the termios are null (not wanted, defaults), and `size` is a live local it only
    // reads.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", io::Error::last_os_error());
    // SAFETY: openpty succeeded, so both are open descriptors that nothing else owns.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    for fd in [&master, &slave] {
        // The program gets the slave as 0, 1 and 2 only; neither end may leak into it
        // under its own number (a leaked master would keep the pty open forever).
        // SAFETY: fcntl on a descriptor we own, with an integer argument.
        let rc = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        assert_eq!(rc, 0, "fcntl: {}", io::Error::last_os_error());
    }
    (master, slave)
}

impl Pty {
    /// Start `command` on a new pty, as the leader of a new session whose controlling
    /// terminal is that pty, like a shell starts a program in a terminal window.
    pub fn spawn(mut command: Command) -> Self {
        let (master, slave) = open_pty();
        command
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: the closure runs in the forked child before exec, after stdio is set up
        // (fd 0 is the slave). It only makes two system calls, setsid and ioctl, which are
        // async-signal-safe, and builds an `io::Error` from errno, which does not allocate;
        // it touches no lock or memory shared with the parent's other threads.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("cannot start the session binary");
        // Our copies of the slave go with the command: once the program and its children
        // close theirs, reading the master ends.
        drop(command);
        let master = File::from(master);
        let shown = Arc::new((Mutex::new(Shown::default()), Condvar::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = Arc::clone(&shown);
        std::thread::spawn(move || {
            let mut buf = [0_u8; 4096];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => 0,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    // EIO: the slave side is closed.
                    Err(_) => 0,
                };
                let (lock, ready) = &*sink;
                let mut shown = lock.lock().unwrap();
                if n == 0 {
                    shown.closed = true;
                    ready.notify_all();
                    break;
                }
                shown.bytes.extend_from_slice(&buf[..n]);
                ready.notify_all();
            }
        });
        Self {
            child,
            master,
            shown,
            cursor: 0,
        }
    }

    /// The program's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Type `bytes`.
    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
        self.master.flush().unwrap();
    }

    /// Wait until the terminal shows `text` after what earlier waits consumed.
    pub fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + TIMEOUT;
        let needle = text.as_bytes();
        let (lock, ready) = &*self.shown;
        let mut shown = lock.lock().unwrap();
        loop {
            if let Some(i) = find(&shown.bytes[self.cursor..], needle) {
                self.cursor += i + needle.len();
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || shown.closed {
                let screen = String::from_utf8_lossy(&shown.bytes).into_owned();
                drop(shown);
                self.fail(&format!("{text:?} on the terminal"), &screen);
            }
            shown = ready.wait_timeout(shown, left).unwrap().0;
        }
    }

    /// Everything shown so far.
    pub fn screen(&self) -> String {
        let (lock, _) = &*self.shown;
        String::from_utf8_lossy(&lock.lock().unwrap().bytes).into_owned()
    }

    /// Wait for the program to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let screen = self.screen();
                self.fail("the program to exit", &screen);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill the program and fail the test with what the terminal showed.
    pub fn fail(&mut self, what: &str, screen: &str) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("timed out waiting for {what}\n--- terminal ---\n{screen:?}");
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Wait until `done` holds; `false` if it still does not after the timeout.
pub fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The live processes below `root` whose command line is `argv` (a zombie has no command
/// line left, so it is not one).
pub fn descendants(root: u32, argv: &[&str]) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": comm may hold spaces, so split after its `)`.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next());
        let Some(ppid) = fields.next().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if state != Some('Z') {
            parents.push((pid, ppid));
        }
    }
    let mut below = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for &(pid, ppid) in &parents {
            if below.contains(&ppid) && !below.contains(&pid) {
                below.push(pid);
                grew = true;
            }
        }
    }
    let wanted: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    below
        .into_iter()
        .filter(|&pid| pid != root)
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == wanted))
        .collect()
}
