//! The fake shell of the state-machine test: commands answered from their argv without starting
//! a process, including ones that take a while, hang until cancelled, or cannot start. It keeps
//! the shell port's contract (chunks before the end, cancel honoured) and records every run; it
//! must not start processes (the real-shell cases use `ProcessShell`).

use std::sync::Mutex;
use std::time::Duration;

use session_core::services::{
    ExecChunk, ExecEnd, ExecOutput, ExecRequest, Shell, ShellError, UserShell,
};
use session_state::{CancelToken, ExecOutputStream};
use tokio::sync::mpsc;

/// argv[0] of a command that takes a little while.
pub(crate) const SLOW: &str = "slow-build";
/// argv[0] of a command that runs until cancelled.
pub(crate) const HANG: &str = "serve-forever";
/// argv[0] of a command that cannot be started.
pub(crate) const MISSING: &str = "/nonexistent/stateful-missing-program";

/// A shell answering from the argv; `runs()` lists what it was asked to run.
#[derive(Debug, Default)]
pub(crate) struct FakeShell {
    runs: Mutex<Vec<Vec<String>>>,
}

impl FakeShell {
    pub(crate) fn runs(&self) -> Vec<Vec<String>> {
        self.runs.lock().unwrap().clone()
    }
}

fn output(text: String, exit_code: i32, end: ExecEnd, ms: u64) -> ExecOutput {
    ExecOutput {
        exit_code,
        stdout: text.clone(),
        stderr: String::new(),
        aggregated_output: text,
        duration: Duration::from_millis(ms),
        end,
    }
}

#[async_trait::async_trait]
impl Shell for FakeShell {
    fn user_shell(&self) -> UserShell {
        UserShell {
            path: "/bin/sh".into(),
        }
    }

    async fn run(
        &self,
        request: ExecRequest,
        out: Option<mpsc::Sender<ExecChunk>>,
        cancel: CancelToken,
    ) -> Result<ExecOutput, ShellError> {
        self.runs.lock().unwrap().push(request.argv.clone());
        let program = request.argv.first().cloned().unwrap_or_default();
        if program == MISSING {
            return Err(ShellError::Spawn {
                program,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such program"),
            });
        }
        let text = format!("ran {}\n", request.argv.join(" "));
        if let Some(tx) = &out {
            let _ = tx
                .send(ExecChunk {
                    stream: ExecOutputStream::Stdout,
                    bytes: text.clone().into_bytes(),
                })
                .await;
        }
        let wait = match program.as_str() {
            HANG => None,
            SLOW => Some(Duration::from_millis(15)),
            _ => Some(Duration::ZERO),
        };
        let cancelled = match wait {
            None => {
                cancel.cancelled().await;
                true
            }
            Some(d) => tokio::select! {
                biased;
                () = cancel.cancelled() => true,
                () = tokio::time::sleep(d) => false,
            },
        };
        if cancelled {
            return Ok(output(text, -1, ExecEnd::Cancelled, 1));
        }
        let code = i32::from(program == "false");
        Ok(output(text, code, ExecEnd::Exited, 1))
    }
}
