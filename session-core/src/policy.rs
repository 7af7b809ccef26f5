//! The session's effective approval and sandbox policies, and what the model is told of them.
//!
//! Pure decisions over what the sandbox port reports: which defaults a machine gets, which
//! modes can be honoured, and where one shell call runs (asked or not, confined how). The shell
//! tool carries the decisions out; nothing here runs anything.

use std::path::{Path, PathBuf};

use session_services::{ExecSandbox, NetworkAccess, SandboxSupport};
use session_state::{AskForApproval, ResponseItem, SandboxPolicy, TurnContext};

use crate::config::SessionConfig;
use crate::error::SessionError;
use crate::markers::ENVIRONMENT_TAG;

/// The policies a session runs under, given what it asked for and what the machine enforces.
///
/// # Errors
///
/// [`SessionError::SandboxUnavailable`] when a confining mode was asked for explicitly and
/// cannot be enforced.
pub(crate) fn effective(
    config: &SessionConfig,
    support: &SandboxSupport,
) -> Result<(AskForApproval, SandboxPolicy), SessionError> {
    let sandbox = match &config.sandbox_policy {
        Some(policy) => {
            check_enforceable(policy, support)?;
            policy.clone()
        }
        None if support.is_enforced() => default_workspace_write(),
        None => SandboxPolicy::DangerFullAccess,
    };
    let approval = config.approval_policy.unwrap_or(if support.is_enforced() {
        AskForApproval::OnRequest
    } else {
        AskForApproval::Untrusted
    });
    Ok((approval, sandbox))
}

/// `workspace-write` with nothing added: the cwd and the temporary folders, no network.
pub(crate) fn default_workspace_write() -> SandboxPolicy {
    SandboxPolicy::WorkspaceWrite {
        writable_roots: Vec::new(),
        network_access: false,
        exclude_tmp: false,
    }
}

/// Whether `policy` can be honoured.
///
/// # Errors
///
/// [`SessionError::SandboxUnavailable`] for a confining mode the sandbox cannot enforce.
pub(crate) fn check_enforceable(
    policy: &SandboxPolicy,
    support: &SandboxSupport,
) -> Result<(), SessionError> {
    match (policy, support) {
        (SandboxPolicy::DangerFullAccess, _) | (_, SandboxSupport::Enforced { .. }) => Ok(()),
        (_, SandboxSupport::Unavailable { reason }) => Err(SessionError::SandboxUnavailable {
            mode: mode_name(policy).to_owned(),
            reason: reason.clone(),
        }),
    }
}

/// The mode's name as configuration spells it.
pub(crate) fn mode_name(policy: &SandboxPolicy) -> &'static str {
    match policy {
        SandboxPolicy::ReadOnly => "read-only",
        SandboxPolicy::WorkspaceWrite { .. } => "workspace-write",
        SandboxPolicy::DangerFullAccess => "danger-full-access",
    }
}

/// The policy's name as configuration spells it.
pub(crate) fn approval_name(policy: AskForApproval) -> &'static str {
    match policy {
        AskForApproval::Untrusted => "untrusted",
        AskForApproval::OnFailure => "on-failure",
        AskForApproval::OnRequest => "on-request",
        AskForApproval::Never => "never",
    }
}

/// Where a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confine {
    /// Under the session's sandbox mode.
    Configured,
    /// In the read-only box, whatever the mode.
    ReadOnly,
    /// Outside any sandbox (the user allowed it).
    Unconfined,
}

/// What to do with one shell call before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ShellDecision {
    /// Run without asking.
    Run(Confine),
    /// Ask the user (with this reason); if approved, run there.
    Ask {
        /// Shown with the request.
        reason: Option<String>,
        /// Where the command runs once approved.
        then: Confine,
    },
    /// Do not run; tell the model this.
    Refuse(String),
}

/// What one shell call needs, as far as policy goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShellCall<'a> {
    /// The model asked to run outside the sandbox.
    pub(crate) escalate: bool,
    /// Its justification, if it gave one.
    pub(crate) justification: Option<&'a str>,
    /// The command is on the known read-only list.
    pub(crate) known_safe: bool,
    /// The user approved this command for the session, under the confinement it asks for.
    pub(crate) approved_for_session: bool,
}

