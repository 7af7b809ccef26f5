//! `session sandbox [--mode M] -- CMD [ARGS…]`: run one command confined as a session would
//! confine it, stream its output, and exit with its status, so a user can see what the box
//! allows. It must confine exactly as the session does: the same policy resolution, the same
//! shell, no session of its own.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Result, bail};
use session_core::services::{
    ExecChunk, ExecEnd, ExecRequest, ExecSandbox, ProcessShell, SandboxSupport, Shell,
};
use session_core::{CancelToken, ExecOutputStream, SandboxPolicy};
use tokio::sync::mpsc;

use crate::app::{Env, Outcome};
use crate::args::SandboxArgs;
use crate::config::{SandboxMode, Settings};
use crate::term::note;

/// Run the command and report its exit status.
///
/// # Errors
///
/// When the mode is unknown, cannot be enforced here, or the command cannot start.
pub(crate) async fn run(settings: &Settings, env: &Env, args: &SandboxArgs) -> Result<Outcome> {
    let mut settings = settings.clone();
    if let Some(mode) = &args.mode {
        settings.sandbox_mode = Some(match mode.as_str() {
            "read-only" => SandboxMode::ReadOnly,
            "workspace-write" => SandboxMode::WorkspaceWrite,
            "danger-full-access" => SandboxMode::DangerFullAccess,
            other => bail!(
                "unknown sandbox mode `{other}`: use read-only, workspace-write or \
                 danger-full-access"
            ),
        });
    }
    let support = crate::services::sandbox().support();
    let policy = settings
        .sandbox_policy(support.is_enforced())
        .unwrap_or(SandboxPolicy::DangerFullAccess);
    if let (SandboxSupport::Unavailable { reason }, false) =
        (&support, policy == SandboxPolicy::DangerFullAccess)
    {
        bail!("the sandbox cannot be enforced here: {reason}");
    }
    let sandbox = ExecSandbox::from_policy(&policy, &env.cwd, std::slice::from_ref(&env.home));
    let request = ExecRequest {
        argv: args.command.clone(),
        cwd: env.cwd.clone(),
        env: std::collections::HashMap::new(),
        timeout: None,
        sandbox,
    };
    let (tx, mut rx) = mpsc::channel::<ExecChunk>(64);
    let shell = Arc::new(ProcessShell::new());
    let running = shell.run(request, Some(tx), CancelToken::new());
    tokio::pin!(running);
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut write = |chunk: ExecChunk| {
        // A closed terminal is no reason to stop the command; its status still counts.
        let _ = match chunk.stream {
            ExecOutputStream::Stdout => {
                stdout.write_all(&chunk.bytes).and_then(|()| stdout.flush())
            }
            _ => stderr.write_all(&chunk.bytes).and_then(|()| stderr.flush()),
        };
    };
    let result = loop {
        tokio::select! {
            r = &mut running => break r,
            Some(chunk) = rx.recv() => write(chunk),
        }
    };
    while let Ok(chunk) = rx.try_recv() {
        write(chunk);
    }
    let output = result?;
    if output.end == ExecEnd::TimedOut {
        note("the command timed out");
    }
    Ok(Outcome::Status(
        u8::try_from(output.exit_code.clamp(0, 255)).unwrap_or(1),
    ))
}
