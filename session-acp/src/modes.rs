//! The approval presets offered as ACP session modes, and the model choice offered as a
//! session config option.

use agent_client_protocol::v1::schema::{
    SessionConfigKind, SessionConfigOption, SessionConfigOptionCategory, SessionConfigSelect,
    SessionConfigSelectOption, SessionMode, SessionModeState,
};
use session_core::{AskForApproval, SandboxPolicy};

/// One approval preset: how a session asks and how its commands are confined.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Preset {
    /// The mode id on the wire.
    pub(crate) id: &'static str,
    name: &'static str,
    description: &'static str,
    approval: AskForApproval,
    sandbox: fn() -> SandboxPolicy,
}

fn read_only() -> SandboxPolicy {
    SandboxPolicy::ReadOnly
}

fn workspace_write() -> SandboxPolicy {
    SandboxPolicy::WorkspaceWrite {
        writable_roots: Vec::new(),
        network_access: false,
        exclude_tmp: false,
    }
}

fn full_access() -> SandboxPolicy {
    SandboxPolicy::DangerFullAccess
}

/// The presets, in the order a client shows them.
pub(crate) const PRESETS: [Preset; 3] = [
    Preset {
        id: "read-only",
        name: "Read only",
        description: "Reads files; asks before any edit, command that writes, or network use",
        approval: AskForApproval::OnRequest,
        sandbox: read_only,
    },
    Preset {
        id: "auto",
        name: "Auto",
        description: "Edits and runs commands in the workspace; asks before leaving it or using \
                      the network",
        approval: AskForApproval::OnRequest,
        sandbox: workspace_write,
    },
    Preset {
        id: "full-access",
        name: "Full access",
        description: "Runs everything without asking, unconfined; use with care",
        approval: AskForApproval::Never,
        sandbox: full_access,
    },
];

/// The id of the mode that stands for a configured policy that is none of the presets.
pub(crate) const CONFIGURED: &str = "configured";

impl Preset {
    /// The preset named `id`.
    pub(crate) fn find(id: &str) -> Option<Preset> {
        PRESETS.iter().copied().find(|p| p.id == id)
    }

    /// The approval policy and sandbox policy it sets.
    pub(crate) fn policies(&self) -> (AskForApproval, SandboxPolicy) {
        (self.approval, (self.sandbox)())
    }

    fn matches(&self, approval: AskForApproval, sandbox: &SandboxPolicy) -> bool {
        if approval != self.approval {
            return false;
        }
        match (sandbox, (self.sandbox)()) {
            (SandboxPolicy::ReadOnly, SandboxPolicy::ReadOnly)
            | (SandboxPolicy::DangerFullAccess, SandboxPolicy::DangerFullAccess) => true,
            (
                SandboxPolicy::WorkspaceWrite {
                    writable_roots,
                    network_access,
                    exclude_tmp,
                },
                SandboxPolicy::WorkspaceWrite { .. },
            ) => writable_roots.is_empty() && !network_access && !exclude_tmp,
            _ => false,
        }
    }
}

/// The mode id of a session running under these policies: a preset's, or [`CONFIGURED`].
pub(crate) fn mode_of(approval: AskForApproval, sandbox: &SandboxPolicy) -> &'static str {
    PRESETS
        .iter()
        .find(|p| p.matches(approval, sandbox))
        .map_or(CONFIGURED, |p| p.id)
}

/// The modes a session offers; the configured policy is offered too when it is no preset, so
/// the current mode is always one of them.
pub(crate) fn mode_state(current: &str, configured: Option<&str>) -> SessionModeState {
    let mut modes: Vec<SessionMode> = PRESETS
        .iter()
        .map(|p| SessionMode::new(p.id, p.name).description(p.description.to_owned()))
        .collect();
    if let Some(policy) = configured {
        modes.push(
            SessionMode::new(CONFIGURED, "As configured")
                .description(format!("The policy of the configuration: {policy}")),
        );
    }
    SessionModeState::new(current.to_owned(), modes)
}

/// The session's config options: its mode and its model.
pub(crate) fn config_options(
    mode: &str,
    configured: Option<&str>,
    model: &str,
    models: &[String],
) -> Vec<SessionConfigOption> {
    let mut mode_values: Vec<SessionConfigSelectOption> = PRESETS
        .iter()
        .map(|p| SessionConfigSelectOption::new(p.id, p.name).description(p.description.to_owned()))
        .collect();
    if configured.is_some() {
        mode_values.push(SessionConfigSelectOption::new(CONFIGURED, "As configured"));
    }
    let mut model_values: Vec<SessionConfigSelectOption> = models
        .iter()
        .map(|m| SessionConfigSelectOption::new(m.clone(), m.clone()))
        .collect();
    if !models.iter().any(|m| m == model) {
        model_values.insert(
            0,
            SessionConfigSelectOption::new(model.to_owned(), model.to_owned()),
        );
    }
    vec![
        SessionConfigOption::new(
            "mode",
            "Approval mode",
            SessionConfigKind::Select(SessionConfigSelect::new(mode.to_owned(), mode_values)),
        )
        .category(SessionConfigOptionCategory::Mode),
        SessionConfigOption::new(
            "model",
            "Model",
            SessionConfigKind::Select(SessionConfigSelect::new(model.to_owned(), model_values)),
        )
        .category(SessionConfigOptionCategory::Model),
    ]
}

/// How a policy reads in a mode description.
pub(crate) fn describe(approval: AskForApproval, sandbox: &SandboxPolicy) -> String {
    let approval = match approval {
        AskForApproval::Untrusted => "untrusted",
        AskForApproval::OnFailure => "on-failure",
        AskForApproval::OnRequest => "on-request",
        AskForApproval::Never => "never",
    };
    let sandbox = match sandbox {
        SandboxPolicy::ReadOnly => "read-only",
        SandboxPolicy::WorkspaceWrite { .. } => "workspace-write",
        SandboxPolicy::DangerFullAccess => "danger-full-access",
    };
    format!("approvals {approval}, sandbox {sandbox}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_its_own_mode() {
        for preset in PRESETS {
            let (approval, sandbox) = preset.policies();
            assert_eq!(mode_of(approval, &sandbox), preset.id);
        }
        assert_eq!(
            mode_of(AskForApproval::Untrusted, &SandboxPolicy::ReadOnly),
            CONFIGURED
        );
    }
}
