//! Approval policies × sandbox modes through the façade, with a fake sandbox and a fake shell:
//! who asks, where each command runs, `on-failure` reruns, and escalation requests.

use std::sync::Arc;

use session_core::services::{ExecSandbox, FakeSandbox, ScriptedResponse};
use session_core::{AskForApproval, EventMsg, ReviewDecision, SandboxPolicy};
use session_testkit::{FakeRun, FakeShell};

use crate::support::{Harness, Ports, config, tool_outputs};

/// Where a run went, as the fake shell saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Unconfined,
    ReadOnly,
    WorkspaceWrite,
}

fn ran(sandbox: &ExecSandbox) -> Ran {
    match sandbox {
        ExecSandbox::None => Ran::Unconfined,
        ExecSandbox::Confined(spec) if spec.writable_roots.is_empty() => Ran::ReadOnly,
        ExecSandbox::Confined(_) => Ran::WorkspaceWrite,
    }
}

fn workspace_write() -> SandboxPolicy {
    SandboxPolicy::WorkspaceWrite {
        writable_roots: Vec::new(),
        network_access: false,
        exclude_tmp: false,
    }
}

/// A session in a real folder (the fake sandbox resolves real paths) with an enforcing fake
/// sandbox; returns the harness and the shell.
async fn start(
    responses: Vec<ScriptedResponse>,
    approval: AskForApproval,
    sandbox: SandboxPolicy,
    shell: Arc<FakeShell>,
    cwd: &std::path::Path,
) -> Harness {
    let mut cfg = config(approval);
    cfg.cwd = cwd.to_path_buf();
    cfg.sandbox_policy = Some(sandbox);
    let ports = Ports {
        shell: Some(shell),
        sandbox: Some(Arc::new(FakeSandbox::enforcing())),
        ..Ports::default()
    };
    Harness::start_with_services(responses, cfg, ports).await
}

/// One shell call in one session: how many approvals were asked, and where each run went.
async fn one_call(
    approval: AskForApproval,
    sandbox: SandboxPolicy,
    arguments: serde_json::Value,
    answer: ReviewDecision,
) -> (usize, Vec<Ran>) {
    let dir = tempfile::tempdir().unwrap();
    let shell = FakeShell::with(&[]);
    let mut h = start(
        vec![
            ScriptedResponse::new().tool_call("c1", "shell", arguments),
            ScriptedResponse::new().text("done", 1),
        ],
        approval,
        sandbox,
        shell.clone(),
        dir.path(),
    )
    .await;
    h.session.user_input("go").await.unwrap();
    let mut asked = 0;
    loop {
        let e = h.next().await;
        match e.msg {
            EventMsg::ExecApprovalRequest { call_id, .. } => {
                asked += 1;
                h.session.approve_exec(call_id, answer).await.unwrap();
            }
            EventMsg::TaskComplete { .. } | EventMsg::TurnAborted { .. } => break,
            _ => {}
        }
    }
    h.finish().await;
    (asked, shell.sandboxes().iter().map(ran).collect())
}

/// policy, mode, shell arguments, the user's answer, approvals asked, where the runs went.
type Case<'a> = (
    AskForApproval,
    SandboxPolicy,
    &'a serde_json::Value,
    ReviewDecision,
    usize,
    Vec<Ran>,
);

