//! `SessionServices`: the bundle of ports a session is composed from, and its builder.

use std::sync::Arc;

use crate::fs::FileSystem;
use crate::model::ModelClient;
use crate::notifier::{NoopNotifier, Notifier};
use crate::recorder::Recorder;
use crate::sandbox::{NoSandbox, Sandbox};
use crate::shell::Shell;

/// Every port a session uses, shared.
#[derive(Clone)]
pub struct SessionServices {
    /// Records the session.
    pub recorder: Arc<dyn Recorder>,
    /// Runs commands.
    pub shell: Arc<dyn Shell>,
    /// Tells the outside world.
    pub notifier: Arc<dyn Notifier>,
    /// Talks to the model.
    pub model: Arc<dyn ModelClient>,
    /// Files, for patches.
    pub fs: Arc<dyn FileSystem>,
    /// What the shell can confine, and whether a failure was the sandbox's doing.
    pub sandbox: Arc<dyn Sandbox>,
}

impl std::fmt::Debug for SessionServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionServices").finish_non_exhaustive()
    }
}

impl SessionServices {
    /// Start building from the one port every session needs: a model.
    pub fn builder(model: Arc<dyn ModelClient>) -> SessionServicesBuilder {
        SessionServicesBuilder {
            model,
            recorder: None,
            shell: None,
            notifier: None,
            fs: None,
            sandbox: None,
        }
    }
}

/// Builds [`SessionServices`]; ports not given get their defaults: the in-memory recorder, the
/// process shell, no notifier, the real file system, and the kernel sandbox of this machine
/// (which the process shell applies). With a shell of your own and no sandbox, the sandbox is
/// [`NoSandbox`]: the session cannot know whether your shell confines commands, so it only
/// offers `danger-full-access`; give a [`Sandbox`] that says what your shell enforces.
pub struct SessionServicesBuilder {
    model: Arc<dyn ModelClient>,
    recorder: Option<Arc<dyn Recorder>>,
    shell: Option<Arc<dyn Shell>>,
    notifier: Option<Arc<dyn Notifier>>,
    fs: Option<Arc<dyn FileSystem>>,
    sandbox: Option<Arc<dyn Sandbox>>,
}

impl std::fmt::Debug for SessionServicesBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionServicesBuilder")
            .finish_non_exhaustive()
    }
}

impl SessionServicesBuilder {
    /// Use this recorder.
    pub fn recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Use this shell.
    pub fn shell(mut self, shell: Arc<dyn Shell>) -> Self {
        self.shell = Some(shell);
        self
    }

    /// Use this notifier.
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Use this file system.
    pub fn fs(mut self, fs: Arc<dyn FileSystem>) -> Self {
        self.fs = Some(fs);
        self
    }

    /// Use this sandbox: it must say what the shell enforces.
    pub fn sandbox(mut self, sandbox: Arc<dyn Sandbox>) -> Self {
        self.sandbox = Some(sandbox);
        self
    }

    /// The bundle; missing ports get the defaults described on [`SessionServicesBuilder`].
    pub fn build(self) -> SessionServices {
        let sandbox = match (&self.sandbox, &self.shell) {
            (Some(sandbox), _) => Arc::clone(sandbox),
            (None, Some(_)) => Arc::new(NoSandbox::new(
                "the session's shell was given without a sandbox that says what it confines (with ProcessShell, give LinuxSandbox too)",
            )),
            (None, None) => default_sandbox(),
        };
        SessionServices {
            sandbox,
            recorder: self
                .recorder
                .unwrap_or_else(|| Arc::new(crate::recorder_memory::MemoryRecorder::new())),
            shell: self
                .shell
                .unwrap_or_else(|| Arc::new(crate::shell_process::ProcessShell::new())),
            notifier: self.notifier.unwrap_or_else(|| Arc::new(NoopNotifier)),
            model: self.model,
            fs: self
                .fs
                .unwrap_or_else(|| Arc::new(crate::fs_real::RealFileSystem)),
        }
    }
}

#[cfg(target_os = "linux")]
fn default_sandbox() -> Arc<dyn Sandbox> {
    Arc::new(crate::sandbox_linux::LinuxSandbox::new())
}

#[cfg(not(target_os = "linux"))]
fn default_sandbox() -> Arc<dyn Sandbox> {
    Arc::new(NoSandbox::new("commands can only be confined on Linux"))
}
