//! The real shell: commands as tokio processes, each in its own process group.
//!
//! Exists so that tool calls run real programs whose output streams back as it arrives. It must
//! never interpret argv through a shell, never keep more than a bounded amount of output, and
//! never leave a process of a cancelled, timed-out or dropped command's group alive.

mod capture;
pub(crate) mod group;
mod login;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use session_state::{CancelToken, ExecOutputStream};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{ChildStderr, ChildStdout, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use self::capture::{CAPTURE_LIMIT, Captured};
use self::group::GroupGuard;
use crate::sandbox::ExecSandbox;
use crate::shell::{ExecChunk, ExecEnd, ExecOutput, ExecRequest, Shell, ShellError, UserShell};

/// Size of one read from a pipe, hence the largest chunk sent.
const READ_CHUNK: usize = 8 * 1024;

/// After the direct child exits, how long to keep reading pipes still held open by the rest of
/// its group (background processes) before killing that rest.
const EXIT_GRACE: Duration = Duration::from_millis(200);

/// After killing the group, how long to keep draining the pipes. Bounds the wait when something
/// outside the group (a process that left it) still holds them open.
const KILL_DRAIN: Duration = Duration::from_millis(500);

/// Exit code reported when the timeout killed the command (as coreutils `timeout` does).
const TIMEOUT_EXIT_CODE: i32 = 124;

/// Exit code reported when the command was cancelled.
const CANCEL_EXIT_CODE: i32 = -1;

/// Runs commands as real processes, each in its own process group.
///
/// Exit codes: the command's own code; `128 + n` when it died of signal `n` sent by someone else
/// (as shells report it); 124 on timeout; -1 when cancelled. Output is captured up to 1 MiB per
/// stream (and 1 MiB for the aggregated output), keeping the head and the tail with a
/// `[... N bytes omitted ...]` line between them.
///
/// When the command's direct child exits while background processes of its group still hold its
/// stdout or stderr open, those are read for a short grace period and then the group is killed.
/// Background processes that let go of the pipes (for example `nohup server >log 2>&1 &`) are
/// left running when the command ends by itself; on cancel, timeout or drop the whole group is
/// killed.
///
/// A request with [`ExecSandbox::Confined`] runs in the kernel sandbox (see
/// [`LinuxSandbox`](crate::LinuxSandbox)): then nothing it starts outlives it. The default
/// [`SessionServices`](crate::SessionServices) pairs this shell with that sandbox; a builder
/// given this shell explicitly should be given `LinuxSandbox` too, or the session cannot know
/// that commands are confined and offers only `danger-full-access`.
#[derive(Debug, Clone, Default)]
pub struct ProcessShell {
    user_shell: OnceLock<UserShell>,
}

impl ProcessShell {
    /// A process shell; the user's shell is looked up on first use.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl Shell for ProcessShell {
    fn user_shell(&self) -> UserShell {
        self.user_shell
            .get_or_init(|| UserShell {
                path: login::detect(),
            })
            .clone()
    }

