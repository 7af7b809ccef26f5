//! The real shell: commands as tokio processes in their own process group.
//!
//! (Being written; see the shell helper.)

use crate::shell::{ExecChunk, ExecOutput, ExecRequest, Shell, ShellError, UserShell};

/// Runs commands as real processes, each in its own process group.
#[derive(Debug, Clone, Default)]
pub struct ProcessShell;

impl ProcessShell {
    /// A process shell.
    pub fn new() -> Self {
        Self
    }
}

#[async_trait::async_trait]
impl Shell for ProcessShell {
    fn user_shell(&self) -> UserShell {
        UserShell {
            path: "/bin/sh".into(),
        }
    }

    async fn run(
        &self,
        request: ExecRequest,
        _output: Option<tokio::sync::mpsc::Sender<ExecChunk>>,
        _cancel: session_state::CancelToken,
    ) -> Result<ExecOutput, ShellError> {
        Err(ShellError::Spawn {
            program: request.argv.first().cloned().unwrap_or_default(),
            source: std::io::Error::other("not yet implemented"),
        })
    }
}
