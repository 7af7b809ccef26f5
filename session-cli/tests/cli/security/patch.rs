//! `apply_patch` stays inside the working directory (through `..`, absolute paths and
//! symlinks) unless the user approves, and under `never` it does not write outside at all.
//!
//! The session runs in `<tmp>/work`; `<tmp>/outside` is where an escape would land.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use serde_json::json;
use session_core::EventMsg;
use session_services::ScriptedResponse;

use super::{call_id, call_ids_of};
use crate::crash::script_args;
use crate::support::{Sandbox, events_of, is};

/// `work` (the session's directory) and `outside` side by side.
struct Layout {
    sandbox: Sandbox,
    work: PathBuf,
    outside: PathBuf,
}

impl Layout {
    fn new() -> Self {
        let sandbox = Sandbox::new();
        let work = sandbox.cwd().join("work");
        let outside = sandbox.cwd().join("outside");
        std::fs::create_dir(&work).unwrap();
        std::fs::create_dir(&outside).unwrap();
        // A symlink inside the working directory to a folder outside it.
        symlink(&outside, work.join("link")).unwrap();
        Self {
            sandbox,
            work,
            outside,
        }
    }
}

fn add_file(path: &str) -> String {
    format!("*** Begin Patch\n*** Add File: {path}\n+escaped\n*** End Patch\n")
}

fn patch_call(call: &str, patch: String) -> ScriptedResponse {
    ScriptedResponse::new().tool_call(call, "apply_patch", json!({ "input": patch }))
}

fn patch_approval(id: &str, call: &str, decision: &str) -> String {
    json!({"id": id, "op": {"type": "patch_approval", "id": call, "decision": decision}})
        .to_string()
}

/// Patches that write outside `work`, by call id, with where they would write.
fn escapes(layout: &Layout) -> Vec<(&'static str, String, PathBuf)> {
    let abs = layout.outside.join("absolute.txt");
    vec![
        (
            "patch_dotdot",
            add_file("../escape.txt"),
            layout.sandbox.cwd().join("escape.txt"),
        ),
        (
            "patch_symlink",
            add_file("link/escape.txt"),
            layout.outside.join("escape.txt"),
        ),
        ("patch_absolute", add_file(&abs.display().to_string()), abs),
    ]
}

#[test]
fn on_request_asks_before_a_patch_writes_outside_the_working_directory() {
    let layout = Layout::new();
    let escapes = escapes(&layout);
    let mut responses: Vec<ScriptedResponse> = escapes
        .iter()
        .map(|(call, patch, _)| patch_call(call, patch.clone()))
        .collect();
    responses.push(patch_call("patch_inside", add_file("inside.txt")));
    responses.push(patch_call("patch_approved", add_file("../approved.txt")));
    responses.push(ScriptedResponse::new().text("Patched what I could.", 1));
    let mut args = script_args(&layout.sandbox, "on_request", responses);
    // The test's folders live in /tmp: keep it out of the writable roots.
    args.extend(
        [
            "-c",
            "approval_policy=\"on-request\"",
            "-c",
            "sandbox_workspace_write.exclude_tmp=true",
            "proto",
        ]
        .map(str::to_owned),
    );
    let mut command = layout.sandbox.command_in(&layout.work, &args);
    command.stdin(std::process::Stdio::piped());
    let mut proto = crate::support::Running::start(command);
    proto.send(
        &json!({"id": "t", "op": {"type": "user_input", "items": [{"type": "text", "text": "patch"}]}})
            .to_string(),
    );
    let mut events = Vec::new();
    for (call, _, target) in &escapes {
        let (request, before) = proto.expect_event(is("apply_patch_approval_request"));
        events.extend(before);
        assert_eq!(call_id(&request).as_deref(), Some(*call));
        let EventMsg::ApplyPatchApprovalRequest { reason, .. } = &request.msg else {
            unreachable!()
        };
        assert!(
            reason.as_deref().is_some_and(|r| r.contains("outside")),
            "{request:?}"
        );
        assert!(!target.exists(), "{call} wrote before the answer");
        proto.send(&patch_approval(&format!("deny-{call}"), call, "denied"));
        events.push(request);
    }
    // The control: the same escape, approved, is written.
    let (request, before) = proto.expect_event(is("apply_patch_approval_request"));
    events.extend(before);
    assert_eq!(call_id(&request).as_deref(), Some("patch_approved"));
    proto.send(&patch_approval("allow", "patch_approved", "approved"));
    let (_, before) = proto.expect_event(is("task_complete"));
    events.extend(before);
    proto.close_stdin();
    let (_, before) = proto.expect_event(is("shutdown_complete"));
    events.extend(before);
    let out = proto.wait();
    assert_eq!(out.code, Some(0), "{out:?}");

    for (call, _, target) in &escapes {
        assert!(
            !target.exists(),
            "{call} wrote {} after a denial",
            target.display()
        );
    }
    assert!(
        std::fs::read_dir(&layout.outside).unwrap().next().is_none(),
        "nothing was written outside"
    );
    assert_eq!(
        call_ids_of(&events, "patch_apply_begin"),
        ["patch_inside", "patch_approved"],
        "only the patch inside and the approved one were applied"
    );
    assert_eq!(
        std::fs::read_to_string(layout.work.join("inside.txt")).unwrap(),
        "escaped\n"
    );
    assert!(layout.sandbox.cwd().join("approved.txt").exists());
    assert!(events.iter().all(|e| e.msg.kind() != "error"), "{events:?}");
}

