//! `SessionError`: why the session façade could not do what it was asked.

use session_services::RecorderError;

/// An error of the session façade.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The recording could not be started, resumed or written.
    #[error("session recording failed")]
    Recorder(#[from] RecorderError),
    /// The sandbox mode asked for does not exist yet.
    #[error("sandbox mode `{0}` is not supported yet: only `danger-full-access` is available")]
    UnsupportedSandbox(String),
    /// The session has ended; nothing more can be submitted.
    #[error("the session has ended")]
    Closed,
}
