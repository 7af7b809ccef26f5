//! Tool calls, permission requests, patches through the client's file system, and plans.

use session_acp::acp::v1::schema::{
    PermissionOptionKind, RequestPermissionOutcome, RequestPermissionResponse,
    SelectedPermissionOutcome, SessionUpdate, StopReason, ToolCallContent, ToolCallStatus,
    ToolKind,
};
use session_core::services::ScriptedResponse;

use crate::support::{Harness, Offer};

fn select(option: &str) -> RequestPermissionResponse {
    RequestPermissionResponse::new(RequestPermissionOutcome::Selected(
        SelectedPermissionOutcome::new(option.to_owned()),
    ))
}

fn status_of(h: &Harness, call: &str) -> Vec<ToolCallStatus> {
    h.seen
        .iter()
        .filter_map(|n| match &n.update {
            SessionUpdate::ToolCall(c) if &*c.tool_call_id.0 == call => Some(c.status),
            SessionUpdate::ToolCallUpdate(u) if &*u.tool_call_id.0 == call => u.fields.status,
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_asks_then_runs_and_its_output_is_the_calls_content() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let answer = h.prompt(&id, "make a file");
    h.model
        .play_next(
            ScriptedResponse::new()
                .shell_call("c1", &["bash", "-lc", "echo made > out.txt && echo done"]),
        )
        .await;
    let asked = h.asked().await;
    assert_eq!(&*asked.request.session_id.0, id);
    assert_eq!(&*asked.request.tool_call.tool_call_id.0, "c1");
    let kinds: Vec<PermissionOptionKind> = asked.request.options.iter().map(|o| o.kind).collect();
    assert_eq!(
        kinds,
        [
            PermissionOptionKind::AllowOnce,
            PermissionOptionKind::AllowAlways,
            PermissionOptionKind::RejectOnce,
            PermissionOptionKind::RejectAlways
        ]
    );
    // The call was announced, pending, before the question.
    let announced = h.drain().into_iter().find_map(|n| match n.update {
        SessionUpdate::ToolCall(c) => Some(c),
        _ => None,
    });
    let announced = announced.expect("a tool_call before the permission request");
    assert_eq!(announced.kind, ToolKind::Execute);
    assert_eq!(announced.status, ToolCallStatus::Pending);
    assert_eq!(announced.title, "echo made > out.txt && echo done");
    asked.responder.respond(select("allow_once")).unwrap();
    h.model
        .play_next(ScriptedResponse::new().text("Made it.", 1))
        .await;
    let response = answer.await.unwrap().unwrap();
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    h.drain();
    assert_eq!(
        status_of(&h, "c1"),
        [
            ToolCallStatus::Pending,
            ToolCallStatus::InProgress,
            ToolCallStatus::Completed
        ]
    );
    let output = h.seen.iter().find_map(|n| match &n.update {
        SessionUpdate::ToolCallUpdate(u) if u.fields.status == Some(ToolCallStatus::Completed) => {
            u.fields.content.clone()
        }
        _ => None,
    });
    let output = format!("{:?}", output.expect("the output as content"));
    assert!(output.contains("done"), "{output}");
    assert_eq!(
        std::fs::read_to_string(h.workspace.path().join("out.txt")).unwrap(),
        "made\n"
    );
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_answers_hold_for_the_session() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let cmd = ["bash", "-lc", "echo again >> log.txt"];
    // Allow always: the same command later runs without asking.
    let answer = h.prompt(&id, "one");
    h.model
        .play_next(ScriptedResponse::new().shell_call("a1", &cmd))
        .await;
    h.asked()
        .await
        .responder
        .respond(select("allow_always"))
        .unwrap();
    h.model
        .play_next(ScriptedResponse::new().shell_call("a2", &cmd))
        .await;
    h.model
        .play_next(ScriptedResponse::new().text("twice", 1))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    assert_eq!(
        std::fs::read_to_string(h.workspace.path().join("log.txt")).unwrap(),
        "again\nagain\n"
    );
    // Reject always: the same command is refused later without asking.
    let other = ["bash", "-lc", "echo no >> nope.txt"];
    let answer = h.prompt(&id, "two");
    h.model
        .play_next(ScriptedResponse::new().shell_call("r1", &other))
        .await;
    h.asked()
        .await
        .responder
        .respond(select("reject_always"))
        .unwrap();
    h.model
        .play_next(ScriptedResponse::new().shell_call("r2", &other))
        .await;
    let third = h.model.next_request().await.unwrap();
    assert!(
        format!("{:?}", third.request()).contains("r2"),
        "the second call was answered"
    );
    third.play(ScriptedResponse::new().text("refused twice", 1));
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    assert!(!h.workspace.path().join("nope.txt").exists());
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_go_through_the_clients_file_system_as_diffs() {
    let offer = Offer { fs: true };
    let mut h = Harness::connect(offer).await;
    h.initialize(offer).await;
    let id = h.new_session().await.session_id.0.to_string();
    let file = h.workspace.path().join("notes.txt");
    std::fs::write(&file, "alpha\nbeta\ngamma\n").unwrap();
    let patch = "*** Begin Patch\n*** Update File: notes.txt\n@@\n alpha\n-beta\n+BETA\n gamma\n*** End Patch\n";
    let answer = h.prompt(&id, "edit");
    h.model
        .play_next(ScriptedResponse::new().tool_call(
            "p1",
            "apply_patch",
            serde_json::json!({ "input": patch }),
        ))
        .await;
    // Untrusted asks before a patch; the question shows the whole-file diff.
    let asked = h.asked().await;
    let content = asked
        .request
        .tool_call
        .fields
        .content
        .clone()
        .unwrap_or_default();
    let diff = content
        .iter()
        .find_map(|c| match c {
            ToolCallContent::Diff(d) => Some(d.clone()),
            _ => None,
        })
        .expect("diff content");
    assert_eq!(diff.path, file);
    assert_eq!(diff.old_text.as_deref(), Some("alpha\nbeta\ngamma\n"));
    assert_eq!(diff.new_text, "alpha\nBETA\ngamma\n");
    asked.responder.respond(select("allow_once")).unwrap();
    h.model
        .play_next(ScriptedResponse::new().text("edited", 1))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    // Read and written by the editor, and the file is what the editor wrote.
    let read = h.reads.try_recv().expect("a read through the client");
    assert_eq!(read.path, file);
    let write = h.writes.try_recv().expect("a write through the client");
    assert_eq!(write.path, file);
    assert_eq!(write.content, "alpha\nBETA\ngamma\n");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "alpha\nBETA\ngamma\n"
    );
    h.drain();
    assert_eq!(status_of(&h, "p1").last(), Some(&ToolCallStatus::Completed));
    let kind = h.seen.iter().find_map(|n| match &n.update {
        SessionUpdate::ToolCall(c) if &*c.tool_call_id.0 == "p1" => Some(c.kind),
        _ => None,
    });
    assert_eq!(kind, Some(ToolKind::Edit));
    h.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_plan_becomes_a_plan() {
    let (mut h, id) = Harness::with_session(Offer::default()).await;
    let answer = h.prompt(&id, "plan it");
    h.model
        .play_next(ScriptedResponse::new().tool_call(
            "u1",
            "update_plan",
            serde_json::json!({ "plan": [
                { "step": "read the code", "status": "completed" },
                { "step": "fix the bug", "status": "in_progress" },
                { "step": "run the tests", "status": "pending" }
            ]}),
        ))
        .await;
    h.model
        .play_next(ScriptedResponse::new().text("planned", 1))
        .await;
    assert_eq!(
        answer.await.unwrap().unwrap().stop_reason,
        StopReason::EndTurn
    );
    let plan = h
        .drain()
        .into_iter()
        .find_map(|n| match n.update {
            SessionUpdate::Plan(p) => Some(p),
            _ => None,
        })
        .expect("a plan update");
    let entries: Vec<(String, String)> = plan
        .entries
        .iter()
        .map(|e| (e.content.clone(), format!("{:?}", e.status)))
        .collect();
    assert_eq!(
        entries,
        [
            ("read the code".to_owned(), "Completed".to_owned()),
            ("fix the bug".to_owned(), "InProgress".to_owned()),
            ("run the tests".to_owned(), "Pending".to_owned())
        ]
    );
    h.close().await;
}
