//! Initialize, sessions and prompts.

use session_acp::acp::v1::schema::{SessionUpdate, StopReason};
use session_core::services::ScriptedResponse;

use crate::support::{Harness, Offer, chunk_text};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_streams_its_answer_and_ends_the_turn() {
    let mut h = Harness::connect(Offer::default()).await;
    let init = h.initialize(Offer::default()).await;
    assert!(init.agent_capabilities.load_session);
    assert!(init.agent_capabilities.prompt_capabilities.image);
    assert!(init.agent_capabilities.prompt_capabilities.embedded_context);
    assert!(init.agent_capabilities.mcp_capabilities.http);
    let session = h.new_session().await;
    let id = session.session_id.0.to_string();
    let modes = session.modes.expect("modes");
    // `untrusted` is none of the presets: it is offered as it is, beside them.
    assert_eq!(&*modes.current_mode_id.0, "configured");
    let ids: Vec<&str> = modes.available_modes.iter().map(|m| &*m.id.0).collect();
    assert_eq!(ids, ["read-only", "auto", "full-access", "configured"]);

    let answer = h.prompt(&id, "hello");
    let request = h.model.next_request().await.unwrap();
    request.play(
        ScriptedResponse::new()
            .reasoning("thinking it over", 2)
            .text("Hi there!", 3),
    );
    let response = answer.await.unwrap().unwrap();
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    // Every update of the turn arrived before the answer.
    let updates = h.drain();
    let text: String = updates
        .iter()
        .filter(|n| matches!(n.update, SessionUpdate::AgentMessageChunk(_)))
        .filter_map(|n| chunk_text(&n.update))
        .collect();
    assert_eq!(text, "Hi there!");
    let thought: String = updates
        .iter()
        .filter(|n| matches!(n.update, SessionUpdate::AgentThoughtChunk(_)))
        .filter_map(|n| chunk_text(&n.update))
        .collect();
    assert_eq!(thought, "thinking it over");
    assert!(updates.iter().all(|n| n.session_id.0.as_ref() == id));
    // The client shows its own prompt: it is not echoed back.
    assert!(
        !updates
            .iter()
            .any(|n| matches!(n.update, SessionUpdate::UserMessageChunk(_)))
    );
    h.close().await;
    assert_eq!(h.recordings().len(), 1);
}
