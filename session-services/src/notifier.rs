//! The notifier port: tell an external program that a turn completed or an approval waits.
//!
//! Fire and forget by design: a notifier must never block the caller and never fail the turn.

use std::path::PathBuf;

use serde::Serialize;

/// What happened, as sent to the external program (JSON with kebab-case keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Notification {
    /// A turn finished.
    #[serde(rename_all = "kebab-case")]
    AgentTurnComplete {
        /// The session's id.
        thread_id: String,
        /// The submission id of the turn.
        turn_id: String,
        /// Working directory.
        cwd: PathBuf,
        /// What the user said in the turn.
        input_messages: Vec<String>,
        /// The agent's last message.
        last_assistant_message: Option<String>,
    },
    /// An approval request waits for the user.
    #[serde(rename_all = "kebab-case")]
    ApprovalRequested {
        /// The session's id.
        thread_id: String,
        /// The submission id of the turn.
        turn_id: String,
        /// Working directory.
        cwd: PathBuf,
        /// The call waiting.
        call_id: String,
        /// The command (for exec requests) or the files (for patches).
        command: Vec<String>,
    },
}

/// Tells someone outside about notable moments. Called by the core.
///
/// Implementers must return at once (do the work detached) and log failures instead of raising.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Notifier: Send + Sync {
    /// Send a notification; never blocks, never fails.
    fn notify(&self, notification: &Notification);
}

/// A notifier that tells no one.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopNotifier;

impl Notifier for NoopNotifier {
    fn notify(&self, _notification: &Notification) {}
}
