//! `SessionServices`: the bundle of ports a session is composed from, and its builder.

use std::sync::Arc;

use crate::fs::FileSystem;
use crate::model::ModelClient;
use crate::notifier::{NoopNotifier, Notifier};
use crate::recorder::Recorder;
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
        }
    }
}

/// Builds [`SessionServices`]; ports not given get their real default (JSONL recorder under the
/// given home, process shell, no notifier, real file system) — or the in-memory recorder when no
/// home is given.
pub struct SessionServicesBuilder {
    model: Arc<dyn ModelClient>,
    recorder: Option<Arc<dyn Recorder>>,
    shell: Option<Arc<dyn Shell>>,
    notifier: Option<Arc<dyn Notifier>>,
    fs: Option<Arc<dyn FileSystem>>,
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

    /// The bundle; missing ports get the defaults described on [`SessionServicesBuilder`].
    pub fn build(self) -> SessionServices {
        SessionServices {
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
