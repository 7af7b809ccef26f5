//! Compaction: ask the model to summarize the conversation and replace history with the initial
//! context, the user's recent messages (bounded) and the summary.

use std::sync::Arc;

use futures_util::StreamExt;
use session_services::{ModelEvent, ModelRequest};
use session_state::{ActiveTurn, ConversationHistory, EventMsg, HistoryItem, ResponseItem};

use crate::inner::SessionInner;
use crate::markers::{Marker, summary_item};
use crate::outcome::{Stop, TurnEnd};
use crate::retry::{Next, Phase, Retries};

/// The request appended to history to get a summary.
const SUMMARY_PROMPT: &str = "Summarize the conversation so far for a fresh context: the \
user's goals, what was done (commands run, files changed), what was learned, and what remains. \
Be concise and concrete.";
/// At most this many bytes of earlier user messages are kept.
const USER_MESSAGES_BUDGET: usize = 20_000;

/// Why compaction did not finish.
#[derive(Debug)]
pub(crate) enum CompactError {
    Stop(Stop),
    Failed(String),
}

/// The task of a `compact` turn.
pub(crate) async fn run_compact_task(inner: &Arc<SessionInner>, turn: &ActiveTurn) -> TurnEnd {
    match compact_history(inner, turn).await {
        Ok(()) => TurnEnd::Completed,
        Err(CompactError::Stop(Stop::Cancelled)) => TurnEnd::Cancelled,
        Err(CompactError::Stop(Stop::AbortRequested)) => TurnEnd::AbortRequested,
        Err(CompactError::Stop(Stop::Failed(message)) | CompactError::Failed(message)) => {
            inner.emit(turn.sub_id(), EventMsg::Error { message }).await;
            TurnEnd::Completed
        }
    }
}

/// Summarize and replace history.
pub(crate) async fn compact_history(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
) -> Result<(), CompactError> {
    let snapshot = inner.history_snapshot();
    let mut request_history = ConversationHistory::new();
    request_history.record_shared(snapshot.items().iter().cloned());
    request_history.record_items([ResponseItem::user_text(SUMMARY_PROMPT)]);
    let ctx = inner.context();
    let request = ModelRequest {
        model: ctx.model,
        instructions: inner.config.instructions.clone(),
        input: request_history.snapshot(),
        tools: Arc::from([]),
        reasoning: None,
        prompt_cache_key: Some(inner.id.clone()),
    };
    let cancelled = turn.cancel_token().cancelled();
    tokio::pin!(cancelled);
    let mut retries = Retries::new(&inner.config);
    let mut stream = loop {
        let e = tokio::select! {
            biased;
            () = &mut cancelled => return Err(CompactError::Stop(Stop::Cancelled)),
            r = inner.services.model.stream(request.clone()) => match r {
                Ok(stream) => break stream,
                Err(e) => e,
            },
        };
        match retries.wait(inner, turn, Phase::Request, &e).await {
            Next::Again => {}
            Next::GiveUp => return Err(CompactError::Failed(format!("compaction failed: {e}"))),
            Next::Cancelled => return Err(CompactError::Stop(Stop::Cancelled)),
        }
    };
    let mut summary = String::new();
    let mut from_items = String::new();
    loop {
        let next = tokio::select! {
            biased;
            () = &mut cancelled => return Err(CompactError::Stop(Stop::Cancelled)),
            n = stream.next() => n,
        };
        match next {
            Some(Ok(ModelEvent::OutputTextDelta(d))) => summary.push_str(&d),
            Some(Ok(ModelEvent::OutputItemDone(item))) => {
                if item.role() == Some("assistant")
                    && let Some(t) = item.message_text()
                {
                    from_items.push_str(&t);
                }
            }
            Some(Ok(ModelEvent::Completed { .. })) => break,
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(CompactError::Failed(format!("compaction failed: {e}"))),
            None => {
                return Err(CompactError::Failed(
                    "compaction failed: the model stream ended early".to_owned(),
                ));
            }
        }
    }
    drop(stream);
    if !from_items.is_empty() {
        summary = from_items;
    }
    if summary.trim().is_empty() {
        return Err(CompactError::Failed(
            "compaction failed: the model returned an empty summary".to_owned(),
        ));
    }
    let new_history = build_compacted(snapshot.items(), &summary);
    let estimate: usize = new_history
        .iter()
        .map(|i| serde_json::to_string(i).map(|s| s.len()).unwrap_or(0))
        .sum::<usize>()
        / 4;
    inner.replace_history(summary, new_history).await;
    inner.emit_now(
        turn.sub_id(),
        EventMsg::BackgroundEvent {
            message: "conversation history compacted".to_owned(),
        },
    );
    if let Some(limit) = inner.config.auto_compact_limit()
        && estimate as u64 > limit
    {
        return Err(CompactError::Failed(format!(
            "history is still about {estimate} tokens after compaction, over the limit of {limit}"
        )));
    }
    Ok(())
}

/// Initial context, then the most recent user messages that fit the budget, then the summary.
///
/// Only user messages are parsed (the others are known by their header), newest first, so no
/// more of them is held than the budget keeps.
fn build_compacted(items: &[Arc<HistoryItem>], summary: &str) -> Vec<ResponseItem> {
    let mut initial = Vec::new();
    let mut kept: Vec<ResponseItem> = Vec::new();
    let mut budget = Some(USER_MESSAGES_BUDGET);
    for stored in items.iter().rev() {
        if stored.role().as_deref() != Some("user") {
            continue;
        }
        let item = stored.item();
        match Marker::of(&item) {
            Some(Marker::EnvironmentContext | Marker::UserInstructions) => initial.push(item),
            Some(Marker::Summary | Marker::InterruptNote) => {}
            None => {
                // The newest message that does not fit ends the ones kept.
                let len = item.message_text().map_or(0, |t| t.len());
                budget = budget.and_then(|b| b.checked_sub(len));
                if budget.is_some() {
                    kept.push(item);
                }
            }
        }
    }
    initial.reverse();
    kept.reverse();
    let mut out = initial;
    out.extend(kept);
    out.push(summary_item(summary));
    out
}
