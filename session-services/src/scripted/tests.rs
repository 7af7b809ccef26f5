//! Tests of the scripted model: steps become the right events, in order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::StreamExt;
use session_state::ConversationHistory;

use super::*;

fn request(history: ConversationHistory) -> ModelRequest {
    ModelRequest {
        model: "m".into(),
        instructions: String::new(),
        input: history.snapshot(),
        tools: std::sync::Arc::from([]),
        reasoning: None,
        prompt_cache_key: None,
    }
}

async fn collect(
    model: &ScriptedModel,
    history: ConversationHistory,
) -> Vec<Result<ModelEvent, ModelError>> {
    let stream = model.stream(request(history)).await.unwrap();
    stream.collect().await
}

#[tokio::test]
async fn text_is_split_into_the_asked_number_of_deltas() {
    let model = ScriptedModel::new([ScriptedResponse::new().text("hello world", 3).usage(5, 7)]);
    let events = collect(&model, ConversationHistory::new()).await;
    let deltas: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Ok(ModelEvent::OutputTextDelta(d)) => Some(d.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas.len(), 3);
    assert_eq!(deltas.concat(), "hello world");
    assert!(matches!(
        events.last(),
        Some(Ok(ModelEvent::Completed { usage: Some(u), .. })) if u.total_tokens == 12
    ));
}

#[tokio::test]
async fn error_step_ends_the_stream_with_that_error() {
    let model = ScriptedModel::new([ScriptedResponse::new().text("a", 1).error("boom", false)]);
    let events = collect(&model, ConversationHistory::new()).await;
    assert_eq!(events.last(), Some(&Err(ModelError::Failed("boom".into()))));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Ok(ModelEvent::Completed { .. })))
    );
}

#[tokio::test]
async fn exhausted_script_refuses_the_request() {
    let model = ScriptedModel::new([]);
    let err = model
        .stream(request(ConversationHistory::new()))
        .await
        .err();
    assert!(matches!(err, Some(ModelError::Scripted(_))));
    assert_eq!(model.requests().len(), 1);
}

#[tokio::test]
async fn describe_last_output_reads_the_request() {
    let history = ConversationHistory::from_items([
        ResponseItem::FunctionCall {
            id: None,
            name: "shell".into(),
            arguments: "{}".into(),
            call_id: "c1".into(),
        },
        ResponseItem::FunctionCallOutput {
            call_id: "c1".into(),
            output: "a.txt\nb.txt\n".into(),
        },
    ]);
    let model = ScriptedModel::new([ScriptedResponse::new().describe_last_output("Done. ")]);
    let events = collect(&model, history).await;
    let message = events.iter().find_map(|e| match e {
        Ok(ModelEvent::OutputItemDone(item)) => item.message_text(),
        _ => None,
    });
    assert_eq!(
        message.as_deref(),
        Some("Done. The command printed 2 lines, starting with: a.txt, b.txt.")
    );
}

#[test]
fn json_script_parses_every_step() {
    let json = r#"{"responses":[{"steps":[
        {"type":"text","text":"hi","deltas":2},
        {"type":"reasoning","text":"think"},
        {"type":"tool_call","call_id":"c","name":"shell","arguments":{"command":["ls"]}},
        {"type":"describe_last_output"},
        {"type":"delay","ms":5},
        {"type":"usage","input_tokens":1,"output_tokens":2},
        {"type":"error","message":"x","retryable":true},
        {"type":"disconnect"}
    ]}]}"#;
    let model = ScriptedModel::from_json(json).unwrap();
    assert_eq!(model.remaining(), 1);
    assert!(matches!(
        ScriptedModel::from_json(r#"{"responses":[{"steps":[{"type":"nope"}]}]}"#),
        Err(ModelError::Config(_))
    ));
}

#[test]
fn split_deltas_keeps_every_char() {
    assert_eq!(
        split_deltas("héllo", 2),
        vec!["hél".to_owned(), "lo".to_owned()]
    );
    assert_eq!(split_deltas("ab", 5).len(), 2);
    assert_eq!(split_deltas("", 3), vec![String::new()]);
}
