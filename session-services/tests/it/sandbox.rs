//! Tests of the kernel sandbox through the real `ProcessShell`, on the real kernel.
//!
//! Each test needs Landlock, seccomp and user namespaces; where one is missing the test fails
//! and says which (it never passes by skipping).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use session_services::{
    ExecEnd, ExecOutput, ExecRequest, ExecSandbox, LinuxSandbox, NetworkAccess, ProcessShell,
    Sandbox, SandboxSpec, Shell,
};
use session_state::{CancelToken, SandboxPolicy};

const LIMIT: Duration = Duration::from_secs(20);

/// Fail loudly when the kernel cannot confine commands.
fn require_sandbox() {
    let support = LinuxSandbox::new().support();
    assert!(
        support.is_enforced(),
        "the kernel sandbox is required by this test: {support:?}"
    );
    if let session_services::SandboxSupport::Enforced { description } = &support {
        assert!(
            description.contains("namespaces") && !description.contains("no namespaces"),
            "user, mount and pid namespaces are required by this test: {description}"
        );
    }
}

fn workspace_write(cwd: &Path) -> ExecSandbox {
    ExecSandbox::from_policy(
        &SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access: false,
            exclude_tmp: true,
        },
        cwd,
        &[],
    )
}

fn request(cwd: &Path, script: &str, sandbox: ExecSandbox) -> ExecRequest {
    ExecRequest {
        argv: vec!["sh".to_owned(), "-c".to_owned(), script.to_owned()],
        cwd: cwd.to_path_buf(),
        env: HashMap::new(),
        timeout: Some(LIMIT),
        sandbox,
    }
}

async fn run(request: ExecRequest) -> ExecOutput {
    tokio::time::timeout(
        LIMIT,
        ProcessShell::new().run(request, None, CancelToken::new()),
    )
    .await
    .expect("command did not finish in time")
    .expect("command did not start")
}

#[tokio::test]
async fn smoke() {
    require_sandbox();
    let dir = tempfile::tempdir().unwrap();
    let out = run(request(dir.path(), "echo hi; id; echo x > inside && cat inside; echo y > /etc/nope; ls /proc | head; exit 3", workspace_write(dir.path()))).await;
    eprintln!("{out:?}");
    assert_eq!(out.exit_code, 3);
}
