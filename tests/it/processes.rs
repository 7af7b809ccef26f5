//! Real processes through the façade (`ProcessShell`, policy `never`): an interrupt kills the
//! command's whole process group and the model later sees what it printed; a normal command's
//! output and exit code reach the model.

use std::sync::Arc;

use session_core::services::{ProcessShell, ScriptedResponse};
use session_core::{AskForApproval, EventMsg, TurnAbortReason};

use crate::support::{Harness, Ports, config, eventually, tool_outputs};

async fn harness(responses: Vec<ScriptedResponse>, cwd: &std::path::Path) -> Harness {
    let mut cfg = config(AskForApproval::Never);
    cfg.cwd = cwd.to_path_buf();
    let ports = Ports {
        shell: Some(Arc::new(ProcessShell::new())),
        ..Ports::default()
    };
    Harness::start_with_services(responses, cfg, ports).await
}

/// Read output deltas of `call_id` until `n` whole lines arrived; returns them as pids.
async fn read_pids(h: &mut Harness, call_id: &str, n: usize) -> Vec<libc::pid_t> {
    let mut text = String::new();
    loop {
        let e = h.until("exec_command_output_delta").await;
        if let EventMsg::ExecCommandOutputDelta {
            call_id: c, chunk, ..
        } = &e.msg
            && c == call_id
        {
            text.push_str(&String::from_utf8_lossy(chunk));
        }
        let pids: Vec<libc::pid_t> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if text.ends_with('\n') && pids.len() >= n {
            return pids;
        }
    }
}

/// Whether `pid` is a zombie: dead, waiting only for its parent to reap it.
fn is_zombie(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// Whether no live process is left in group `pgid`: `kill(-pgid, 0)` says ESRCH, or every
/// member left is a zombie (an orphan waiting for init to reap it is dead already).
fn group_gone(pgid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks for existence; a negative pid names only that group.
    let rc = unsafe { libc::kill(-pgid, 0) };
    if rc != 0 {
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // Fields after the command name: state, ppid, pgrp, …
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(2)?.parse().ok())
                    == Some(pgid)
            })
        })
        .all(|pid| is_zombie(&pid))
}

fn pid_gone(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks for existence.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc != 0 {
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
    }
    is_zombie(&pid.to_string())
}

#[tokio::test]
async fn interrupt_kills_the_commands_process_group_and_the_model_sees_its_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(
        vec![
            ScriptedResponse::new().shell_call("c1", &["sh", "-c", "echo $$; sleep 30"]),
            ScriptedResponse::new().text("understood", 1),
        ],
        dir.path(),
    )
    .await;
    h.session.user_input("run the slow thing").await.unwrap();
    let pgid = read_pids(&mut h, "c1", 1).await[0];
    assert!(!group_gone(pgid), "the command runs until interrupted");

    h.session.interrupt().await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TurnAborted {
            reason: TurnAbortReason::Interrupted
        }
    );
    let exec_end = h
        .position(|m| matches!(m, EventMsg::ExecCommandEnd { call_id, .. } if call_id == "c1"))
        .expect("exec_command_end");
    let aborted = h
        .position(|m| matches!(m, EventMsg::TurnAborted { .. }))
        .unwrap();
    assert!(exec_end < aborted, "the command ends before the turn does");
    eventually("the process group is gone", || group_gone(pgid)).await;

    h.session.user_input("what happened?").await.unwrap();
    h.until_turn_ends().await;
    let outputs = tool_outputs(&h.model.requests()[1]);
    assert!(
        outputs[0].starts_with("aborted by user after"),
        "{outputs:?}"
    );
    assert!(outputs[0].contains(&pgid.to_string()), "{outputs:?}");
    h.finish().await;
}

#[tokio::test]
async fn interrupt_also_kills_background_processes_of_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(
        vec![ScriptedResponse::new().shell_call(
            "c1",
            &["sh", "-c", "echo $$; sleep 100 & echo $!; sleep 100"],
        )],
        dir.path(),
    )
    .await;
    h.session.user_input("start things").await.unwrap();
    let pids = read_pids(&mut h, "c1", 2).await;
    let (shell_pid, background_pid) = (pids[0], pids[1]);
    assert!(!pid_gone(background_pid));

    h.session.interrupt().await.unwrap();
    let end = h.until_turn_ends().await;
    assert!(matches!(end.msg, EventMsg::TurnAborted { .. }));
    eventually("both processes are gone", || {
        pid_gone(shell_pid) && pid_gone(background_pid)
    })
    .await;
    eventually("the process group is gone", || group_gone(shell_pid)).await;
    h.finish().await;
}

