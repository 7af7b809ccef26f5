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
    Sandbox, SandboxSpec, Shell, ShellError,
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

fn read_only() -> ExecSandbox {
    ExecSandbox::from_policy(&SandboxPolicy::ReadOnly, Path::new("/"), &[])
}

fn with_network(sandbox: ExecSandbox) -> ExecSandbox {
    match sandbox {
        ExecSandbox::Confined(spec) => ExecSandbox::Confined(SandboxSpec {
            network: NetworkAccess::Enabled,
            ..spec
        }),
        ExecSandbox::None => ExecSandbox::None,
    }
}

/// A workspace folder outside `/tmp` (so `/tmp` being writable or not never helps a test).
fn workspace() -> tempfile::TempDir {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tempfile::tempdir_in(base).unwrap()
}

#[tokio::test]
async fn writes_inside_the_workspace_succeed_and_outside_fail_with_a_permission_error() {
    require_sandbox();
    let ws = workspace();
    let outside = workspace();
    let target = outside.path().join("escaped");
    let script = format!(
        "echo in > inside.txt && cat inside.txt && mkdir -p sub/deep && mv inside.txt sub/deep/ \
         && ls sub/deep; echo out > {0}; echo status=$?; ln -s {0} link 2>/dev/null; \
         echo via-link > link; echo link-status=$?",
        target.display()
    );
    let out = run(request(ws.path(), &script, workspace_write(ws.path()))).await;
    assert!(out.stdout.contains("in\ninside.txt\n"), "{out:?}");
    assert!(out.stdout.contains("status=2"), "{out:?}");
    assert!(out.stdout.contains("link-status=2"), "{out:?}");
    assert!(out.stderr.contains("Permission denied"), "{out:?}");
    assert!(!target.exists(), "a write escaped the workspace");
    assert!(ws.path().join("sub/deep/inside.txt").exists());
}

#[tokio::test]
async fn read_only_writes_nowhere_but_dev_null_and_reads_everywhere() {
    require_sandbox();
    let ws = workspace();
    let script = "cat /etc/passwd >/dev/null && echo read-ok; echo x > /dev/null && echo null-ok; \
                  touch here; echo touch=$?; touch /tmp/.probe-$$ 2>/dev/null; echo tmp=$?";
    let out = run(request(ws.path(), script, read_only())).await;
    for want in ["read-ok", "null-ok", "touch=1", "tmp=1"] {
        assert!(out.stdout.contains(want), "{want}: {out:?}");
    }
    assert!(!ws.path().join("here").exists());
}

#[tokio::test]
async fn git_and_the_session_home_stay_read_only_inside_a_writable_root() {
    require_sandbox();
    let ws = workspace();
    std::fs::create_dir_all(ws.path().join(".git/hooks")).unwrap();
    std::fs::write(ws.path().join(".git/config"), "[core]\n").unwrap();
    std::fs::create_dir_all(ws.path().join("vendor/dep/.git")).unwrap();
    let home = ws.path().join(".session");
    std::fs::create_dir_all(&home).unwrap();
    let sandbox = ExecSandbox::from_policy(
        &SandboxPolicy::WorkspaceWrite {
            writable_roots: Vec::new(),
            network_access: false,
            exclude_tmp: true,
        },
        ws.path(),
        std::slice::from_ref(&home),
    );
    let script = "echo evil > .git/hooks/pre-commit; echo hook=$?; echo x >> .git/config; \
                  echo config=$?; rm -rf .git; echo rm=$?; mv .git moved; echo mv=$?; \
                  echo x > vendor/dep/.git/HEAD; echo nested=$?; echo x > .session/config.toml; \
                  echo home=$?; echo fine > ok.txt; echo ok=$?";
    let out = run(request(ws.path(), script, sandbox)).await;
    for want in ["hook=2", "config=2", "nested=2", "home=2", "ok=0"] {
        assert!(out.stdout.contains(want), "{want}: {out:?}");
    }
    assert!(
        !out.stdout.contains("rm=0") && !out.stdout.contains("mv=0"),
        "{out:?}"
    );
    assert!(!ws.path().join(".git/hooks/pre-commit").exists());
    assert_eq!(
        std::fs::read_to_string(ws.path().join(".git/config")).unwrap(),
        "[core]\n"
    );
    assert!(ws.path().join(".git").is_dir());
    assert!(!home.join("config.toml").exists());
}