/// The policy × mode table: whether a shell call asks, and where it runs.
pub(crate) fn decide_shell(
    approval: AskForApproval,
    sandbox: &SandboxPolicy,
    enforced: bool,
    call: ShellCall<'_>,
) -> ShellDecision {
    // Outside the sandbox is where a `danger-full-access` command runs anyway.
    let escalate = call.escalate && *sandbox != SandboxPolicy::DangerFullAccess;
    let escalation_reason = || {
        Some(call.justification.map_or_else(
            || "the model asks to run this command outside the sandbox".to_owned(),
            |j| j.to_owned(),
        ))
    };
    if escalate {
        return match approval {
            AskForApproval::Never => ShellDecision::Refuse(
                "This command was not run: running outside the sandbox needs the user's \
                 approval, and the approval policy is `never`. Run it without \
                 `with_escalated_permissions`, or find another way."
                    .to_owned(),
            ),
            _ if call.approved_for_session => ShellDecision::Run(Confine::Unconfined),
            _ => ShellDecision::Ask {
                reason: escalation_reason(),
                then: Confine::Unconfined,
            },
        };
    }
    match approval {
        AskForApproval::Untrusted if call.known_safe => {
            // A fooled allow-list must still write nothing: the read-only box, where it exists.
            ShellDecision::Run(if enforced {
                Confine::ReadOnly
            } else {
                Confine::Configured
            })
        }
        AskForApproval::Untrusted if call.approved_for_session => {
            ShellDecision::Run(Confine::Configured)
        }
        AskForApproval::Untrusted => ShellDecision::Ask {
            reason: None,
            then: Confine::Configured,
        },
        AskForApproval::OnFailure | AskForApproval::OnRequest | AskForApproval::Never => {
            ShellDecision::Run(Confine::Configured)
        }
    }
}

/// The confinement of a command of a session in `cwd`.
pub(crate) fn exec_sandbox(
    confine: Confine,
    sandbox: &SandboxPolicy,
    cwd: &Path,
    protected: &[PathBuf],
) -> ExecSandbox {
    match confine {
        Confine::Configured => ExecSandbox::from_policy(sandbox, cwd, protected),
        Confine::ReadOnly => ExecSandbox::from_policy(&SandboxPolicy::ReadOnly, cwd, protected),
        Confine::Unconfined => ExecSandbox::None,
    }
}

/// The environment context the model gets: where it works, what it may write, whether the
/// network is on, and when it has to ask.
pub(crate) fn environment_context(
    ctx: &TurnContext,
    shell: &Path,
    protected: &[PathBuf],
) -> ResponseItem {
    let mut text = format!(
        "{ENVIRONMENT_TAG}\n  <cwd>{}</cwd>\n  <approval_policy>{}</approval_policy>\n  \
         <sandbox_mode>{}</sandbox_mode>\n",
        ctx.cwd.display(),
        approval_name(ctx.approval_policy),
        mode_name(&ctx.sandbox_policy),
    );
    match ExecSandbox::from_policy(&ctx.sandbox_policy, &ctx.cwd, protected) {
        ExecSandbox::None => {
            text.push_str("  <network_access>enabled</network_access>\n");
        }
        ExecSandbox::Confined(spec) => {
            if spec.writable_roots.is_empty() {
                text.push_str("  <writable_roots>none: every file is read-only</writable_roots>\n");
            } else {
                text.push_str("  <writable_roots>\n");
                for root in &spec.writable_roots {
                    text.push_str(&format!("    <root>{}</root>\n", root.display()));
                }
                text.push_str("  </writable_roots>\n");
                text.push_str(
                    "  <read_only>every .git folder and the session home, even inside \
                     writable roots</read_only>\n",
                );
            }
            let network = match spec.network {
                NetworkAccess::Restricted => "restricted",
                NetworkAccess::Enabled => "enabled",
            };
            text.push_str(&format!("  <network_access>{network}</network_access>\n"));
        }
    }
    text.push_str(&format!(
        "  <shell>{}</shell>\n</environment_context>",
        shell.display()
    ));
    ResponseItem::user_text(text)
}

/// Whether two contexts differ in what the environment context tells the model.
pub(crate) fn announced_differently(a: &TurnContext, b: &TurnContext) -> bool {
    a.cwd != b.cwd || a.approval_policy != b.approval_policy || a.sandbox_policy != b.sandbox_policy
}

#[cfg(test)]
mod tests;
