//! `apply_patch` on a real temp-dir workspace planted with symlinks: a patch never writes
//! outside the working directory without approval, whether through a symlinked folder, a
//! symlinked file, a dangling link, or a link planted at a temporary file's name.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use session_core::services::{RealFileSystem, ScriptedResponse};
use session_core::{AskForApproval, EventMsg, ReviewDecision};
use std::os::unix::fs::symlink;

use crate::support::{Harness, Ports, config, tool_outputs};

fn patch_call(call_id: &str, patch: &str) -> ScriptedResponse {
    ScriptedResponse::new().tool_call(call_id, "apply_patch", json!({ "input": patch }))
}

/// A session working in `cwd` on the real file system (no sandbox, so the writable area is
/// the working directory alone).
async fn harness(cwd: &Path, responses: Vec<ScriptedResponse>, policy: AskForApproval) -> Harness {
    let mut config = config(policy);
    config.cwd = cwd.to_path_buf();
    let ports = Ports {
        fs: Some(Arc::new(RealFileSystem)),
        ..Ports::default()
    };
    Harness::start_with_services(responses, config, ports).await
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Every entry of `dir`, by name, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_link_inside_a_symlinked_folder_is_outside_even_when_it_points_back_inside() {
    // `sub/l` resolves to `ok.txt` inside, but the entry a write or delete replaces is
    // `outside/l`.
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("ok.txt"), "ok\n").unwrap();
    symlink(outside.path(), ws.path().join("sub")).unwrap();
    symlink(ws.path().join("ok.txt"), outside.path().join("l")).unwrap();
    let mut h = harness(
        ws.path(),
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Update File: sub/l\n@@\n-ok\n+changed\n*** End Patch",
            ),
            patch_call(
                "p2",
                "*** Begin Patch\n*** Delete File: sub/l\n*** End Patch",
            ),
            ScriptedResponse::new().text("could not", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("edit").await.unwrap();
    h.until_turn_ends().await;

    assert!(h.seen("patch_apply_begin").is_empty());
    for o in tool_outputs(&h.model.requests()[2]) {
        assert!(o.starts_with("patch rejected"), "{o}");
    }
    assert!(
        outside.path().join("l").is_symlink(),
        "the outside link stays"
    );
    assert_eq!(read(&ws.path().join("ok.txt")), "ok\n");
    h.finish().await;
}

#[tokio::test]
async fn a_symlink_to_an_outside_file_asks_and_even_approved_never_writes_that_file() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("x");
    std::fs::write(&victim, "precious\n").unwrap();
    symlink(&victim, ws.path().join("link")).unwrap();
    let mut h = harness(
        ws.path(),
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Update File: link\n@@\n-precious\n+overwritten\n*** End Patch",
            ),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::OnRequest,
    )
    .await;
    h.session.user_input("edit").await.unwrap();
    let request = h.until("apply_patch_approval_request").await;
    let EventMsg::ApplyPatchApprovalRequest { reason, .. } = &request.msg else {
        unreachable!()
    };
    assert!(
        reason.as_deref().is_some_and(|r| r.contains("outside")),
        "{reason:?}"
    );
    h.session
        .approve_patch("p1", ReviewDecision::Approved)
        .await
        .unwrap();
    h.until_turn_ends().await;

    assert_eq!(
        read(&victim),
        "precious\n",
        "the link's target is never written"
    );
    let link = ws.path().join("link");
    assert!(!link.is_symlink(), "the write replaced the link");
    assert_eq!(read(&link), "overwritten\n");
    h.finish().await;
}

#[tokio::test]
async fn a_patch_through_a_symlinked_folder_is_rejected_under_never_and_writes_nothing_outside() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("existing.txt"), "old\n").unwrap();
    std::fs::write(ws.path().join("src.txt"), "src\n").unwrap();
    symlink(outside.path(), ws.path().join("d")).unwrap();
    let mut h = harness(
        ws.path(),
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Add File: d/new.txt\n+new\n*** End Patch",
            ),
            patch_call(
                "p2",
                "*** Begin Patch\n*** Update File: d/existing.txt\n@@\n-old\n+new\n*** End Patch",
            ),
            patch_call(
                "p3",
                "*** Begin Patch\n*** Update File: src.txt\n*** Move to: d/moved.txt\n*** End Patch",
            ),
            patch_call(
                "p4",
                "*** Begin Patch\n*** Add File: d/deeper/new.txt\n+new\n*** End Patch",
            ),
            ScriptedResponse::new().text("could not", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("escape").await.unwrap();
    h.until_turn_ends().await;

    assert!(h.seen("patch_apply_begin").is_empty());
    let outputs = tool_outputs(&h.model.requests()[4]);
    assert_eq!(outputs.len(), 4, "{outputs:?}");
    for o in &outputs {
        assert!(o.starts_with("patch rejected"), "{o}");
    }
    assert_eq!(entries(outside.path()), ["existing.txt"]);
    assert_eq!(read(&outside.path().join("existing.txt")), "old\n");
    assert_eq!(read(&ws.path().join("src.txt")), "src\n");
    h.finish().await;
}

#[tokio::test]
async fn adding_a_file_at_a_dangling_symlink_replaces_the_link_and_creates_nothing_outside() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    symlink(outside.path().join("created"), ws.path().join("new.txt")).unwrap();
    let mut h = harness(
        ws.path(),
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Add File: new.txt\n+hello\n*** End Patch",
            ),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("add").await.unwrap();
    h.until_turn_ends().await;

    assert!(entries(outside.path()).is_empty());
    let added = ws.path().join("new.txt");
    assert!(!added.is_symlink());
    assert_eq!(read(&added), "hello\n");
    h.finish().await;
}

#[tokio::test]
async fn a_symlink_planted_at_the_temporary_file_name_is_not_written_through() {
    // The name a temporary file had before it was random: beside the target, with our pid.
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::fs::write(ws.path().join("a.txt"), "a\n").unwrap();
    let planted = format!(".a.txt.session-tmp-{}", std::process::id());
    symlink(&victim, ws.path().join(&planted)).unwrap();
    let mut h = harness(
        ws.path(),
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+b\n*** End Patch",
            ),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::Never,
    )
    .await;
    h.session.user_input("edit").await.unwrap();
    h.until_turn_ends().await;

    assert_eq!(read(&victim), "precious\n");
    let target = ws.path().join("a.txt");
    assert!(!target.is_symlink());
    assert_eq!(read(&target), "b\n");
    assert_eq!(
        entries(ws.path()),
        [planted, "a.txt".to_owned()],
        "no temporary file is left behind"
    );
    h.finish().await;
}
