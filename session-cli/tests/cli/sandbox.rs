//! `session sandbox -- CMD`: one command in the configured (or given) box, with its own exit
//! status and output, on the real kernel.

use crate::support::Sandbox;

#[test]
fn sandbox_runs_one_command_with_its_status_and_output() {
    let sandbox = Sandbox::new();
    let out = sandbox.run(
        &[
            "sandbox",
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ],
        None,
    );
    assert_eq!(out.code, Some(3), "{out:?}");
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
}

#[test]
fn sandbox_modes_decide_what_the_command_may_write() {
    let sandbox = Sandbox::new();
    let outside = sandbox.home.path().join("outside.txt");
    let keep_tmp_out = ["-c", "sandbox_workspace_write.exclude_tmp=true"];

    // The default (workspace-write): the working directory, not elsewhere.
    let mut args: Vec<&str> = keep_tmp_out.to_vec();
    args.extend(["sandbox", "--", "touch", "inside.txt"]);
    let inside = sandbox.run(&args, None);
    assert_eq!(inside.code, Some(0), "{inside:?}");
    assert!(sandbox.cwd().join("inside.txt").exists());
    let target = outside.display().to_string();
    let mut args: Vec<&str> = keep_tmp_out.to_vec();
    args.extend(["sandbox", "--", "touch", &target]);
    let denied = sandbox.run(&args, None);
    assert_eq!(denied.code, Some(1), "{denied:?}");
    assert!(denied.stderr.contains("Permission denied"), "{denied:?}");
    assert!(!outside.exists());

    // read-only: not even the working directory.
    let ro = sandbox.run(
        &["sandbox", "--mode", "read-only", "--", "touch", "ro.txt"],
        None,
    );
    assert_eq!(ro.code, Some(1), "{ro:?}");
    assert!(!sandbox.cwd().join("ro.txt").exists());

    // danger-full-access: anywhere.
    let full = sandbox.run(
        &[
            "sandbox",
            "--mode",
            "danger-full-access",
            "--",
            "touch",
            &target,
        ],
        None,
    );
    assert_eq!(full.code, Some(0), "{full:?}");
    assert!(outside.exists());

    let bad = sandbox.run(&["sandbox", "--mode", "yolo", "--", "true"], None);
    assert_eq!(bad.code, Some(1), "{bad:?}");
    assert!(
        bad.stderr.contains("unknown sandbox mode `yolo`"),
        "{bad:?}"
    );
}
