//! Tests of policy resolution and denial recognition.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use session_state::SandboxPolicy;

use super::{ExecSandbox, NetworkAccess, find_git_dirs, looks_like_denial};
use crate::shell::{ExecEnd, ExecOutput};

fn workspace_write(roots: Vec<PathBuf>, network: bool, exclude_tmp: bool) -> SandboxPolicy {
    SandboxPolicy::WorkspaceWrite {
        writable_roots: roots,
        network_access: network,
        exclude_tmp,
    }
}

#[test]
fn danger_full_access_is_not_confined_and_read_only_writes_nowhere() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        ExecSandbox::from_policy(&SandboxPolicy::DangerFullAccess, dir.path(), &[]),
        ExecSandbox::None
    );
    let ExecSandbox::Confined(spec) =
        ExecSandbox::from_policy(&SandboxPolicy::ReadOnly, dir.path(), &[])
    else {
        panic!("read-only must confine");
    };
    assert!(spec.writable_roots.is_empty());
    assert_eq!(spec.network, NetworkAccess::Restricted);
}

#[test]
fn workspace_write_resolves_roots_tmp_git_and_the_protected_home() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("repo");
    std::fs::create_dir_all(cwd.join(".git")).unwrap();
    std::fs::create_dir_all(cwd.join("vendor/lib/.git")).unwrap();
    std::fs::create_dir_all(cwd.join("node_modules/x/.git")).unwrap();
    std::fs::create_dir_all(dir.path().join("extra")).unwrap();
    let home = cwd.join(".session-home");
    std::fs::create_dir_all(&home).unwrap();
    let policy = workspace_write(
        vec![PathBuf::from("../extra"), PathBuf::from("missing")],
        true,
        false,
    );
    let ExecSandbox::Confined(spec) =
        ExecSandbox::from_policy(&policy, &cwd, std::slice::from_ref(&home))
    else {
        panic!("workspace-write must confine");
    };
    let real = |p: PathBuf| p.canonicalize().unwrap();
    assert_eq!(spec.writable_roots[0], real(cwd.clone()));
    assert_eq!(spec.writable_roots[1], real(dir.path().join("extra")));
    assert!(spec.writable_roots.contains(&real(PathBuf::from("/tmp"))));
    assert!(!spec.writable_roots.iter().any(|r| r.ends_with("missing")));
    assert!(spec.read_only.contains(&real(cwd.join(".git"))));
    assert!(spec.read_only.contains(&real(cwd.join("vendor/lib/.git"))));
    assert!(
        !spec
            .read_only
            .iter()
            .any(|p| p.starts_with(real(cwd.join("node_modules"))))
    );
    assert!(spec.read_only.contains(&real(home)));
    assert_eq!(spec.network, NetworkAccess::Enabled);

    let ExecSandbox::Confined(no_tmp) =
        ExecSandbox::from_policy(&workspace_write(Vec::new(), false, true), &cwd, &[])
    else {
        panic!("workspace-write must confine");
    };
    assert_eq!(no_tmp.writable_roots, vec![real(cwd)]);
}

#[test]
fn a_git_file_protects_the_directory_it_points_at() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join("store/worktree-git")).unwrap();
    std::fs::create_dir_all(root.join("wt")).unwrap();
    std::fs::write(root.join("wt/.git"), "gitdir: ../store/worktree-git\n").unwrap();
    let found = find_git_dirs(&root);
    assert!(found.contains(&root.join("wt/.git")), "{found:?}");
    assert!(
        found.contains(&root.join("store/worktree-git")),
        "{found:?}"
    );
}

#[test]
fn denials_are_recognized_by_their_error_messages_only_on_failure() {
    let out = |code: i32, text: &str, end: ExecEnd| ExecOutput {
        exit_code: code,
        stdout: String::new(),
        stderr: text.to_owned(),
        aggregated_output: text.to_owned(),
        duration: Duration::ZERO,
        end,
    };
    for (code, text, end, want) in [
        (
            1,
            "touch: cannot touch '/etc/x': Permission denied",
            ExecEnd::Exited,
            true,
        ),
        (
            1,
            "sh: 1: cannot create x: Read-only file system",
            ExecEnd::Exited,
            true,
        ),
        (7, "socket: Operation not permitted", ExecEnd::Exited, true),
        (
            0,
            "Permission denied (printed by a passing command)",
            ExecEnd::Exited,
            false,
        ),
        (1, "no such file", ExecEnd::Exited, false),
        (124, "Permission denied", ExecEnd::TimedOut, false),
    ] {
        assert_eq!(looks_like_denial(&out(code, text, end)), want, "{text}");
    }
}