#[tokio::test]
async fn the_policy_and_mode_table_decides_who_asks_and_where_commands_run() {
    use AskForApproval::{Never, OnFailure, OnRequest, Untrusted};
    use Ran::{ReadOnly, Unconfined, WorkspaceWrite};
    let safe = serde_json::json!({"command": ["ls", "-la"]});
    let unknown = serde_json::json!({"command": ["make", "build"]});
    let escalated = serde_json::json!({
        "command": ["make", "deploy"],
        "with_escalated_permissions": true,
        "justification": "it uploads the build"
    });
    let ww = workspace_write;
    let ro = || SandboxPolicy::ReadOnly;
    let full = || SandboxPolicy::DangerFullAccess;
    let approve = ReviewDecision::Approved;
    let deny = ReviewDecision::Denied;
    #[rustfmt::skip]
    let table: Vec<Case<'_>> = vec![
        // untrusted: known read-only commands run unasked in the read-only box, whatever the mode
        (Untrusted, ww(),   &safe,      approve, 0, vec![ReadOnly]),
        (Untrusted, full(), &safe,      approve, 0, vec![ReadOnly]),
        (Untrusted, ww(),   &unknown,   approve, 1, vec![WorkspaceWrite]),
        (Untrusted, ro(),   &unknown,   approve, 1, vec![ReadOnly]),
        (Untrusted, full(), &unknown,   approve, 1, vec![Unconfined]),
        (Untrusted, ww(),   &unknown,   deny,    1, vec![]),
        (Untrusted, ww(),   &escalated, approve, 1, vec![Unconfined]),
        // on-request: sandboxed unasked; escalation asks
        (OnRequest, ww(),   &unknown,   approve, 0, vec![WorkspaceWrite]),
        (OnRequest, ro(),   &unknown,   approve, 0, vec![ReadOnly]),
        (OnRequest, ww(),   &escalated, approve, 1, vec![Unconfined]),
        (OnRequest, ww(),   &escalated, deny,    1, vec![]),
        (OnRequest, full(), &escalated, approve, 0, vec![Unconfined]),
        // on-failure: sandboxed unasked (the fake shell's command succeeds: nothing to rerun)
        (OnFailure, ww(),   &unknown,   approve, 0, vec![WorkspaceWrite]),
        (OnFailure, ww(),   &escalated, approve, 1, vec![Unconfined]),
        // never: sandboxed, never asks; escalation is refused
        (Never,     ww(),   &unknown,   approve, 0, vec![WorkspaceWrite]),
        (Never,     ro(),   &unknown,   approve, 0, vec![ReadOnly]),
        (Never,     ww(),   &escalated, approve, 0, vec![]),
        (Never,     full(), &unknown,   approve, 0, vec![Unconfined]),
    ];
    for (approval, sandbox, args, answer, want_asked, want_runs) in table {
        let label = format!("{approval:?} {sandbox:?} {args} {answer:?}");
        let (asked, runs) = one_call(approval, sandbox, args.clone(), answer).await;
        assert_eq!(asked, want_asked, "approvals asked: {label}");
        assert_eq!(runs, want_runs, "runs: {label}");
    }
}

