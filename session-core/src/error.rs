//! `SessionError`: why the session façade could not do what it was asked.

use session_services::RecorderError;

/// An error of the session façade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The recording could not be started, resumed or written. The cause is part of the
    /// message (not a `source()`), so whoever shows only `{e}` still says why.
    #[error("session recording failed: {0}")]
    Recorder(RecorderError),
    /// A sandbox mode was asked for that this machine (or the session's shell) cannot enforce.
    #[error("sandbox mode `{mode}` cannot be enforced here: {reason}")]
    SandboxUnavailable {
        /// The mode asked for.
        mode: String,
        /// Why it cannot be enforced.
        reason: String,
    },
    /// The session has ended; nothing more can be submitted.
    #[error("the session has ended")]
    Closed,
}

impl From<RecorderError> for SessionError {
    fn from(e: RecorderError) -> Self {
        SessionError::Recorder(e)
    }
}
