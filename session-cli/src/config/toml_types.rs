//! The serde shape of `config.toml`: every key optional, so a merged table of file, environment
//! and overrides reads the same way as the file alone. Unknown keys are ignored here (the loader
//! warns about them); this module must not decide defaults.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Visitor};
use session_core::services::WireApi;
use session_core::{AskForApproval, AutoCompact, ReasoningEffort, ReasoningSummary};

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ConfigToml {
    pub(crate) model: Option<String>,
    pub(crate) model_provider: Option<String>,
    #[serde(default)]
    pub(crate) model_providers: BTreeMap<String, ProviderToml>,
    pub(crate) approval_policy: Option<AskForApproval>,
    pub(crate) sandbox_mode: Option<SandboxMode>,
    pub(crate) sandbox_workspace_write: Option<WorkspaceWriteToml>,
    pub(crate) notify: Option<Vec<String>>,
    pub(crate) models: Option<Vec<String>>,
    pub(crate) model_context_window: Option<u64>,
    pub(crate) model_auto_compact_token_limit: Option<AutoCompactSetting>,
    pub(crate) model_reasoning_effort: Option<ReasoningEffort>,
    pub(crate) model_reasoning_summary: Option<ReasoningSummary>,
    pub(crate) instructions: Option<String>,
    pub(crate) model_script: Option<PathBuf>,
    pub(crate) project_doc_max_bytes: Option<usize>,
    pub(crate) project_doc_fallback_filenames: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) mcp_servers: BTreeMap<String, session_core::services::mcp::McpServerConfig>,
}

/// One `[model_providers.<id>]` table.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ProviderToml {
    pub(crate) name: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) wire_api: Option<WireApi>,
    pub(crate) env_key: Option<String>,
    pub(crate) request_max_retries: Option<u32>,
    pub(crate) stream_max_retries: Option<u32>,
    pub(crate) stream_idle_timeout_ms: Option<u64>,
    pub(crate) retry_base_delay_ms: Option<u64>,
    pub(crate) headers: Option<BTreeMap<String, String>>,
    pub(crate) http_headers: Option<BTreeMap<String, String>>,
    pub(crate) store: Option<bool>,
    pub(crate) max_tokens: Option<u32>,
}

/// `[sandbox_workspace_write]`: what `workspace-write` adds to the working directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct WorkspaceWriteToml {
    /// More folders commands may write.
    #[serde(default)]
    pub(crate) writable_roots: Vec<PathBuf>,
    /// Whether commands may use the network.
    #[serde(default)]
    pub(crate) network_access: bool,
    /// Keep `$TMPDIR`, `/tmp` and `/dev/shm` read-only.
    #[serde(default)]
    pub(crate) exclude_tmp: bool,
}

/// `sandbox_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SandboxMode {
    ReadOnly,
    WorkspaceWrite,
    DangerFullAccess,
}

/// `model_auto_compact_token_limit`: a token count, or `"off"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AutoCompactSetting(pub(crate) AutoCompact);

impl<'de> Deserialize<'de> for AutoCompactSetting {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LimitVisitor;

        impl Visitor<'_> for LimitVisitor {
            type Value = AutoCompactSetting;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive token count or \"off\"")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                match u64::try_from(v) {
                    Ok(n) if n > 0 => Ok(AutoCompactSetting(AutoCompact::Tokens(n))),
                    _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                if v == 0 {
                    return Err(E::invalid_value(de::Unexpected::Unsigned(v), &self));
                }
                Ok(AutoCompactSetting(AutoCompact::Tokens(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v == "off" {
                    Ok(AutoCompactSetting(AutoCompact::Off))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }

        deserializer.deserialize_any(LimitVisitor)
    }
}
