//! The CLI configuration: `config.toml`, environment variables, `-c key=value` overrides and
//! flags, merged in that order (later wins) into one TOML table and then read into [`Settings`].
//!
//! Loading is a pure function of [`ConfigInputs`] (the caller reads the file and the
//! environment), so every precedence rule is unit tested. It must not start anything: turning
//! settings into services is `services.rs`'s job.

mod location;
mod toml_types;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use session_core::services::project_doc::{self, ProjectDocOptions};
use session_core::services::{ProviderConfig, WireApi};
use session_core::{
    AskForApproval, AutoCompact, ReasoningEffort, ReasoningSummary, SandboxPolicy, SessionConfig,
};

use self::toml_types::{ConfigToml, ProviderToml};
pub(crate) use self::toml_types::{SandboxMode, WorkspaceWriteToml};

/// Id of the offline demo model shipped in the binary.
pub(crate) const DEMO_PROVIDER: &str = "demo";
/// Id of the provider replaying a JSON script (`model_script`), for tests and benchmarks.
pub(crate) const SCRIPT_PROVIDER: &str = "script";
/// The model used with OpenAI when none is configured.
pub(crate) const DEFAULT_OPENAI_MODEL: &str = "gpt-5";
/// The environment variable holding the OpenAI API key.
pub(crate) const OPENAI_KEY_VAR: &str = "OPENAI_API_KEY";
/// Where the built-in `anthropic` provider reads its key.
pub(crate) const ANTHROPIC_KEY_VAR: &str = "ANTHROPIC_API_KEY";
/// The model of the built-in `anthropic` provider when none is configured.
const DEFAULT_ANTHROPIC_MODEL: &str = "claude-sonnet-4-5";

/// Top-level keys the configuration knows.
const KNOWN_KEYS: &[&str] = &[
    "model",
    "model_provider",
    "model_providers",
    "approval_policy",
    "sandbox_mode",
    "sandbox_workspace_write",
    "notify",
    "model_context_window",
    "model_auto_compact_token_limit",
    "model_reasoning_effort",
    "model_reasoning_summary",
    "instructions",
    "model_script",
    "project_doc_max_bytes",
    "project_doc_fallback_filenames",
    "models",
    "mcp_servers",
];

/// Keys of the `[sandbox_workspace_write]` table.
const KNOWN_WORKSPACE_WRITE_KEYS: &[&str] = &["writable_roots", "network_access", "exclude_tmp"];

/// Keys of a `[model_providers.<id>]` table.
const KNOWN_PROVIDER_KEYS: &[&str] = &[
    "name",
    "base_url",
    "wire_api",
    "env_key",
    "request_max_retries",
    "stream_max_retries",
    "stream_idle_timeout_ms",
    "retry_base_delay_ms",
    "headers",
    "http_headers",
    "store",
    "max_tokens",
];

/// The configuration file as read from disk.
#[derive(Debug, Clone)]
pub(crate) struct ConfigFile {
    /// Where it is (for messages).
    pub(crate) path: PathBuf,
    /// Its text.
    pub(crate) text: String,
}

/// Everything the configuration is made from.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigInputs {
    /// `config.toml`, when it exists.
    pub(crate) file: Option<ConfigFile>,
    /// `SESSION_MODEL`.
    pub(crate) env_model: Option<String>,
    /// `SESSION_MODEL_PROVIDER`.
    pub(crate) env_provider: Option<String>,
    /// `SESSION_APPROVAL_POLICY`.
    pub(crate) env_approval_policy: Option<String>,
    /// Whether `OPENAI_API_KEY` is set to something.
    pub(crate) openai_key_set: bool,
    /// `-c key=value` arguments, in order.
    pub(crate) overrides: Vec<String>,
    /// `--model`.
    pub(crate) flag_model: Option<String>,
    /// `--provider`.
    pub(crate) flag_provider: Option<String>,
    /// `--approval-policy`.
    pub(crate) flag_approval_policy: Option<String>,
    /// `--sandbox`.
    pub(crate) flag_sandbox_mode: Option<String>,
    /// `--full-auto`.
    pub(crate) full_auto: bool,
}