/// A loopback listener that counts the connections it accepted.
fn listener() -> (std::net::TcpListener, u16) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[tokio::test]
async fn connect_to_loopback_fails_sandboxed_and_works_with_network_or_full_access() {
    require_sandbox();
    let ws = workspace();
    let (_listener, port) = listener();
    // bash's /dev/tcp needs socket(AF_INET): refused by the filter, allowed without it.
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected");
    let cmd = |sandbox| ExecRequest {
        argv: vec!["bash".to_owned(), "-c".to_owned(), script.clone()],
        ..request(ws.path(), "", sandbox)
    };
    let denied = run(cmd(workspace_write(ws.path()))).await;
    assert_ne!(denied.exit_code, 0, "{denied:?}");
    assert!(!denied.stdout.contains("connected"), "{denied:?}");
    assert!(
        denied.stderr.contains("Operation not permitted"),
        "{denied:?}"
    );
    let ro = run(cmd(read_only())).await;
    assert!(!ro.stdout.contains("connected"), "{ro:?}");
    let networked = run(cmd(with_network(workspace_write(ws.path())))).await;
    assert!(networked.stdout.contains("connected"), "{networked:?}");
    let full = run(cmd(ExecSandbox::None)).await;
    assert!(full.stdout.contains("connected"), "{full:?}");
    // Unix sockets stay usable: local tools rely on them.
    let unix = run(request(
        ws.path(),
        "python3 -c 'import socket; a,b=socket.socketpair(); a.send(b\"u\"); print(b.recv(1))'",
        workspace_write(ws.path()),
    ))
    .await;
    assert!(unix.stdout.contains("b'u'"), "{unix:?}");
}

#[tokio::test]
async fn the_session_is_invisible_and_cannot_be_signalled_or_read() {
    require_sandbox();
    let ws = workspace();
    let me = std::process::id();
    let script = format!(
        "cat /proc/{me}/environ >/dev/null 2>&1; echo environ=$?; kill -0 {me} 2>/dev/null; \
         echo kill=$?; test -e /proc/{me}; echo visible=$?; echo self=$$; ls /proc | grep -c '^[0-9]'"
    );
    let out = run(request(ws.path(), &script, workspace_write(ws.path()))).await;
    assert!(out.stdout.contains("environ=1"), "{out:?}");
    // PID 1 of the namespace is a fork of the session (its memory holds what the session
    // holds): the command must not read it either.
    let init = run(request(
        ws.path(),
        "cat /proc/1/environ >/dev/null 2>&1; echo environ=$?; \
         cat /proc/1/maps >/dev/null 2>&1; echo maps=$?; kill -9 1 2>/dev/null; echo alive",
        workspace_write(ws.path()),
    ))
    .await;
    assert!(init.stdout.contains("environ=1"), "{init:?}");
    assert!(init.stdout.contains("maps=1"), "{init:?}");
    assert!(init.stdout.contains("alive"), "{init:?}");
    assert!(out.stdout.contains("kill=1"), "{out:?}");
    // In its own pid namespace the command is a small number, not the session's neighbour.
    let pid: u32 = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("self="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(pid < 10, "{out:?}");
    let ptrace = run(request(
        ws.path(),
        &format!("python3 -c 'import ctypes; print(ctypes.CDLL(None).ptrace(16, {me}, 0, 0))'"),
        workspace_write(ws.path()),
    ))
    .await;
    assert!(ptrace.stdout.contains("-1"), "{ptrace:?}");
}

/// Whether a process whose command line contains `marker` is still alive, seen from outside.
fn alive(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(marker))
            .unwrap_or(false)
    })
}

