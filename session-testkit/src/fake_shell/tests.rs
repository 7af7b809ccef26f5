//! Tests of the fake shell: answers from its plan, records runs and their confinement, and keeps
//! the port's contract on cancel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use session_services::{ExecEnd, ExecRequest, ExecSandbox, FakeSandbox, Shell};
use session_state::{CancelToken, SandboxPolicy};
use tokio::sync::mpsc;

use super::{FakeRun, FakeShell};

fn request(argv: &[&str], sandbox: ExecSandbox) -> ExecRequest {
    ExecRequest {
        argv: argv.iter().map(|a| (*a).to_owned()).collect(),
        cwd: "/work".into(),
        env: HashMap::new(),
        timeout: None,
        sandbox,
    }
}

#[tokio::test]
async fn an_unplanned_command_prints_that_it_ran_and_is_recorded() {
    let shell = FakeShell::with(&[]);
    let (tx, mut rx) = mpsc::channel(4);
    let out = shell
        .run(
            request(&["ls", "-l"], ExecSandbox::None),
            Some(tx),
            CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.aggregated_output, "ran ls -l\n");
    assert_eq!(rx.recv().await.unwrap().bytes, b"ran ls -l\n");
    assert_eq!(shell.runs(), vec![vec!["ls".to_owned(), "-l".to_owned()]]);
    assert_eq!(shell.sandboxes(), vec![ExecSandbox::None]);
}

#[tokio::test]
async fn a_planned_output_comes_with_its_exit_code() {
    let shell = FakeShell::with(&[("make", FakeRun::Output("error\n".into(), 2))]);
    let out = shell
        .run(
            request(&["make"], ExecSandbox::None),
            None,
            CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!((out.exit_code, out.stdout.as_str()), (2, "error\n"));
    assert_eq!(out.end, ExecEnd::Exited);
}

#[tokio::test]
async fn a_hanging_command_runs_until_cancelled() {
    let shell = FakeShell::with(&[("serve", FakeRun::Hang("listening\n".into()))]);
    let cancel = CancelToken::new();
    let (tx, mut rx) = mpsc::channel(4);
    let run = tokio::spawn({
        let shell = shell.clone();
        let cancel = cancel.clone();
        async move {
            shell
                .run(request(&["serve"], ExecSandbox::None), Some(tx), cancel)
                .await
        }
    });
    // The output arrives before the end: the command is running.
    assert_eq!(rx.recv().await.unwrap().bytes, b"listening\n");
    cancel.cancel();
    let out = run.await.unwrap().unwrap();
    assert_eq!(out.end, ExecEnd::Cancelled);
    assert_eq!(out.aggregated_output, "listening\n");
}

#[tokio::test]
async fn a_denial_happens_only_when_confined() {
    let shell = FakeShell::with(&[("touch x", FakeRun::DeniedWhenConfined("ok\n".into()))]);
    let confined = ExecSandbox::from_policy(&SandboxPolicy::ReadOnly, "/work".as_ref(), &[]);
    assert!(confined.is_confined());
    let denied = shell
        .run(request(&["touch", "x"], confined), None, CancelToken::new())
        .await
        .unwrap();
    assert_eq!(denied.exit_code, 1);
    assert!(denied.stdout.contains(FakeSandbox::DENIAL));
    let allowed = shell
        .run(
            request(&["touch", "x"], ExecSandbox::None),
            None,
            CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!((allowed.exit_code, allowed.stdout.as_str()), (0, "ok\n"));
}