/// Where the model comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ModelSource {
    /// The offline demo model.
    Demo,
    /// A JSON script replayed by the scripted model.
    Script(PathBuf),
    /// An HTTP provider.
    Http(ProviderConfig),
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Model name.
    pub(crate) model: String,
    /// Provider id.
    pub(crate) provider_id: String,
    /// How to reach the model.
    pub(crate) source: ModelSource,
    /// When to ask before running commands; `None` for the machine's default.
    pub(crate) approval_policy: Option<AskForApproval>,
    /// The sandbox mode asked for; `None` for the machine's default.
    pub(crate) sandbox_mode: Option<SandboxMode>,
    /// `[sandbox_workspace_write]`, for `workspace-write` whether asked for or the default.
    pub(crate) workspace_write: WorkspaceWriteToml,
    /// Program (and arguments) to run for notifications; empty for none.
    pub(crate) notify: Vec<String>,
    /// Models an editor may switch a session to (`models`), beside `model`.
    pub(crate) models: Vec<String>,
    /// The model's context window.
    pub(crate) context_window: Option<u64>,
    /// When to compact by itself.
    pub(crate) auto_compact: AutoCompact,
    /// Instructions replacing the built-in ones.
    pub(crate) instructions: Option<String>,
    /// Reasoning effort.
    pub(crate) effort: Option<ReasoningEffort>,
    /// Reasoning summary mode.
    pub(crate) summary: Option<ReasoningSummary>,
    /// `project_doc_max_bytes`: the cap on the `AGENTS.md` instructions; `None` for the
    /// default.
    pub(crate) project_doc_max_bytes: Option<usize>,
    /// `project_doc_fallback_filenames`: names tried where a directory has no `AGENTS.md`.
    pub(crate) project_doc_fallback_filenames: Vec<String>,
    /// `[mcp_servers.<name>]`: MCP servers whose tools the model gets.
    pub(crate) mcp_servers:
        std::collections::BTreeMap<String, session_core::services::mcp::McpServerConfig>,
}

impl Settings {
    /// The sandbox policy asked for, or the default when `enforced`: `workspace-write` with
    /// the `[sandbox_workspace_write]` table. `None` leaves the fallback to the session.
    pub(crate) fn sandbox_policy(&self, enforced: bool) -> Option<SandboxPolicy> {
        let workspace_write = || SandboxPolicy::WorkspaceWrite {
            writable_roots: self.workspace_write.writable_roots.clone(),
            network_access: self.workspace_write.network_access,
            exclude_tmp: self.workspace_write.exclude_tmp,
        };
        match self.sandbox_mode {
            Some(SandboxMode::ReadOnly) => Some(SandboxPolicy::ReadOnly),
            Some(SandboxMode::WorkspaceWrite) => Some(workspace_write()),
            Some(SandboxMode::DangerFullAccess) => Some(SandboxPolicy::DangerFullAccess),
            None if enforced => Some(workspace_write()),
            None => None,
        }
    }

    /// How the `AGENTS.md` instructions are looked up: `project_doc_max_bytes` (default 32 KiB)
    /// and `project_doc_fallback_filenames`.
    pub(crate) fn project_doc_options(&self) -> ProjectDocOptions {
        ProjectDocOptions {
            max_bytes: self
                .project_doc_max_bytes
                .unwrap_or(project_doc::DEFAULT_MAX_BYTES),
            fallback_filenames: self.project_doc_fallback_filenames.clone(),
        }
    }

    /// The models a client may choose: `model` first, then the `models` list.
    pub(crate) fn offered_models(&self) -> Vec<String> {
        let mut out = vec![self.model.clone()];
        out.extend(self.models.iter().filter(|m| **m != self.model).cloned());
        out
    }

