//! A shell that never starts a process: it answers each command from a plan given up front
//! (output and exit code, run until cancelled, or fail as a sandbox denial would) and records
//! every run and its confinement, so tests can assert on what the session ran. It keeps the shell
//! port's contract (output chunks before the end, cancel honoured) and must not touch the system.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use session_services::{
    ExecChunk, ExecEnd, ExecOutput, ExecRequest, ExecSandbox, FakeSandbox, Shell, ShellError,
    UserShell,
};
use session_state::{CancelToken, ExecOutputStream};
use tokio::sync::mpsc;

/// What the fake shell does for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FakeRun {
    /// Print this and exit with this code.
    Output(String, i32),
    /// Print this, then run until cancelled.
    Hang(String),
    /// Fail as the sandbox would (printing [`FakeSandbox::DENIAL`]) when confined; when not,
    /// print this and succeed.
    DeniedWhenConfined(String),
}

/// A shell answering from a plan keyed by the command line (argv joined by spaces); a command
/// not in the plan prints `ran <command>` and exits 0.
#[derive(Debug, Default)]
pub struct FakeShell {
    runs: Mutex<Vec<Vec<String>>>,
    sandboxes: Mutex<Vec<ExecSandbox>>,
    plan: Mutex<HashMap<String, FakeRun>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeShell {
    /// A shell with this plan, shared so it can be handed to the services and kept by the test.
    pub fn with(plan: &[(&str, FakeRun)]) -> Arc<Self> {
        let shell = Self::default();
        lock(&shell.plan).extend(plan.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        Arc::new(shell)
    }

    /// The argv of every run so far, in order.
    pub fn runs(&self) -> Vec<Vec<String>> {
        lock(&self.runs).clone()
    }

    /// The confinement of every run so far, in order.
    pub fn sandboxes(&self) -> Vec<ExecSandbox> {
        lock(&self.sandboxes).clone()
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
        output: Option<mpsc::Sender<ExecChunk>>,
        cancel: CancelToken,
    ) -> Result<ExecOutput, ShellError> {
        lock(&self.runs).push(request.argv.clone());
        lock(&self.sandboxes).push(request.sandbox.clone());
        let key = request.argv.join(" ");
        let plan = lock(&self.plan)
            .get(&key)
            .cloned()
            .unwrap_or(FakeRun::Output(format!("ran {key}\n"), 0));
        let (text, code, hang) = match plan {
            FakeRun::Output(t, c) => (t, c, false),
            FakeRun::Hang(t) => (t, -1, true),
            FakeRun::DeniedWhenConfined(_) if request.sandbox.is_confined() => {
                (format!("{}\n", FakeSandbox::DENIAL), 1, false)
            }
            FakeRun::DeniedWhenConfined(t) => (t, 0, false),
        };
        if let Some(tx) = &output {
            let _ = tx
                .send(ExecChunk {
                    stream: ExecOutputStream::Stdout,
                    bytes: text.clone().into_bytes(),
                })
                .await;
        }
        if hang {
            cancel.cancelled().await;
        }
        Ok(ExecOutput {
            exit_code: code,
            stdout: text.clone(),
            stderr: String::new(),
            aggregated_output: text,
            duration: Duration::from_millis(5),
            end: if hang {
                ExecEnd::Cancelled
            } else {
                ExecEnd::Exited
            },
        })
    }
}

#[cfg(test)]
mod tests;