async fn gone(marker: &str) -> bool {
    for _ in 0..100 {
        if !alive(marker) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_setsid_daemon_dies_when_the_call_ends_and_when_it_is_interrupted() {
    require_sandbox();
    let ws = workspace();
    // A distinct sleep length marks this test's processes.
    let marker = format!("{}.5", 4000 + std::process::id() % 1000);
    let script = format!("setsid sleep {marker} >/dev/null 2>&1 < /dev/null & echo started");
    let out = run(request(ws.path(), &script, workspace_write(ws.path()))).await;
    assert!(out.stdout.contains("started"), "{out:?}");
    assert!(gone(&marker).await, "a daemon outlived its call");

    let marker = format!("{}.5", 5000 + std::process::id() % 1000);
    let script = format!("setsid sleep {marker} >/dev/null 2>&1 < /dev/null & sleep 30");
    let cancel = CancelToken::new();
    let running = tokio::spawn({
        let cancel = cancel.clone();
        let req = request(ws.path(), &script, workspace_write(ws.path()));
        async move { ProcessShell::new().run(req, None, cancel).await }
    });
    for _ in 0..100 {
        if alive(&marker) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(alive(&marker), "the daemon never started");
    cancel.cancel();
    let out = tokio::time::timeout(LIMIT, running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(out.end, ExecEnd::Cancelled);
    assert!(gone(&marker).await, "a daemon outlived the interrupt");
}

#[tokio::test]
async fn exit_codes_and_output_are_the_same_as_unsandboxed() {
    require_sandbox();
    let ws = workspace();
    for script in [
        "echo out; echo err >&2; exit 3",
        "kill -9 $$",
        "kill -TERM $$",
        "printf 'a\\nb\\n'; true",
        "sh -c 'exit 42'",
        "sleep 0.1 & wait; echo waited",
    ] {
        let plain = run(request(ws.path(), script, ExecSandbox::None)).await;
        let boxed = run(request(ws.path(), script, workspace_write(ws.path()))).await;
        assert_eq!(
            boxed.exit_code, plain.exit_code,
            "{script}: {boxed:?} vs {plain:?}"
        );
        assert_eq!(boxed.stdout, plain.stdout, "{script}");
        assert_eq!(boxed.stderr, plain.stderr, "{script}");
    }
}

#[tokio::test]
async fn a_missing_program_or_workdir_fails_to_start_with_its_cause() {
    require_sandbox();
    let ws = workspace();
    let cause = |err: ShellError| {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    };
    let missing = ExecRequest {
        argv: vec!["definitely-not-a-program-xyz".to_owned()],
        ..request(ws.path(), "", workspace_write(ws.path()))
    };
    let err = ProcessShell::new()
        .run(missing, None, CancelToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, ShellError::Spawn { .. }), "{err:?}");
    assert!(cause(err).contains("program not found"));
    let nowhere = request(
        &ws.path().join("missing"),
        "true",
        workspace_write(ws.path()),
    );
    let err = ProcessShell::new()
        .run(nowhere, None, CancelToken::new())
        .await
        .unwrap_err();
    let text = cause(err);
    assert!(text.contains("working directory"), "{text}");
    let huge = ExecRequest {
        argv: vec!["echo".to_owned(), "x".repeat(4 * 1024 * 1024)],
        ..request(ws.path(), "", workspace_write(ws.path()))
    };
    let err = ProcessShell::new()
        .run(huge, None, CancelToken::new())
        .await
        .unwrap_err();
    let text = cause(err);
    assert!(text.contains("argument list too long"), "{text}");
}

// The syscall numbers in the script are x86-64's.
#[cfg(target_arch = "x86_64")]
#[tokio::test]
async fn terminal_injection_and_kernel_interfaces_are_refused() {
    require_sandbox();
    let ws = workspace();
    let script = "python3 - <<'EOF'\n\
import ctypes, os\n\
libc = ctypes.CDLL(None, use_errno=True)\n\
errno_of = lambda rc: 0 if rc == 0 else ctypes.get_errno()\n\
print('tiocsti', errno_of(libc.ioctl(0, 0x5412, ctypes.c_char_p(b'x'))))\n\
print('io_uring', errno_of(libc.syscall(425, 1, None)))\n\
print('bpf', errno_of(libc.syscall(321, 0, None, 0)))\n\
print('keyctl', errno_of(libc.syscall(250, 0, 0, 0, 0, 0)))\n\
EOF";
    let out = run(request(ws.path(), script, workspace_write(ws.path()))).await;
    for name in ["tiocsti", "io_uring", "bpf", "keyctl"] {
        assert!(
            out.stdout.contains(&format!("{name} 1")),
            "{name} must fail with EPERM: {out:?}"
        );
    }
}