#[tokio::test]
async fn on_failure_asks_after_a_sandbox_denial_and_the_rerun_reaches_the_model() {
    for (answer, runs, output) in [
        (
            ReviewDecision::Approved,
            vec![Ran::WorkspaceWrite, Ran::Unconfined],
            "installed for real",
        ),
        (
            ReviewDecision::Denied,
            vec![Ran::WorkspaceWrite],
            FakeSandbox::DENIAL,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let shell = FakeShell::with(&[(
            "npm install",
            FakeRun::DeniedWhenConfined("installed for real\n".to_owned()),
        )]);
        let mut h = start(
            vec![
                ScriptedResponse::new().shell_call("c1", &["npm", "install"]),
                ScriptedResponse::new().text("done", 1),
            ],
            AskForApproval::OnFailure,
            workspace_write(),
            shell.clone(),
            dir.path(),
        )
        .await;
        h.session.user_input("install").await.unwrap();
        let request = h.until("exec_approval_request").await;
        let EventMsg::ExecApprovalRequest {
            call_id, reason, ..
        } = request.msg
        else {
            unreachable!()
        };
        assert!(
            reason.as_deref().is_some_and(|r| r.contains("sandbox")),
            "{reason:?}"
        );
        assert_eq!(
            h.seen("exec_command_end").len(),
            1,
            "the first run ended first"
        );
        h.session.approve_exec(call_id, answer).await.unwrap();
        h.until_turn_ends().await;
        assert_eq!(shell.sandboxes().iter().map(ran).collect::<Vec<_>>(), runs);
        let requests = h.model.requests();
        let outputs = tool_outputs(&requests[1]);
        assert_eq!(outputs.len(), 1, "one output for the one call: {outputs:?}");
        assert!(outputs[0].contains(output), "{answer:?}: {outputs:?}");
        h.finish().await;
    }
}

#[tokio::test]
async fn an_escalation_request_shows_its_justification_and_a_denial_tells_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let shell = FakeShell::with(&[]);
    let mut h = start(
        vec![
            ScriptedResponse::new().tool_call(
                "c1",
                "shell",
                serde_json::json!({
                    "command": ["curl", "https://example.invalid"],
                    "with_escalated_permissions": true,
                    "justification": "fetch the release notes"
                }),
            ),
            ScriptedResponse::new().text("ok", 1),
        ],
        AskForApproval::OnRequest,
        workspace_write(),
        shell.clone(),
        dir.path(),
    )
    .await;
    h.session.user_input("fetch").await.unwrap();
    let request = h.until("exec_approval_request").await;
    let EventMsg::ExecApprovalRequest {
        call_id, reason, ..
    } = request.msg
    else {
        unreachable!()
    };
    assert_eq!(reason.as_deref(), Some("fetch the release notes"));
    h.session
        .approve_exec(call_id, ReviewDecision::Denied)
        .await
        .unwrap();
    h.until_turn_ends().await;
    assert!(shell.runs().is_empty(), "a denied escalation runs nothing");
    let outputs = tool_outputs(&h.model.requests()[1]);
    assert!(outputs[0].contains("rejected"), "{outputs:?}");
    h.finish().await;
}

#[tokio::test]
async fn approved_for_session_outside_the_sandbox_is_not_taken_for_a_confined_approval() {
    let dir = tempfile::tempdir().unwrap();
    let shell = FakeShell::with(&[]);
    let escalated = serde_json::json!({
        "command": ["make"], "with_escalated_permissions": true, "justification": "needs it"
    });
    let mut h = start(
        vec![
            ScriptedResponse::new().shell_call("c1", &["make"]),
            ScriptedResponse::new().tool_call("c2", "shell", escalated.clone()),
            ScriptedResponse::new().tool_call("c3", "shell", escalated),
            ScriptedResponse::new().text("ok", 1),
        ],
        AskForApproval::Untrusted,
        workspace_write(),
        shell.clone(),
        dir.path(),
    )
    .await;
    h.session.user_input("build").await.unwrap();
    // c1: confined approval for the session; c2 must still ask (it wants out), c3 must not.
    for call in ["c1", "c2"] {
        let request = h.until("exec_approval_request").await;
        let EventMsg::ExecApprovalRequest { call_id, .. } = request.msg else {
            unreachable!()
        };
        assert_eq!(call_id, call);
        h.session
            .approve_exec(call_id, ReviewDecision::ApprovedForSession)
            .await
            .unwrap();
    }
    h.until_turn_ends().await;
    assert_eq!(h.seen("exec_approval_request").len(), 2);
    assert_eq!(
        shell.sandboxes().iter().map(ran).collect::<Vec<_>>(),
        vec![Ran::WorkspaceWrite, Ran::Unconfined, Ran::Unconfined]
    );
    h.finish().await;
}

