//! Tests of the event translation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use session_core::EventMsg;

use super::*;

fn texts(updates: &[SessionUpdate]) -> Vec<String> {
    updates
        .iter()
        .map(|u| match u {
            SessionUpdate::AgentMessageChunk(c) | SessionUpdate::AgentThoughtChunk(c) => {
                match &c.content {
                    ContentBlock::Text(t) => t.text.clone(),
                    other => format!("{other:?}"),
                }
            }
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_message_sent_only_whole_is_shown_once() {
    let mut t = Translator::live(PathBuf::from("/w"));
    let whole = EventMsg::AgentMessage {
        message: "all at once".to_owned(),
    };
    assert_eq!(texts(&t.updates(&whole, None).await), ["all at once"]);
    // Streamed first: the final message adds nothing.
    let delta = EventMsg::AgentMessageDelta {
        delta: "pie".to_owned(),
    };
    assert_eq!(texts(&t.updates(&delta, None).await), ["pie"]);
    let whole = EventMsg::AgentMessage {
        message: "pie".to_owned(),
    };
    assert!(t.updates(&whole, None).await.is_empty());
}

#[test]
fn commands_are_read_search_or_execute() {
    let argv = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    assert_eq!(exec_kind(&argv(&["cat", "a.txt"])), ToolKind::Read);
    assert_eq!(
        exec_kind(&argv(&["bash", "-lc", "rg foo src"])),
        ToolKind::Search
    );
    assert_eq!(
        exec_kind(&argv(&["bash", "-lc", "cat a | sh"])),
        ToolKind::Execute
    );
    assert_eq!(exec_kind(&argv(&["cargo", "test"])), ToolKind::Execute);
    assert_eq!(
        shell_words(&argv(&["echo", "it's", "a b"])),
        r"echo 'it'\''s' 'a b'"
    );
}

#[test]
fn output_is_fenced_beyond_its_own_backticks_and_cut() {
    assert_eq!(fenced("a ``` b"), "````\na ``` b\n````");
    let long = "é".repeat(MAX_OUTPUT);
    let shown = fenced(&long);
    assert!(shown.ends_with(&format!("… {} more bytes", long.len() - MAX_OUTPUT)));
}

#[tokio::test]
async fn a_replayed_patch_shows_its_changed_regions_at_absolute_paths() {
    let mut t = Translator::replay(PathBuf::from("/w"));
    let mut changes = std::collections::BTreeMap::new();
    changes.insert(
        PathBuf::from("src/a.rs"),
        FileChange::Update {
            unified_diff: "@@ -2,1 +2,1 @@\n-old\n+new\n".to_owned(),
            move_path: None,
        },
    );
    let begin = EventMsg::PatchApplyBegin {
        call_id: "p".to_owned(),
        auto_approved: true,
        changes,
    };
    let updates = t.updates(&begin, None).await;
    let [SessionUpdate::ToolCall(call)] = updates.as_slice() else {
        panic!("{updates:?}")
    };
    assert_eq!(call.title, "Edit src/a.rs");
    let [ToolCallContent::Diff(diff)] = call.content.as_slice() else {
        panic!("{:?}", call.content)
    };
    assert_eq!(diff.path, PathBuf::from("/w/src/a.rs"));
    assert_eq!(diff.old_text.as_deref(), Some("old\n"));
    assert_eq!(diff.new_text, "new\n");
    assert_eq!(call.locations[0].line, Some(2));
    // A turn that ends with the call open closes it.
    let end = EventMsg::TaskComplete {
        last_agent_message: None,
    };
    let closing = t.updates(&end, None).await;
    assert!(matches!(closing.as_slice(),
        [SessionUpdate::ToolCallUpdate(u)] if u.fields.status == Some(ToolCallStatus::Failed)));
}

#[test]
fn read_locations_stay_inside_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("ws");
    std::fs::create_dir(&workspace).unwrap();
    std::fs::write(workspace.join("in.txt"), "x").unwrap();
    std::fs::write(dir.path().join("out.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(dir.path().join("out.txt"), workspace.join("link.txt")).unwrap();
    let argv: Vec<String> = ["cat", "in.txt", "../out.txt", "link.txt", "/etc/hostname"]
        .iter()
        .map(|w| (*w).to_owned())
        .collect();
    let call = exec_call("c", &argv, &workspace, ToolCallStatus::Pending);
    let paths: Vec<PathBuf> = call.locations.iter().map(|l| l.path.clone()).collect();
    assert_eq!(
        paths,
        [std::fs::canonicalize(workspace.join("in.txt")).unwrap()]
    );
}
