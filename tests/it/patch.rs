//! The `apply_patch` tool through the façade: add, update, delete and move on an in-memory tree;
//! approval by policy; paths that leave the working directory (lexically or through a symlink);
//! invalid patches; and the turn's unified diff.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use session_core::services::{MemoryFileSystem, RealFileSystem, ScriptedResponse};
use session_core::{AskForApproval, EventMsg, FileChange, ReviewDecision};

use crate::support::{Harness, Ports, config, tool_outputs};

const CWD: &str = "/work/project";

fn patch_call(call_id: &str, patch: &str) -> ScriptedResponse {
    ScriptedResponse::new().tool_call(call_id, "apply_patch", json!({ "input": patch }))
}

fn project(files: &[(&str, &str)]) -> Arc<MemoryFileSystem> {
    Arc::new(MemoryFileSystem::with_files(
        files
            .iter()
            .map(|(p, s)| (format!("{CWD}/{p}"), (*s).to_owned())),
    ))
}

fn file_map(files: &[(&str, &str)]) -> BTreeMap<PathBuf, String> {
    files
        .iter()
        .map(|(p, s)| (PathBuf::from(p), (*s).to_owned()))
        .collect()
}

async fn harness(
    responses: Vec<ScriptedResponse>,
    policy: AskForApproval,
    fs: &Arc<MemoryFileSystem>,
) -> Harness {
    let ports = Ports {
        fs: Some(fs.clone()),
        ..Ports::default()
    };
    Harness::start_with_services(responses, config(policy), ports).await
}

