//! Tests of the effective policies and of the policy × mode table for shell calls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use session_services::SandboxSupport;
use session_state::{AskForApproval, SandboxPolicy};

use super::{Confine, ShellCall, ShellDecision, decide_shell, default_workspace_write, effective};
use crate::config::SessionConfig;
use crate::error::SessionError;

fn enforced() -> SandboxSupport {
    SandboxSupport::Enforced {
        description: "test".to_owned(),
    }
}

fn unavailable() -> SandboxSupport {
    SandboxSupport::Unavailable {
        reason: "no landlock".to_owned(),
    }
}

#[test]
fn defaults_follow_what_the_machine_enforces_and_explicit_modes_must_be_enforceable() {
    let config = SessionConfig::new("m", "/w");
    assert_eq!(
        effective(&config, &enforced()).unwrap(),
        (AskForApproval::OnRequest, default_workspace_write())
    );
    assert_eq!(
        effective(&config, &unavailable()).unwrap(),
        (AskForApproval::Untrusted, SandboxPolicy::DangerFullAccess)
    );
    let mut explicit = config.clone();
    explicit.sandbox_policy = Some(SandboxPolicy::ReadOnly);
    explicit.approval_policy = Some(AskForApproval::Never);
    assert_eq!(
        effective(&explicit, &enforced()).unwrap(),
        (AskForApproval::Never, SandboxPolicy::ReadOnly)
    );
    let err = effective(&explicit, &unavailable()).unwrap_err();
    assert!(
        matches!(&err, SessionError::SandboxUnavailable { mode, reason } if mode == "read-only" && reason == "no landlock"),
        "{err:?}"
    );
    explicit.sandbox_policy = Some(SandboxPolicy::DangerFullAccess);
    assert!(effective(&explicit, &unavailable()).is_ok());
}

#[test]
fn the_policy_table_decides_who_asks_and_where_commands_run() {
    use AskForApproval::{Never, OnFailure, OnRequest, Untrusted};
    let ww = default_workspace_write();
    let full = SandboxPolicy::DangerFullAccess;
    let plain = ShellCall {
        escalate: false,
        justification: None,
        known_safe: false,
        approved_for_session: false,
    };
    let safe = ShellCall {
        known_safe: true,
        ..plain
    };
    let approved = ShellCall {
        approved_for_session: true,
        ..plain
    };
    let escalated = ShellCall {
        escalate: true,
        justification: Some("needs the network"),
        ..plain
    };
    let ask = |then| ShellDecision::Ask { reason: None, then };
    let ask_why = |then| ShellDecision::Ask {
        reason: Some("needs the network".to_owned()),
        then,
    };
    let run = ShellDecision::Run;
    let cases: Vec<(
        AskForApproval,
        &SandboxPolicy,
        bool,
        ShellCall<'_>,
        ShellDecision,
    )> = vec![
        (Untrusted, &ww, true, safe, run(Confine::ReadOnly)),
        (Untrusted, &full, true, safe, run(Confine::ReadOnly)),
        (Untrusted, &full, false, safe, run(Confine::Configured)),
        (Untrusted, &ww, true, plain, ask(Confine::Configured)),
        (Untrusted, &ww, true, approved, run(Confine::Configured)),
        (
            Untrusted,
            &ww,
            true,
            escalated,
            ask_why(Confine::Unconfined),
        ),
        (OnRequest, &ww, true, plain, run(Confine::Configured)),
        (
            OnRequest,
            &ww,
            true,
            escalated,
            ask_why(Confine::Unconfined),
        ),
        (
            OnRequest,
            &ww,
            true,
            ShellCall {
                approved_for_session: true,
                ..escalated
            },
            run(Confine::Unconfined),
        ),
        (OnRequest, &full, true, escalated, run(Confine::Configured)),
        (OnFailure, &ww, true, plain, run(Confine::Configured)),
        (
            OnFailure,
            &ww,
            true,
            escalated,
            ask_why(Confine::Unconfined),
        ),
        (Never, &ww, true, plain, run(Confine::Configured)),
        (Never, &full, true, escalated, run(Confine::Configured)),
    ];
    for (approval, sandbox, enforced, call, want) in cases {
        assert_eq!(
            decide_shell(approval, sandbox, enforced, call),
            want,
            "{approval:?} {sandbox:?} enforced={enforced} {call:?}"
        );
    }
    assert!(matches!(
        decide_shell(Never, &ww, true, escalated),
        ShellDecision::Refuse(m) if m.contains("never")
    ));
    let default_reason = ShellCall {
        justification: None,
        ..escalated
    };
    assert!(matches!(
        decide_shell(OnRequest, &ww, true, default_reason),
        ShellDecision::Ask { reason: Some(r), .. } if r.contains("outside the sandbox")
    ));
}
