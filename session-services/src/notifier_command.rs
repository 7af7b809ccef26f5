//! The real notifier: runs a user-configured program with the notification as a JSON argument.
//!
//! Fire and forget: it must never block the caller, never wait for the program, never raise an
//! error, and never leave a zombie behind. Failures are only logged.

use std::process::{Command, Stdio};

use crate::notifier::{Notification, Notifier};

/// Runs `argv` plus the notification's JSON as last argument, detached, for every notification.
///
/// The program is started and reaped on a short-lived background thread, so this works with or
/// without a tokio runtime and never holds up the caller or a runtime's shutdown. With an empty
/// `argv` it does nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandNotifier {
    argv: Vec<String>,
}

impl CommandNotifier {
    /// A notifier running `argv` (program, then arguments), e.g. `["notify-send-json", "--quiet"]`.
    pub fn new(argv: Vec<String>) -> Self {
        Self { argv }
    }
}

impl Notifier for CommandNotifier {
    fn notify(&self, notification: &Notification) {
        let Some((program, args)) = self.argv.split_first() else {
            return;
        };
        let json = match serde_json::to_string(notification) {
            Ok(json) => json,
            Err(error) => {
                tracing::warn!(%error, "failed to serialize notification");
                return;
            }
        };
        // The notification leaves the session: scrub it, and keep the session's credentials
        // out of the program's environment as a command's.
        let json = crate::secrets::redact(&json).into_owned();
        let mut command = Command::new(program);
        for (name, _) in std::env::vars_os() {
            if crate::secrets::is_secret_variable(&name.to_string_lossy()) {
                command.env_remove(&name);
            }
        }
        command
            .args(args)
            .arg(json)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let program = program.clone();
        let spawned = std::thread::Builder::new()
            .name("notifier".into())
            .spawn(move || run_and_reap(command, &program));
        if let Err(error) = spawned {
            tracing::warn!(%error, "failed to start notifier thread");
        }
    }
}

/// Start the program and wait for it, so it never lingers as a zombie.
fn run_and_reap(mut command: Command, program: &str) {
    match command.spawn() {
        Ok(mut child) => match child.wait() {
            Ok(status) if !status.success() => {
                tracing::warn!(program, %status, "notifier program failed");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(program, %error, "failed to wait for notifier program"),
        },
        Err(error) => tracing::warn!(program, %error, "failed to start notifier program"),
    }
}