    /// The session configuration for a session in `cwd` whose commands are recorded under
    /// `home` (which they may never write), on a machine whose sandbox is `enforced` or not.
    pub(crate) fn session_config(&self, cwd: &Path, home: &Path, enforced: bool) -> SessionConfig {
        let mut config = SessionConfig::new(self.model.clone(), cwd);
        config.user_instructions = project_doc::load(cwd, Some(home), &self.project_doc_options());
        config.mcp_servers = self.mcp_servers.clone();
        config.model_provider = self.provider_id.clone();
        if let Some(instructions) = &self.instructions {
            config.instructions = instructions.clone();
        }
        config.approval_policy = self.approval_policy;
        config.sandbox_policy = self.sandbox_policy(enforced);
        config.protected_paths = vec![home.to_path_buf()];
        config.effort = self.effort;
        config.summary = self.summary;
        config.context_window = self.context_window;
        config.auto_compact = self.auto_compact;
        if let ModelSource::Http(provider) = &self.source {
            config.retry_like(provider);
        }
        config
    }
}

/// The settings and what to tell the user about them (warnings, notes), one message a line.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    /// The settings.
    pub(crate) settings: Settings,
    /// Messages for stderr.
    pub(crate) notices: Vec<String>,
}

/// Merge the inputs and resolve them into settings.
///
/// # Errors
///
/// When the file is not valid TOML or holds a value of the wrong type (the message names the
/// file, the line and the key), when an override is malformed, or when the settings contradict
/// each other (an unknown provider, a provider without a model).
pub(crate) fn load(inputs: &ConfigInputs) -> Result<Loaded> {
    let mut notices = Vec::new();
    let mut table = match &inputs.file {
        Some(file) => {
            let table = location::parse_file(file)?;
            for key in unknown_keys(&table) {
                notices.push(format!(
                    "warning: unknown config key `{key}` in {} (ignored)",
                    file.path.display()
                ));
            }
            table
        }
        None => toml::Table::new(),
    };

    let env = [
        ("model", &inputs.env_model),
        ("model_provider", &inputs.env_provider),
        ("approval_policy", &inputs.env_approval_policy),
    ];
    for (key, value) in env {
        if let Some(value) = value {
            table.insert(key.to_owned(), toml::Value::String(value.clone()));
        }
    }
    for raw in &inputs.overrides {
        let (path, value) = parse_override(raw)?;
        for key in unknown_keys(&nested(&path, value.clone())) {
            notices.push(format!(
                "warning: unknown config key `{key}` in `-c {raw}` (ignored)"
            ));
        }
        set_path(&mut table, &path, value)
            .with_context(|| format!("invalid override `-c {raw}`"))?;
    }
    let flags = [
        ("model", &inputs.flag_model),
        ("model_provider", &inputs.flag_provider),
        ("approval_policy", &inputs.flag_approval_policy),
        ("sandbox_mode", &inputs.flag_sandbox_mode),
    ];
    for (key, value) in flags {
        if let Some(value) = value {
            table.insert(key.to_owned(), toml::Value::String(value.clone()));
        }
    }
    if inputs.full_auto {
        table.insert(
            "approval_policy".to_owned(),
            toml::Value::String("never".to_owned()),
        );
    }

    let raw: ConfigToml = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| location::override_error(&e))?;
    resolve(raw, inputs.openai_key_set, &mut notices).map(|settings| Loaded { settings, notices })
}

