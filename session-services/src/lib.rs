//! Service ports of an agent session and their real implementations.
//!
//! The core talks to the outside world only through these traits: [`Recorder`], [`Shell`],
//! [`Notifier`], [`ModelClient`], [`FileSystem`] and [`Sandbox`]. Each has a real implementation here, in-memory
//! fakes where tests need them, and mockall mocks behind the `mocks` feature. This crate must not
//! know about turns, approvals or the session façade.

mod fs;
mod fs_memory;
mod fs_real;
pub mod host;
#[cfg(feature = "mcp")]
pub mod mcp;
mod model;
mod notifier;
pub mod project_doc;
mod recorder;
mod recorder_memory;
mod retry;
mod sandbox;
mod sandbox_fake;
mod scripted;
pub mod secrets;
mod services;
mod shell;
mod shell_process;
// -- implementation modules added by area below (keep one line each) --
#[cfg(feature = "http")]
mod chat;
#[cfg(feature = "http")]
mod http_retry;
#[cfg(feature = "http")]
mod messages;
mod notifier_command;
mod provider;
mod recorder_jsonl;
#[cfg(feature = "http")]
mod responses;
#[cfg(target_os = "linux")]
mod sandbox_linux;
#[cfg(feature = "http")]
mod sse;
#[cfg(feature = "http")]
mod wire;

pub use crate::fs::{FileSystem, FsError};
pub use crate::fs_memory::MemoryFileSystem;
pub use crate::fs_real::RealFileSystem;
pub use crate::model::{
    ModelClient, ModelError, ModelEvent, ModelRequest, ModelSender, ModelStream, ReasoningOptions,
    ToolSpec, model_channel, model_stream, text_response,
};
pub use crate::notifier::{NoopNotifier, Notification, Notifier};
pub use crate::recorder::{
    CompactedItem, ListFilter, Recorder, RecorderError, ResumedSession, RolloutItem, SessionMeta,
    SessionSummary, is_recorded_event,
};
pub use crate::recorder_memory::MemoryRecorder;
pub use crate::sandbox::{
    ExecSandbox, NetworkAccess, NoSandbox, Sandbox, SandboxSpec, SandboxSupport, find_git_dirs,
    looks_like_denial,
};
pub use crate::sandbox_fake::FakeSandbox;
pub use crate::scripted::{Script, ScriptStep, ScriptedModel, ScriptedResponse};
pub use crate::services::{SessionServices, SessionServicesBuilder};
pub use crate::shell::{ExecChunk, ExecEnd, ExecOutput, ExecRequest, Shell, ShellError, UserShell};
pub use crate::shell_process::ProcessShell;
// -- implementation re-exports added by area below --
#[cfg(feature = "http")]
pub use crate::chat::ChatCompletionsClient;
#[cfg(feature = "http")]
pub use crate::messages::{ANTHROPIC_VERSION, MessagesClient};
pub use crate::notifier_command::CommandNotifier;
pub use crate::provider::{ProviderConfig, WireApi};
pub use crate::recorder_jsonl::{
    JsonlRecorder, count_recorded_turns, format_timestamp, read_recording,
};
#[cfg(feature = "http")]
pub use crate::responses::ResponsesClient;
pub use crate::retry::{Jitter, MAX_RETRY_AFTER, RetryPolicy};
#[cfg(target_os = "linux")]
pub use crate::sandbox_linux::LinuxSandbox;

/// mockall mocks of every port (feature `mocks`).
#[cfg(any(test, feature = "mocks"))]
pub mod mocks {
    pub use crate::fs::MockFileSystem;
    pub use crate::model::MockModelClient;
    pub use crate::notifier::MockNotifier;
    pub use crate::recorder::MockRecorder;
    pub use crate::sandbox::MockSandbox;
    pub use crate::shell::MockShell;
    /// The mockall crate the mocks are made with, for its predicates and `Sequence`.
    pub use mockall;
}

/// Entry points for the fuzz targets (feature `fuzzing`); not a stable API.
#[cfg(all(feature = "fuzzing", feature = "http"))]
#[doc(hidden)]
pub mod fuzzing {
    use std::ops::ControlFlow;

    /// Feed bytes to the SSE parser in the given chunk sizes; must never panic.
    pub fn sse(bytes: &[u8], chunk: usize) {
        let mut parser = crate::sse::SseParser::with_max_line(4096);
        let mut sink =
            |_e: crate::sse::SseEvent<'_>| -> ControlFlow<()> { ControlFlow::Continue(()) };
        for part in bytes.chunks(chunk.max(1)) {
            if parser.feed(part, &mut sink).is_err() {
                return;
            }
        }
        let _ = parser.finish(&mut sink);
    }

    /// Replay bytes as a recording; must never panic.
    pub fn recording(bytes: &[u8]) {
        let _ = crate::recorder_jsonl::replay_bytes(bytes);
    }
}