fn recording_text(sandbox: &Sandbox) -> String {
    let recordings = sandbox.recordings();
    assert_eq!(recordings.len(), 1);
    std::fs::read_to_string(&recordings[0]).unwrap()
}

/// Every entry under `dir`, recursively.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(entries(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn never_rejects_patches_that_write_outside_the_working_directory() {
    let layout = Layout::new();
    let (work, outside) = (&layout.work, &layout.outside);
    std::fs::write(outside.join("existing.txt"), "keep\n").unwrap();
    std::fs::write(layout.sandbox.cwd().join("victim.txt"), "keep\n").unwrap();
    std::fs::write(work.join("movable.txt"), "keep\n").unwrap();
    symlink(outside.join("existing.txt"), work.join("file_link")).unwrap();
    // Symlinks to things that do not exist yet.
    symlink(outside.join("new_dir"), work.join("dangling_dir")).unwrap();
    symlink(outside.join("new_file.txt"), work.join("dangling_file")).unwrap();

    let mut patches: Vec<(&str, String)> = escapes(&layout)
        .into_iter()
        .map(|(call, patch, _)| (call, patch))
        .collect();
    patches.extend([
        (
            "patch_update_link",
            "*** Begin Patch\n*** Update File: file_link\n@@\n-keep\n+changed\n*** End Patch\n"
                .to_owned(),
        ),
        (
            "patch_delete",
            "*** Begin Patch\n*** Delete File: ../victim.txt\n*** End Patch\n".to_owned(),
        ),
        (
            "patch_move",
            "*** Begin Patch\n*** Update File: movable.txt\n*** Move to: ../moved.txt\n@@\n-keep\n+moved\n*** End Patch\n"
                .to_owned(),
        ),
    ]);
    let rejected = patches.len();
    patches.extend([
        ("patch_dangling_dir", add_file("dangling_dir/x.txt")),
        ("patch_dangling_file", add_file("dangling_file")),
        ("patch_inside", add_file("inside.txt")),
    ]);
    let mut responses: Vec<ScriptedResponse> = patches
        .iter()
        .map(|(call, patch)| patch_call(call, patch.clone()))
        .collect();
    responses.push(ScriptedResponse::new().text("Done.", 1));
    let mut args = script_args(&layout.sandbox, "never", responses);
    args.extend(
        [
            "-c",
            "approval_policy=\"never\"",
            "-c",
            "sandbox_workspace_write.exclude_tmp=true",
            "exec",
            "--json",
            "patch things",
        ]
        .map(str::to_owned),
    );
    let mut command = layout.sandbox.command_in(work, &args);
    command.stdin(std::process::Stdio::null());
    let out = layout.sandbox.run_command(command, None);
    assert_eq!(out.code, Some(0), "{out:?}");
    let events = events_of(&out.stdout);
    assert!(
        events
            .iter()
            .all(|e| e.msg.kind() != "apply_patch_approval_request"),
        "`never` does not ask: {out:?}"
    );
    let applied = call_ids_of(&events, "patch_apply_begin");
    for (call, _) in &patches[..rejected] {
        assert!(!applied.contains(&(*call).to_owned()), "{call} was applied");
    }
    assert!(applied.contains(&"patch_inside".to_owned()), "{out:?}");
    assert_eq!(
        recording_text(&layout.sandbox)
            .matches("patch rejected: it writes outside the writable roots")
            .count(),
        rejected,
        "each escape is reported to the model"
    );

    let outside_now: Vec<PathBuf> = entries(outside);
    assert_eq!(
        outside_now,
        [outside.join("existing.txt")],
        "nothing new outside"
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("existing.txt")).unwrap(),
        "keep\n"
    );
    assert_eq!(
        std::fs::read_to_string(layout.sandbox.cwd().join("victim.txt")).unwrap(),
        "keep\n"
    );
    assert!(!layout.sandbox.cwd().join("escape.txt").exists());
    assert!(!layout.sandbox.cwd().join("moved.txt").exists());
    assert_eq!(
        std::fs::read_to_string(work.join("movable.txt")).unwrap(),
        "keep\n"
    );
    assert_eq!(
        std::fs::read_to_string(work.join("inside.txt")).unwrap(),
        "escaped\n"
    );
}