/// Every `env_key` the configuration names (file and `-c` overrides), and the built-in
/// provider's, whether or not that provider is used: read before anything else runs, so the
/// values can be taken out of the process environment. Best effort: a file that does not parse
/// names none (loading it later reports the error).
pub(crate) fn declared_env_keys(file_text: Option<&str>, overrides: &[String]) -> Vec<String> {
    let mut table = file_text
        .and_then(|text| text.parse::<toml::Table>().ok())
        .unwrap_or_default();
    for raw in overrides {
        if let Ok((path, value)) = parse_override(raw) {
            let _ = set_path(&mut table, &path, value);
        }
    }
    let mut keys = vec![OPENAI_KEY_VAR.to_owned(), ANTHROPIC_KEY_VAR.to_owned()];
    if let Some(providers) = table.get("model_providers").and_then(toml::Value::as_table) {
        for provider in providers.values() {
            if let Some(key) = provider.get("env_key").and_then(toml::Value::as_str) {
                keys.push(key.to_owned());
            }
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

fn resolve(raw: ConfigToml, openai_key_set: bool, notices: &mut Vec<String>) -> Result<Settings> {
    let provider_id = match raw.model_provider.clone() {
        Some(id) => id,
        None if openai_key_set => "openai".to_owned(),
        None => {
            notices.push(format!(
                "no model provider configured and {OPENAI_KEY_VAR} is not set; using the offline demo model"
            ));
            DEMO_PROVIDER.to_owned()
        }
    };
    let source = match provider_id.as_str() {
        DEMO_PROVIDER => ModelSource::Demo,
        SCRIPT_PROVIDER => match &raw.model_script {
            Some(path) => ModelSource::Script(path.clone()),
            None => {
                bail!("model provider `script` needs `model_script`, the path of a JSON script")
            }
        },
        id => ModelSource::Http(provider(id, raw.model_providers.get(id))?),
    };
    let model = match (&raw.model, &source) {
        (Some(model), _) => model.clone(),
        (None, ModelSource::Demo) => DEMO_PROVIDER.to_owned(),
        (None, ModelSource::Script(_)) => SCRIPT_PROVIDER.to_owned(),
        (None, ModelSource::Http(_)) if provider_id == "openai" => DEFAULT_OPENAI_MODEL.to_owned(),
        (None, ModelSource::Http(_)) if provider_id == "anthropic" => {
            DEFAULT_ANTHROPIC_MODEL.to_owned()
        }
        (None, ModelSource::Http(_)) => bail!(
            "no model configured for provider `{provider_id}`: set `model` in config.toml, \
             SESSION_MODEL, `-m MODEL` or `-c model=NAME`"
        ),
    };
    let context_window = raw.model_context_window.or_else(|| match source {
        ModelSource::Demo => Some(crate::demo::CONTEXT_WINDOW),
        _ => default_context_window(&model),
    });
    Ok(Settings {
        model,
        provider_id,
        source,
        approval_policy: raw.approval_policy,
        sandbox_mode: raw.sandbox_mode,
        workspace_write: raw.sandbox_workspace_write.unwrap_or_default(),
        notify: raw.notify.unwrap_or_default(),
        models: raw.models.clone().unwrap_or_default(),
        context_window,
        auto_compact: raw
            .model_auto_compact_token_limit
            .map_or(AutoCompact::Default, |limit| limit.0),
        instructions: raw.instructions,
        effort: raw.model_reasoning_effort,
        summary: raw.model_reasoning_summary,
        project_doc_max_bytes: raw.project_doc_max_bytes,
        project_doc_fallback_filenames: raw.project_doc_fallback_filenames.unwrap_or_default(),
        mcp_servers: raw.mcp_servers,
    })
}

/// The provider `id`: a built-in one with the table's fields on top, or one the table defines.
fn provider(id: &str, table: Option<&ProviderToml>) -> Result<ProviderConfig> {
    let mut config = match id {
        "openai" => {
            let mut p =
                ProviderConfig::new("openai", "https://api.openai.com/v1", WireApi::Responses);
            p.env_key = Some(OPENAI_KEY_VAR.to_owned());
            p
        }
        "ollama" => ProviderConfig::new("ollama", "http://localhost:11434/v1", WireApi::Chat),
        "anthropic" => {
            let mut p = ProviderConfig::new(
                "anthropic",
                "https://api.anthropic.com/v1",
                WireApi::Messages,
            );
            p.env_key = Some(ANTHROPIC_KEY_VAR.to_owned());
            p
        }
        _ => {
            let Some(table) = table else {
                bail!(
                    "unknown model provider `{id}`: define [model_providers.{id}] in config.toml \
                     (built in: openai, anthropic, ollama, demo)"
                );
            };
            let Some(base_url) = &table.base_url else {
                bail!("model provider `{id}` has no `base_url`");
            };
            ProviderConfig::new(id, base_url.clone(), WireApi::Responses)
        }
    };
    if let Some(t) = table {
        if let Some(v) = &t.name {
            config.name = v.clone();
        }
        if let Some(v) = &t.base_url {
            config.base_url = v.clone();
        }
        if let Some(v) = t.wire_api {
            config.wire_api = v;
        }
        if let Some(v) = &t.env_key {
            config.env_key = Some(v.clone());
        }
        if let Some(v) = t.request_max_retries {
            config.request_max_retries = v;
        }
        if let Some(v) = t.stream_max_retries {
            config.stream_max_retries = v;
        }
        if let Some(v) = t.stream_idle_timeout_ms {
            config.stream_idle_timeout_ms = v;
        }
        if let Some(v) = t.retry_base_delay_ms {
            config.retry_base_delay_ms = v;
        }
        if let Some(v) = t.store {
            config.store = v;
        }
        if let Some(v) = t.max_tokens {
            config.max_tokens = v;
        }
        for headers in [&t.headers, &t.http_headers].into_iter().flatten() {
            config
                .headers
                .extend(headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    Ok(config)
}

/// Context windows of well-known models.
fn default_context_window(model: &str) -> Option<u64> {
    let known: &[(&str, u64)] = &[
        ("gpt-5", 272_000),
        ("gpt-4.1", 1_047_576),
        ("gpt-4o", 128_000),
        ("o3", 200_000),
        ("o4-mini", 200_000),
        ("claude", 200_000),
    ];
    known
        .iter()
        .find(|(prefix, _)| model.starts_with(prefix))
        .map(|(_, window)| *window)
}

/// Split `key.path=value` into the key path and the value (TOML, or a string when it is not).
pub(crate) fn parse_override(raw: &str) -> Result<(Vec<String>, toml::Value)> {
    let Some((key, value)) = raw.split_once('=') else {
        bail!("invalid override `-c {raw}`: expected KEY=VALUE");
    };
    let path: Vec<String> = key.trim().split('.').map(|s| s.trim().to_owned()).collect();
    if path.iter().any(String::is_empty) {
        bail!("invalid override `-c {raw}`: the key is empty");
    }
    let value = value.trim();
    let parsed = serde::Deserialize::deserialize(toml::de::ValueDeserializer::new(value))
        .unwrap_or_else(|_| toml::Value::String(value.to_owned()));
    Ok((path, parsed))
}

/// Set `value` at the dotted `path` of `table`, creating tables on the way.
fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<()> {
    let Some((last, parents)) = path.split_last() else {
        bail!("the key is empty");
    };
    let mut current = table;
    for (i, part) in parents.iter().enumerate() {
        let entry = current
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            _ => bail!("`{}` is not a table", path[..=i].join(".")),
        };
    }
    current.insert(last.clone(), value);
    Ok(())
}

/// A table holding `value` at `path`.
fn nested(path: &[String], value: toml::Value) -> toml::Table {
    let mut table = toml::Table::new();
    // `set_path` on an empty table cannot fail.
    let _ = set_path(&mut table, path, value);
    table
}

/// Dotted names of the keys in `table` the configuration does not know.
fn unknown_keys(table: &toml::Table) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in table {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            out.push(key.clone());
            continue;
        }
        if key == "sandbox_workspace_write" {
            if let Some(fields) = value.as_table() {
                for field in fields.keys() {
                    if !KNOWN_WORKSPACE_WRITE_KEYS.contains(&field.as_str()) {
                        out.push(format!("sandbox_workspace_write.{field}"));
                    }
                }
            }
            continue;
        }
        if key != "model_providers" {
            continue;
        }
        let Some(providers) = value.as_table() else {
            continue;
        };
        for (id, provider) in providers {
            let Some(provider) = provider.as_table() else {
                continue;
            };
            for field in provider.keys() {
                if !KNOWN_PROVIDER_KEYS.contains(&field.as_str()) {
                    out.push(format!("model_providers.{id}.{field}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