const FULL_PATCH: &str = "*** Begin Patch
*** Add File: docs/new.md
+# New
+Some words.
*** Update File: src/main.rs
@@ fn main() {
-    println!(\"hi\");
+    println!(\"hello\");
*** Delete File: obsolete.txt
*** Update File: old/name.txt
*** Move to: new/name.txt
@@
 keep
-change me
+changed
*** End Patch";

#[tokio::test]
async fn under_never_a_patch_adds_updates_deletes_and_moves_unasked_and_reports_the_turn_diff() {
    let fs = project(&[
        ("src/main.rs", "fn main() {\n    println!(\"hi\");\n}\n"),
        ("obsolete.txt", "gone\n"),
        ("old/name.txt", "keep\nchange me\nkeep\n"),
        ("untouched.txt", "same\n"),
    ]);
    let mut h = harness(
        vec![
            patch_call("p1", FULL_PATCH),
            ScriptedResponse::new().text("patched", 1),
        ],
        AskForApproval::Never,
        &fs,
    )
    .await;
    h.session.user_input("edit the files").await.unwrap();
    h.until_turn_ends().await;

    assert!(h.seen("apply_patch_approval_request").is_empty());
    let begin = h.seen("patch_apply_begin")[0].msg.clone();
    let EventMsg::PatchApplyBegin {
        auto_approved,
        changes,
        ..
    } = begin
    else {
        unreachable!()
    };
    assert!(auto_approved, "`never` applies without asking");
    assert_eq!(
        changes.keys().cloned().collect::<Vec<_>>(),
        ["docs/new.md", "obsolete.txt", "old/name.txt", "src/main.rs"]
            .map(PathBuf::from)
            .to_vec()
    );
    assert_eq!(
        changes[&PathBuf::from("docs/new.md")],
        FileChange::Add {
            content: "# New\nSome words.\n".into()
        }
    );
    assert_eq!(changes[&PathBuf::from("obsolete.txt")], FileChange::Delete);
    assert!(matches!(
        &changes[&PathBuf::from("old/name.txt")],
        FileChange::Update { move_path: Some(to), .. } if to == &PathBuf::from("new/name.txt")
    ));

    assert_eq!(
        fs.files(),
        file_map(&[
            ("/work/project/docs/new.md", "# New\nSome words.\n"),
            ("/work/project/new/name.txt", "keep\nchanged\nkeep\n"),
            (
                "/work/project/src/main.rs",
                "fn main() {\n    println!(\"hello\");\n}\n"
            ),
            ("/work/project/untouched.txt", "same\n"),
        ])
    );
    let output = &tool_outputs(&h.model.requests()[1])[0];
    assert_eq!(
        output,
        "Success. Updated the following files:\nA docs/new.md\nM src/main.rs\nD obsolete.txt\n\
         M old/name.txt -> new/name.txt\n"
    );
    let diffs = h.seen("turn_diff");
    assert_eq!(diffs.len(), 1);
    let EventMsg::TurnDiff { unified_diff } = &diffs[0].msg else {
        unreachable!()
    };
    for file in ["docs/new.md", "obsolete.txt", "new/name.txt", "src/main.rs"] {
        assert!(
            unified_diff.contains(file),
            "{file} missing:\n{unified_diff}"
        );
    }
    assert!(!unified_diff.contains("untouched"));
    insta::assert_snapshot!("patch_turn_diff", unified_diff);
    insta::assert_snapshot!("patch_never_all_operations", h.finish().await);
}

#[tokio::test]
async fn the_turn_diff_covers_every_patch_of_the_turn_against_the_turn_start() {
    let fs = project(&[("a.txt", "one\ntwo\n")]);
    let mut h = harness(
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Update File: a.txt\n@@\n one\n-two\n+2\n*** End Patch",
            ),
            patch_call(
                "p2",
                "*** Begin Patch\n*** Update File: a.txt\n@@\n one\n-2\n+zwei\n*** Add File: b.txt\n+b\n*** End Patch",
            ),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::Never,
        &fs,
    )
    .await;
    h.session.user_input("edit twice").await.unwrap();
    h.until_turn_ends().await;
    let diffs: Vec<String> = h
        .seen("turn_diff")
        .iter()
        .map(|e| match &e.msg {
            EventMsg::TurnDiff { unified_diff } => unified_diff.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(diffs.len(), 2, "one turn_diff after each patch");
    assert!(diffs[1].contains("-two\n+zwei\n"), "{}", diffs[1]);
    assert!(!diffs[1].contains("+2\n"), "{}", diffs[1]);
    assert!(diffs[1].contains("b/b.txt"), "{}", diffs[1]);
    h.finish().await;
}

#[tokio::test]
async fn under_untrusted_a_patch_asks_and_applies_only_when_approved() {
    let fs = project(&[("keep.txt", "v1\n"), ("drop.txt", "bye\n")]);
    let mut h = harness(
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Update File: keep.txt\n@@\n-v1\n+v2\n*** End Patch",
            ),
            patch_call(
                "p2",
                "*** Begin Patch\n*** Delete File: drop.txt\n*** End Patch",
            ),
            ScriptedResponse::new().text("one of two", 1),
        ],
        AskForApproval::Untrusted,
        &fs,
    )
    .await;
    h.session.user_input("change things").await.unwrap();
    let first = h.until("apply_patch_approval_request").await;
    let EventMsg::ApplyPatchApprovalRequest {
        call_id,
        changes,
        reason,
    } = &first.msg
    else {
        unreachable!()
    };
    assert_eq!(call_id, "p1");
    assert_eq!(
        reason, &None,
        "inside the working directory: no special reason"
    );
    assert!(matches!(
        &changes[&PathBuf::from("keep.txt")],
        FileChange::Update { unified_diff, move_path: None } if unified_diff.contains("-v1\n+v2")
    ));
    assert_eq!(
        fs.files()[&PathBuf::from("/work/project/keep.txt")],
        "v1\n",
        "nothing is written before approval"
    );
    h.session
        .approve_patch("p1", ReviewDecision::Approved)
        .await
        .unwrap();
    let second = h.until("apply_patch_approval_request").await;
    assert!(
        matches!(&second.msg, EventMsg::ApplyPatchApprovalRequest { call_id, .. } if call_id == "p2")
    );
    h.session
        .approve_patch("p2", ReviewDecision::Denied)
        .await
        .unwrap();
    h.until_turn_ends().await;

    assert_eq!(
        fs.files(),
        file_map(&[
            ("/work/project/drop.txt", "bye\n"),
            ("/work/project/keep.txt", "v2\n"),
        ])
    );
    let begins = h.seen("patch_apply_begin");
    assert_eq!(begins.len(), 1, "only the approved patch is applied");
    assert!(matches!(
        begins[0].msg,
        EventMsg::PatchApplyBegin {
            auto_approved: false,
            ..
        }
    ));
    let outputs = tool_outputs(&h.model.requests()[2]);
    assert!(outputs[0].starts_with("Success."), "{outputs:?}");
    assert!(outputs[1].contains("rejected"), "{outputs:?}");
    insta::assert_snapshot!("patch_untrusted_approve_then_deny", h.finish().await);
}

#[tokio::test]
async fn a_patch_leaving_the_working_directory_asks_even_under_on_request() {
    let fs = project(&[("inside.txt", "in\n")]);
    let mut h = harness(
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Add File: ../outside.txt\n+out\n*** End Patch",
            ),
            patch_call(
                "p2",
                "*** Begin Patch\n*** Add File: /etc/evil.conf\n+evil\n*** End Patch",
            ),
            patch_call(
                "p3",
                "*** Begin Patch\n*** Update File: inside.txt\n@@\n-in\n+still in\n*** End Patch",
            ),
            ScriptedResponse::new().text("done", 1),
        ],
        AskForApproval::OnRequest,
        &fs,
    )
    .await;
    h.session.user_input("write around").await.unwrap();
    let first = h.until("apply_patch_approval_request").await;
    let EventMsg::ApplyPatchApprovalRequest {
        call_id,
        changes,
        reason,
    } = &first.msg
    else {
        unreachable!()
    };
    assert_eq!(call_id, "p1");
    assert!(
        changes.contains_key(&PathBuf::from("/work/outside.txt")),
        "{changes:?}"
    );
    assert!(
        reason.as_deref().is_some_and(|r| r.contains("outside")),
        "{reason:?}"
    );
    h.session
        .approve_patch("p1", ReviewDecision::Approved)
        .await
        .unwrap();
    let second = h.until("apply_patch_approval_request").await;
    assert!(
        matches!(&second.msg, EventMsg::ApplyPatchApprovalRequest { call_id, .. } if call_id == "p2"),
        "an absolute path outside the working directory asks too"
    );
    h.session
        .approve_patch("p2", ReviewDecision::Denied)
        .await
        .unwrap();
    h.until_turn_ends().await;
    assert_eq!(
        h.seen("apply_patch_approval_request").len(),
        2,
        "a patch inside the working directory does not ask under on-request"
    );
    assert_eq!(
        fs.files(),
        file_map(&[
            ("/work/outside.txt", "out\n"),
            ("/work/project/inside.txt", "still in\n"),
        ])
    );
    insta::assert_snapshot!("patch_outside_on_request", h.finish().await);
}

