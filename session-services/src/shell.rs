//! The shell port: run one command, stream its output, kill its whole process group on cancel.
//!
//! Implementations must bound what they keep of a command's output and must never leave a
//! process of the command's group alive after cancel, timeout or drop.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use session_state::{CancelToken, ExecOutputStream};
use tokio::sync::mpsc;

use crate::sandbox::ExecSandbox;

/// The user's shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserShell {
    /// Path of the shell program.
    pub path: PathBuf,
}

impl UserShell {
    /// This machine's user shell: the login shell, then `$SHELL`, then `/bin/sh`.
    pub fn detect() -> Self {
        Self {
            path: crate::shell_process::detect_login_shell(),
        }
    }
}

#[cfg(any(test, feature = "mocks"))]
mockall::mock! {
    /// A mockall mock of [`Shell`]. `user_shell` is not mocked: it keeps the trait's default,
    /// so a mock needs expectations only for the commands it runs.
    pub Shell {}

    #[async_trait::async_trait]
    impl Shell for Shell {
        async fn run(
            &self,
            request: ExecRequest,
            output: Option<mpsc::Sender<ExecChunk>>,
            cancel: CancelToken,
        ) -> Result<ExecOutput, ShellError>;
    }
}

/// One command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// Program and arguments; never interpreted by a shell unless argv says so.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Extra environment variables.
    pub env: HashMap<String, String>,
    /// Kill the command after this long (exit code 124).
    pub timeout: Option<Duration>,
    /// How the command is confined. A shell that cannot apply a confinement must fail with
    /// [`ShellError::Sandbox`] rather than run the command less confined.
    pub sandbox: ExecSandbox,
}

/// A chunk of output, as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecChunk {
    /// Which stream.
    pub stream: ExecOutputStream,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecEnd {
    /// It exited by itself (or by a signal it got from elsewhere).
    Exited,
    /// It ran past its timeout and was killed.
    TimedOut,
    /// It was cancelled and killed.
    Cancelled,
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit code: the command's own, 128+signal when a signal ended it, 124 on timeout, -1 when
    /// cancelled.
    pub exit_code: i32,
    /// Captured stdout (bounded: head and tail kept when too long).
    pub stdout: String,
    /// Captured stderr (bounded).
    pub stderr: String,
    /// Both streams in arrival order (bounded).
    pub aggregated_output: String,
    /// How long it ran.
    pub duration: Duration,
    /// How it ended.
    pub end: ExecEnd,
}

/// Why a command could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShellError {
    /// argv was empty.
    #[error("command is empty")]
    EmptyCommand,
    /// The program could not be started.
    #[error("failed to start {program}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The command's confinement could not be set up, so it did not run.
    #[error("failed to confine {program}: {reason}")]
    Sandbox {
        /// The program.
        program: String,
        /// What could not be set up.
        reason: String,
    },
    /// The shell panicked; the message says where and why.
    #[error("{message}")]
    Panicked {
        /// The program.
        program: String,
        /// Where and why.
        message: String,
    },
    /// Reading its output or waiting for it failed.
    #[error("failed while running {program}")]
    Io {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Runs commands for tool calls. Called by the core's shell tool.
///
/// Implementers must send chunks in arrival order, kill the whole process group when `cancel`
/// fires or the timeout passes (returning what was captured so far), and bound captured output.
#[async_trait::async_trait]
pub trait Shell: Send + Sync {
    /// The user's shell: login shell, then `$SHELL`, then `/bin/sh`. The session names it in
    /// the environment context it sends the model; the default looks it up on this machine.
    fn user_shell(&self) -> UserShell {
        UserShell::detect()
    }

    /// Run one command to its end, streaming chunks to `output` when given.
    ///
    /// # Errors
    ///
    /// [`ShellError`] when the command could not be started or its output read.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future kills the process group.
    async fn run(
        &self,
        request: ExecRequest,
        output: Option<mpsc::Sender<ExecChunk>>,
        cancel: CancelToken,
    ) -> Result<ExecOutput, ShellError>;
}