#[tokio::test]
async fn a_commands_output_and_exit_code_reach_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(
        vec![
            ScriptedResponse::new().shell_call(
                "c1",
                &[
                    "sh",
                    "-c",
                    "echo to-stdout; echo to-stderr 1>&2; pwd -P; exit 3",
                ],
            ),
            ScriptedResponse::new().text("it failed", 1),
        ],
        dir.path(),
    )
    .await;
    h.session.user_input("try it").await.unwrap();
    let end = h.until_turn_ends().await;
    assert!(matches!(end.msg, EventMsg::TaskComplete { .. }));
    let exec_end = h.seen("exec_command_end")[0].msg.clone();
    let EventMsg::ExecCommandEnd {
        exit_code,
        stdout,
        stderr,
        ..
    } = exec_end
    else {
        unreachable!()
    };
    assert_eq!(exit_code, 3);
    assert!(stdout.starts_with("to-stdout\n"), "{stdout:?}");
    assert_eq!(stderr, "to-stderr\n");
    let output = &tool_outputs(&h.model.requests()[1])[0];
    assert!(output.starts_with("Exit code: 3\n"), "{output}");
    assert!(output.contains("to-stdout"), "{output}");
    assert!(output.contains("to-stderr"), "{output}");
    let real_dir = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        output.contains(&real_dir.display().to_string()),
        "the command ran in the session's cwd: {output}"
    );
    h.finish().await;
}

/// Bytes the model may see of one output (the core's budget, with room for its marker line).
const MODEL_BUDGET: usize = 10 * 1024;

#[tokio::test]
async fn a_flood_of_output_streams_a_bounded_prefix_and_the_model_sees_head_and_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(
        vec![
            ScriptedResponse::new().shell_call(
                "c1",
                &[
                    "sh",
                    "-c",
                    "echo first; yes | head -c 50000000; echo; echo last",
                ],
            ),
            ScriptedResponse::new().text("ok", 1),
        ],
        dir.path(),
    )
    .await;
    h.session.user_input("flood").await.unwrap();
    h.until_turn_ends().await;
    let streamed: usize = h
        .seen("exec_command_output_delta")
        .iter()
        .map(|e| match &e.msg {
            EventMsg::ExecCommandOutputDelta { chunk, .. } => chunk.len(),
            _ => 0,
        })
        .sum();
    assert!(
        streamed <= 1024 * 1024 + 64 * 1024,
        "streamed {streamed} bytes of a 50 MB output"
    );
    let output = &tool_outputs(&h.model.requests()[1])[0];
    assert!(output.len() <= MODEL_BUDGET, "{} bytes", output.len());
    assert!(output.starts_with("Exit code: 0\n"), "{output}");
    assert!(output.contains("first\n"), "the head is kept");
    assert!(output.ends_with("last\n"), "the tail is kept: {output}");
    assert!(output.contains("omitted ...]"), "{output}");
    h.finish().await;
}

#[tokio::test]
async fn a_failed_spawn_tells_the_model_why_within_the_budget() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(1024 * 1024);
    let mut h = harness(
        vec![
            ScriptedResponse::new().shell_call("c1", &["echo", &huge]),
            ScriptedResponse::new().shell_call("c2", &["definitely-not-a-program-xyz"]),
            ScriptedResponse::new().text("ok", 1),
        ],
        dir.path(),
    )
    .await;
    h.session.user_input("try").await.unwrap();
    h.until_turn_ends().await;
    let requests = h.model.requests();
    let too_long = &tool_outputs(&requests[1])[0];
    assert!(too_long.len() <= MODEL_BUDGET, "{} bytes", too_long.len());
    assert!(too_long.contains("argument list too long"), "{too_long}");
    assert!(too_long.contains("os error 7"), "{too_long}");
    let missing = &tool_outputs(&requests[2])[1];
    assert!(missing.contains("program not found"), "{missing}");
    assert!(missing.contains("os error 2"), "{missing}");
    h.finish().await;
}

#[tokio::test]
async fn an_interrupted_flood_leaves_the_model_a_bounded_partial_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(
        vec![
            ScriptedResponse::new().shell_call("c1", &["sh", "-c", "echo start; exec yes"]),
            ScriptedResponse::new().text("understood", 1),
        ],
        dir.path(),
    )
    .await;
    h.session.user_input("flood forever").await.unwrap();
    // Interrupt once it has printed many times the model's budget (and less than the core
    // streams as events, so the deltas keep coming until then).
    let mut printed = 0;
    while printed < 50 * MODEL_BUDGET {
        if let EventMsg::ExecCommandOutputDelta { chunk, .. } =
            h.until("exec_command_output_delta").await.msg
        {
            printed += chunk.len();
        }
    }
    h.session.interrupt().await.unwrap();
    h.until_turn_ends().await;
    h.session.user_input("and?").await.unwrap();
    h.until_turn_ends().await;
    let output = &tool_outputs(&h.model.requests()[1])[0];
    assert!(output.starts_with("aborted by user after"), "{output}");
    assert!(output.len() <= MODEL_BUDGET, "{} bytes", output.len());
    assert!(output.contains("start\n"), "{output}");
    h.finish().await;
}