#[tokio::test]
async fn the_model_is_told_what_it_may_write_and_hears_of_a_new_policy() {
    let dir = tempfile::tempdir().unwrap();
    let shell = FakeShell::with(&[]);
    let mut h = start(
        vec![
            ScriptedResponse::new().text("one", 1),
            ScriptedResponse::new().text("two", 1),
        ],
        AskForApproval::OnRequest,
        workspace_write(),
        shell,
        dir.path(),
    )
    .await;
    h.session.user_input("first").await.unwrap();
    h.until_turn_ends().await;
    h.session
        .submit(session_core::Op::OverrideTurnContext(
            session_core::TurnContextOverride {
                sandbox_policy: Some(SandboxPolicy::ReadOnly),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    h.session.user_input("second").await.unwrap();
    h.until_turn_ends().await;
    let requests = h.model.requests();
    let env = |i: usize| -> Vec<String> {
        crate::support::user_texts(&requests[i])
            .into_iter()
            .filter(|t| t.starts_with("<environment_context>"))
            .collect()
    };
    let first = env(0);
    assert_eq!(first.len(), 1, "{first:?}");
    let real = dir.path().canonicalize().unwrap();
    assert!(
        first[0].contains("<sandbox_mode>workspace-write</sandbox_mode>"),
        "{first:?}"
    );
    assert!(
        first[0].contains(&format!("<root>{}</root>", real.display())),
        "{first:?}"
    );
    assert!(
        first[0].contains("<network_access>restricted</network_access>"),
        "{first:?}"
    );
    let second = env(1);
    assert_eq!(second.len(), 2, "the change is announced once: {second:?}");
    assert!(
        second[1].contains("<sandbox_mode>read-only</sandbox_mode>"),
        "{second:?}"
    );
    h.finish().await;
}

fn add_file(path: &str) -> serde_json::Value {
    serde_json::json!({
        "input": format!("*** Begin Patch\n*** Add File: {path}\n+content\n*** End Patch\n")
    })
}

/// One patch in a session over the in-memory file system: whether it asked, and whether it
/// was applied when the answer was `approved`.
async fn one_patch(approval: AskForApproval, sandbox: SandboxPolicy, path: &str) -> (bool, bool) {
    let mut cfg = config(approval);
    cfg.sandbox_policy = Some(sandbox);
    let ports = Ports {
        sandbox: Some(Arc::new(FakeSandbox::enforcing())),
        ..Ports::default()
    };
    let mut h = Harness::start_with_services(
        vec![
            ScriptedResponse::new().tool_call("p1", "apply_patch", add_file(path)),
            ScriptedResponse::new().text("done", 1),
        ],
        cfg,
        ports,
    )
    .await;
    h.session.user_input("patch").await.unwrap();
    let mut asked = false;
    loop {
        let e = h.next().await;
        match e.msg {
            EventMsg::ApplyPatchApprovalRequest { call_id, .. } => {
                asked = true;
                h.session
                    .approve_patch(call_id, ReviewDecision::Approved)
                    .await
                    .unwrap();
            }
            EventMsg::TaskComplete { .. } | EventMsg::TurnAborted { .. } => break,
            _ => {}
        }
    }
    let applied = !h.seen("patch_apply_begin").is_empty();
    h.finish().await;
    (asked, applied)
}

#[tokio::test]
async fn patches_inside_writable_roots_apply_unasked_and_git_or_read_only_ask() {
    use AskForApproval::{Never, OnFailure, OnRequest, Untrusted};
    let ww = workspace_write;
    #[rustfmt::skip]
    let table = [
        (OnRequest, ww(), "src/lib.rs", (false, true)),
        (OnFailure, ww(), "src/lib.rs", (false, true)),
        (Never,     ww(), "src/lib.rs", (false, true)),
        (Untrusted, ww(), "src/lib.rs", (true, true)),
        (OnRequest, ww(), ".git/hooks/pre-commit", (true, true)),
        (OnRequest, ww(), "vendor/dep/.git/config", (true, true)),
        (Never,     ww(), ".git/hooks/pre-commit", (false, false)),
        (OnRequest, ww(), "../elsewhere.txt", (true, true)),
        (Never,     ww(), "../elsewhere.txt", (false, false)),
        (OnRequest, SandboxPolicy::ReadOnly, "src/lib.rs", (true, true)),
        (Never,     SandboxPolicy::ReadOnly, "src/lib.rs", (false, false)),
    ];
    for (approval, sandbox, path, want) in table {
        let label = format!("{approval:?} {sandbox:?} {path}");
        assert_eq!(one_patch(approval, sandbox, path).await, want, "{label}");
    }
}