#[tokio::test]
async fn a_patch_leaving_the_working_directory_is_rejected_under_never() {
    let fs = project(&[]);
    let mut h = harness(
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Add File: ../outside.txt\n+out\n*** End Patch",
            ),
            patch_call(
                "p2",
                "*** Begin Patch\n*** Add File: /tmp/abs.txt\n+abs\n*** End Patch",
            ),
            ScriptedResponse::new().text("could not", 1),
        ],
        AskForApproval::Never,
        &fs,
    )
    .await;
    h.session.user_input("escape").await.unwrap();
    h.until_turn_ends().await;
    assert!(h.seen("apply_patch_approval_request").is_empty());
    assert!(h.seen("patch_apply_begin").is_empty());
    assert!(fs.files().is_empty(), "{:?}", fs.files());
    let outputs = tool_outputs(&h.model.requests()[2]);
    assert_eq!(outputs.len(), 2);
    for o in &outputs {
        assert!(o.starts_with("patch rejected"), "{o}");
    }
    insta::assert_snapshot!("patch_outside_never", h.finish().await);
}

#[tokio::test]
async fn an_invalid_patch_tells_the_model_why_and_the_turn_goes_on() {
    let fs = project(&[("a.txt", "a\n")]);
    let mut h = harness(
        vec![
            patch_call("p1", "*** Update File: a.txt\n@@\n-a\n+b\n*** End Patch"),
            patch_call(
                "p2",
                "*** Begin Patch\n*** Update File: a.txt\n@@\n-not there\n+b\n*** End Patch",
            ),
            ScriptedResponse::new().tool_call("p3", "apply_patch", json!({"patch": "x"})),
            ScriptedResponse::new().text("I will try again later", 1),
        ],
        AskForApproval::Never,
        &fs,
    )
    .await;
    h.session.user_input("patch badly").await.unwrap();
    let end = h.until_turn_ends().await;
    assert_eq!(
        end.msg,
        EventMsg::TaskComplete {
            last_agent_message: Some("I will try again later".into())
        }
    );
    assert!(h.seen("patch_apply_begin").is_empty());
    assert_eq!(fs.files()[&PathBuf::from("/work/project/a.txt")], "a\n");
    let outputs = tool_outputs(&h.model.requests()[3]);
    assert!(
        outputs[0].starts_with("invalid patch at line 1"),
        "{outputs:?}"
    );
    assert!(
        outputs[1].contains("could not find these lines"),
        "{outputs:?}"
    );
    assert!(
        outputs[2].starts_with("invalid arguments for `apply_patch`"),
        "{outputs:?}"
    );
    insta::assert_snapshot!("patch_invalid", h.finish().await);
}

#[tokio::test]
async fn a_patch_through_a_symlink_out_of_the_working_directory_asks_for_approval() {
    let project = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), project.path().join("link")).unwrap();
    let mut config = config(AskForApproval::OnRequest);
    config.cwd = project.path().to_path_buf();
    let ports = Ports {
        fs: Some(Arc::new(RealFileSystem)),
        ..Ports::default()
    };
    let mut h = Harness::start_with_services(
        vec![
            patch_call(
                "p1",
                "*** Begin Patch\n*** Add File: inside.txt\n+in\n*** End Patch",
            ),
            patch_call(
                "p2",
                "*** Begin Patch\n*** Add File: link/escape.txt\n+out\n*** End Patch",
            ),
            ScriptedResponse::new().text("ok", 1),
        ],
        config,
        ports,
    )
    .await;
    h.session.user_input("write").await.unwrap();
    let request = h.until("apply_patch_approval_request").await;
    let EventMsg::ApplyPatchApprovalRequest {
        call_id, reason, ..
    } = &request.msg
    else {
        unreachable!()
    };
    assert_eq!(call_id, "p2", "the plain file inside went through unasked");
    assert!(
        reason.as_deref().is_some_and(|r| r.contains("outside")),
        "{reason:?}"
    );
    assert_eq!(
        std::fs::read_to_string(project.path().join("inside.txt")).unwrap(),
        "in\n"
    );
    h.session
        .approve_patch("p2", ReviewDecision::Denied)
        .await
        .unwrap();
    h.until_turn_ends().await;
    assert!(
        !elsewhere.path().join("escape.txt").exists(),
        "a denied patch writes nothing through the link"
    );
    insta::assert_snapshot!("patch_symlink_escape", h.finish().await);
}