    async fn run(
        &self,
        request: ExecRequest,
        output: Option<mpsc::Sender<ExecChunk>>,
        cancel: CancelToken,
    ) -> Result<ExecOutput, ShellError> {
        run(request, output, cancel).await
    }
}

/// The login shell of this user, then `$SHELL`, then `/bin/sh`.
pub(crate) fn detect_login_shell() -> std::path::PathBuf {
    login::detect()
}

async fn run(
    request: ExecRequest,
    output: Option<mpsc::Sender<ExecChunk>>,
    cancel: CancelToken,
) -> Result<ExecOutput, ShellError> {
    let started = Instant::now();
    let Some((program, args)) = request.argv.split_first() else {
        return Err(ShellError::EmptyCommand);
    };
    if cancel.is_cancelled() {
        // Nothing ran, so nothing to kill: do not start a command that is already cancelled.
        return Ok(ExecOutput {
            exit_code: CANCEL_EXIT_CODE,
            stdout: String::new(),
            stderr: String::new(),
            aggregated_output: String::new(),
            duration: Duration::ZERO,
            end: ExecEnd::Cancelled,
        });
    }
    let io_error = |source: io::Error| ShellError::Io {
        program: program.clone(),
        source,
    };

    let mut command = Command::new(program);
    // Credentials stay with the runtime: a command the model runs (`printenv`, `env`,
    // `/proc/self/environ`) must not be able to read the session's API keys.
    for (name, _) in std::env::vars_os() {
        if crate::secrets::is_secret_variable(&name.to_string_lossy()) {
            command.env_remove(&name);
        }
    }
    command
        .args(args)
        .current_dir(&request.cwd)
        .envs(&request.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    confine(&mut command, &request.sandbox, program)?;
    let mut child = command.spawn().map_err(|source| ShellError::Spawn {
        program: program.clone(),
        source: explain_spawn_error(source, &request),
    })?;
    let pgid = child
        .id()
        .and_then(|pid| libc::pid_t::try_from(pid).ok())
        .ok_or_else(|| io_error(io::Error::other("spawned process has no pid")))?;
    // From here on, returning or being dropped kills the group unless we disarm the guard.
    let mut guard = GroupGuard::new(pgid);
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(io_error(io::Error::other("output pipes missing")));
    };

    let mut pump = Pump {
        stdout: Some(stdout),
        stderr: Some(stderr),
        stdout_buf: vec![0; READ_CHUNK],
        stderr_buf: vec![0; READ_CHUNK],
        captured: Captured::new(CAPTURE_LIMIT),
        output,
        pending: None,
    };
    let timeout_at = request.timeout.and_then(|t| started.checked_add(t));
    let mut status: Option<ExitStatus> = None;
    let mut end = ExecEnd::Exited;
    let mut killed = false;
    // Grace period after the child's exit, or drain period after a kill.
    let mut stop_at: Option<Instant> = None;

    loop {
        if status.is_some() && pump.is_finished() {
            break;
        }
        tokio::select! {
            biased;
            () = cancel.cancelled(), if !killed => {
                guard.kill();
                killed = true;
                end = ExecEnd::Cancelled;
                stop_at = Some(Instant::now() + KILL_DRAIN);
            }
            () = sleep_until(timeout_at), if !killed => {
                guard.kill();
                killed = true;
                end = ExecEnd::TimedOut;
                stop_at = Some(Instant::now() + KILL_DRAIN);
            }
            () = sleep_until(stop_at) => {
                if killed {
                    break;
                }
                // The child is gone but its group still holds the pipes: end the rest.
                guard.kill();
                killed = true;
                stop_at = Some(Instant::now() + KILL_DRAIN);
            }
            waited = child.wait(), if status.is_none() => {
                status = Some(waited.map_err(io_error)?);
                if !killed && !pump.pipes_closed() {
                    stop_at = Some(Instant::now() + EXIT_GRACE);
                }
            }
            alive = send_pending(pump.output.as_ref(), &mut pump.pending), if pump.pending.is_some() => {
                if !alive {
                    // The receiver is gone: keep capturing, stop streaming.
                    pump.output = None;
                    pump.pending = None;
                }
            }
            read = read_some(&mut pump.stdout, &mut pump.stdout_buf), if pump.pending.is_none() => {
                pump.on_read(ExecOutputStream::Stdout, read, killed).map_err(io_error)?;
            }
            read = read_some(&mut pump.stderr, &mut pump.stderr_buf), if pump.pending.is_none() => {
                pump.on_read(ExecOutputStream::Stderr, read, killed).map_err(io_error)?;
            }
        }
    }

    // Killed groups are already signalled; a command that ended by itself keeps its detached
    // background processes (see the type's docs).
    guard.disarm();
    if killed {
        // SIGKILL is asynchronous: wait (briefly) until the group's last process is gone, so
        // that when this returns nothing of the command is still running.
        group::wait_until_gone(pgid, KILL_DRAIN).await;
    }
    let exit_code = match end {
        ExecEnd::TimedOut => TIMEOUT_EXIT_CODE,
        ExecEnd::Cancelled => CANCEL_EXIT_CODE,
        ExecEnd::Exited => status.map_or(CANCEL_EXIT_CODE, exit_code_of),
    };
    let (stdout, stderr, aggregated_output) = pump.captured.into_strings();
    Ok(ExecOutput {
        exit_code,
        stdout,
        stderr,
        aggregated_output,
        duration: started.elapsed(),
        end,
    })
}

/// Put the command in a process group of its own, and in the kernel sandbox when it is
/// confined (which makes it the leader of a session of its own instead).
fn confine(command: &mut Command, sandbox: &ExecSandbox, program: &str) -> Result<(), ShellError> {
    match sandbox {
        ExecSandbox::None => {
            command.process_group(0);
            Ok(())
        }
        #[cfg(target_os = "linux")]
        ExecSandbox::Confined(spec) => {
            let plan = crate::sandbox_linux::prepare(spec).map_err(|e| ShellError::Sandbox {
                program: program.to_owned(),
                reason: error_chain(&e),
            })?;
            // SAFETY: `Plan::enter` makes only async-signal-safe system calls on memory
            // prepared before the fork, as a pre_exec hook requires.
            unsafe {
                command.pre_exec(move || plan.enter());
            }
            Ok(())
        }
        #[cfg(not(target_os = "linux"))]
        ExecSandbox::Confined(_) => Err(ShellError::Sandbox {
            program: program.to_owned(),
            reason: "commands can only be confined on Linux".to_owned(),
        }),
    }
}

/// The OS error of a failed spawn, with what it most likely means for this request: the same
/// `ENOENT` is a missing program or a missing working directory.
fn explain_spawn_error(error: io::Error, request: &ExecRequest) -> io::Error {
    let meaning = match error.raw_os_error() {
        Some(libc::ENOENT | libc::ENOTDIR) if !request.cwd.is_dir() => format!(
            "working directory {} does not exist or is not a directory",
            request.cwd.display()
        ),
        Some(libc::ENOENT) => "program not found".to_owned(),
        Some(libc::EACCES) => "permission denied (not executable, or a directory on the way \
                                is not searchable)"
            .to_owned(),
        Some(libc::E2BIG) => {
            let bytes: usize = request.argv.iter().map(|a| a.len() + 1).sum();
            format!("argument list too long ({bytes} bytes of arguments)")
        }
        Some(libc::ENOEXEC) => "not an executable format".to_owned(),
        _ => return error,
    };
    io::Error::new(error.kind(), format!("{meaning}: {error}"))
}

/// An error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The command's exit code, or `128 + signal` when a signal ended it.
fn exit_code_of(status: ExitStatus) -> i32 {
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(CANCEL_EXIT_CODE)
}

/// The two pipes, what was captured from them, and the chunk waiting to be streamed.
struct Pump {
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    stdout_buf: Vec<u8>,
    stderr_buf: Vec<u8>,
    captured: Captured,
    output: Option<mpsc::Sender<ExecChunk>>,
    /// Read and captured, not yet sent; no pipe is read while it waits (backpressure).
    pending: Option<ExecChunk>,
}

impl Pump {
    fn pipes_closed(&self) -> bool {
        self.stdout.is_none() && self.stderr.is_none()
    }

