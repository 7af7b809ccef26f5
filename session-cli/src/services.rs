//! Turning settings into the ports a session runs on: the model client (HTTP provider, demo or
//! script), the JSONL recorder under `$SESSION_HOME`, the process shell and the notifier.
//! Building services reads the API key and the script file; it must not start a session.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use session_core::services::{
    CommandNotifier, JsonlRecorder, ModelClient, ProcessShell, Sandbox, ScriptedModel,
    SessionServices,
};

use crate::config::{ModelSource, Settings};
use crate::demo::DemoModel;

/// The model client the settings ask for.
///
/// # Errors
///
/// When the script cannot be read or parsed, or the provider cannot be set up (missing key,
/// bad URL).
pub(crate) fn model_client(settings: &Settings) -> Result<Arc<dyn ModelClient>> {
    Ok(match &settings.source {
        ModelSource::Demo => Arc::new(DemoModel),
        ModelSource::Script(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the model script {}", path.display()))?;
            Arc::new(
                ScriptedModel::from_json(&text)
                    .with_context(|| format!("invalid model script {}", path.display()))?,
            )
        }
        ModelSource::Http(provider) => provider
            .client()
            .with_context(|| format!("cannot use model provider `{}`", settings.provider_id))?,
    })
}

/// Every port of a session recorded under `home`.
///
/// # Errors
///
/// As [`model_client`].
pub(crate) fn build(settings: &Settings, home: &Path) -> Result<SessionServices> {
    let mut builder = SessionServices::builder(model_client(settings)?)
        .recorder(Arc::new(JsonlRecorder::new(home.to_path_buf())))
        .shell(Arc::new(ProcessShell::new()))
        .sandbox(sandbox());
    if !settings.notify.is_empty() {
        builder = builder.notifier(Arc::new(CommandNotifier::new(settings.notify.clone())));
    }
    Ok(builder.build())
}

/// The sandbox the process shell applies on this machine.
pub(crate) fn sandbox() -> Arc<dyn Sandbox> {
    #[cfg(target_os = "linux")]
    {
        Arc::new(session_core::services::LinuxSandbox::new())
    }
    #[cfg(not(target_os = "linux"))]
    {
        Arc::new(session_core::services::NoSandbox::new(
            "commands can only be confined on Linux",
        ))
    }
}

/// A recorder for listing and finding recordings under `home`.
pub(crate) fn recorder(home: &Path) -> JsonlRecorder {
    JsonlRecorder::new(home.to_path_buf())
}