    fn is_finished(&self) -> bool {
        self.pipes_closed() && self.pending.is_none()
    }

    fn on_read(
        &mut self,
        stream: ExecOutputStream,
        read: io::Result<usize>,
        killed: bool,
    ) -> io::Result<()> {
        let buf = match stream {
            ExecOutputStream::Stdout => &self.stdout_buf,
            ExecOutputStream::Stderr => &self.stderr_buf,
        };
        match read {
            Ok(0) => self.close(stream),
            Ok(n) => {
                let bytes = &buf[..n];
                self.captured.push(stream, bytes);
                if self.output.is_some() {
                    self.pending = Some(ExecChunk {
                        stream,
                        bytes: bytes.to_vec(),
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // After a kill a broken pipe means nothing more to read.
            Err(_) if killed => self.close(stream),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn close(&mut self, stream: ExecOutputStream) {
        match stream {
            ExecOutputStream::Stdout => self.stdout = None,
            ExecOutputStream::Stderr => self.stderr = None,
        }
    }
}

/// Read from a pipe still open; never resolves once it is closed.
async fn read_some<R: AsyncRead + Unpin>(
    reader: &mut Option<R>,
    buf: &mut [u8],
) -> io::Result<usize> {
    match reader {
        Some(reader) => reader.read(buf).await,
        None => std::future::pending().await,
    }
}

/// Send the pending chunk once the channel has room; `false` when the receiver is gone.
///
/// Cancel safe: the chunk is taken only once room is reserved, with no await in between.
async fn send_pending(
    output: Option<&mpsc::Sender<ExecChunk>>,
    pending: &mut Option<ExecChunk>,
) -> bool {
    let Some(tx) = output else {
        return std::future::pending().await;
    };
    match tx.reserve().await {
        Ok(permit) => {
            if let Some(chunk) = pending.take() {
                permit.send(chunk);
            }
            true
        }
        Err(_) => false,
    }
}

/// Sleep until `at`; never resolves without a deadline.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
