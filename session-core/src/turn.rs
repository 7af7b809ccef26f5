//! The turn engine: model requests, streamed deltas, recorded items and tool calls, until the
//! model answers without calling a tool or the turn is cancelled.
//!
//! A turn task never emits its terminal event itself: it reports how it ended to
//! `SessionInner::task_finished`, the one place that finalizes turns.

use std::sync::Arc;

use futures_util::{FutureExt, StreamExt};
use session_services::secrets::StreamRedactor;
use session_services::{ModelError, ModelEvent, ModelRequest, ReasoningOptions};
use session_state::{ActiveTurn, ContentItem, EventMsg, InputItem, ResponseItem, TaskKind};

use crate::inner::SessionInner;
use crate::outcome::{Stop, ToolCall, TurnEnd};
use crate::retry::{Next, Phase, Retries};

/// Entry point of a turn task.
pub(crate) async fn run_turn(inner: Arc<SessionInner>, turn: ActiveTurn, input: Vec<InputItem>) {
    let sub_id = turn.sub_id().to_owned();
    inner.emit_now(
        &sub_id,
        EventMsg::TaskStarted {
            model_context_window: inner.context_window(),
        },
    );
    let body = async {
        match turn.kind() {
            TaskKind::Regular => run_regular(&inner, &turn, input).await,
            TaskKind::Compact => crate::compact::run_compact_task(&inner, &turn).await,
        }
    };
    // A panic anywhere in the turn (a port the guards do not cover, a bug here) ends the turn
    // like any other, after an `error` that says so.
    let end = match std::panic::AssertUnwindSafe(body).catch_unwind().await {
        Ok(end) => end,
        Err(payload) => {
            let message = format!(
                "the turn panicked: {}",
                crate::guard::panic_text(payload.as_ref())
            );
            inner.emit(&sub_id, EventMsg::Error { message }).await;
            TurnEnd::Completed
        }
    };
    inner.task_finished(&sub_id, end).await;
}

/// Offer the tools of the MCP servers that are ready; the first turn waits for the servers to
/// start (each at most its startup timeout). `false` when the turn was cancelled meanwhile.
async fn wait_for_mcp(inner: &SessionInner, turn: &ActiveTurn) -> bool {
    #[cfg(feature = "mcp")]
    if let Some(mcp) = &inner.mcp {
        if !inner
            .mcp_waited
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            tokio::select! {
                biased;
                () = turn.cancel_token().cancelled() => return false,
                () = mcp.wait_started() => {}
            }
        }
        crate::tools::mcp::sync(inner, mcp);
    }
    let _ = (inner, turn);
    true
}

/// How a turn that stopped early ends; a failure is reported as an `error` first.
async fn end_of(inner: &SessionInner, sub_id: &str, stop: Stop) -> TurnEnd {
    match stop {
        Stop::Cancelled => TurnEnd::Cancelled,
        Stop::AbortRequested => TurnEnd::AbortRequested,
        Stop::Failed(message) => {
            inner.emit(sub_id, EventMsg::Error { message }).await;
            TurnEnd::Completed
        }
    }
}

async fn run_regular(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
    input: Vec<InputItem>,
) -> TurnEnd {
    let sub_id = turn.sub_id();
    record_user_input(inner, turn, input).await;
    if !wait_for_mcp(inner, turn).await {
        return TurnEnd::Cancelled;
    }
    loop {
        if turn.cancel_token().is_cancelled() {
            return TurnEnd::Cancelled;
        }
        let pending = turn.with_state(|s| s.take_pending_input());
        if !pending.is_empty() {
            record_user_input(inner, turn, pending).await;
        }
        if let Some(end) = auto_compact(inner, turn).await {
            return end;
        }
        let calls = match sample(inner, turn).await {
            Ok(calls) => calls,
            Err(SampleError::Stop(stop)) => return end_of(inner, sub_id, stop).await,
            Err(SampleError::Request(e) | SampleError::Stream(e)) => {
                inner
                    .emit(
                        sub_id,
                        EventMsg::Error {
                            message: e.to_string(),
                        },
                    )
                    .await;
                return TurnEnd::Completed;
            }
        };
        if calls.is_empty() {
            // Over the limit at the end of a turn: compact now so the next turn fits.
            return auto_compact(inner, turn)
                .await
                .unwrap_or(TurnEnd::Completed);
        }
        for call in calls {
            if let Err(stop) = crate::tools::handle_call(inner, turn, call).await {
                return end_of(inner, sub_id, stop).await;
            }
        }
    }
}

/// Compact if the last response asked for it. `Some` ends the turn: it was cancelled, or the
/// compaction failed (reported as an `error`, and the turn completes).
async fn auto_compact(inner: &Arc<SessionInner>, turn: &ActiveTurn) -> Option<TurnEnd> {
    if !turn.with_state(|s| s.take_auto_compact_request()) {
        return None;
    }
    match crate::compact::compact_history(inner, turn).await {
        Ok(()) => None,
        Err(crate::compact::CompactError::Stop(stop)) => {
            Some(end_of(inner, turn.sub_id(), stop).await)
        }
        Err(crate::compact::CompactError::Failed(message)) => {
            inner.emit(turn.sub_id(), EventMsg::Error { message }).await;
            Some(TurnEnd::Completed)
        }
    }
}

/// Record user input as one user message, and tell the front-end. Text that starts like an
/// item the session writes for itself is escaped (see [`crate::markers`]).
async fn record_user_input(inner: &SessionInner, turn: &ActiveTurn, input: Vec<InputItem>) {
    let sub_id = turn.sub_id();
    let mut content = Vec::with_capacity(input.len());
    let mut text = String::new();
    for item in input {
        match item {
            InputItem::Text { text: t } => {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&t);
                content.push(ContentItem::InputText {
                    text: crate::markers::escape_user_text(t),
                });
            }
            InputItem::Image { image_url } => content.push(ContentItem::InputImage { image_url }),
            InputItem::LocalImage { path } => content.push(ContentItem::InputText {
                text: format!("[local image attached: {}]", path.display()),
            }),
            _ => {}
        }
    }
    if content.is_empty() {
        return;
    }
    if let Some(ctx) = inner.context_to_announce() {
        inner
            .record_items(vec![crate::policy::environment_context(
                &ctx,
                &inner.services.shell.user_shell().path,
                &inner.config.protected_paths,
            )])
            .await;
    }
    inner
        .record_items(vec![ResponseItem::Message {
            id: None,
            role: "user".to_owned(),
            content,
        }])
        .await;
    inner.note_turn_input(turn, text.clone());
    inner
        .emit(sub_id, EventMsg::UserMessage { message: text })
        .await;
}

#[derive(Debug)]
enum SampleError {
    Stop(Stop),
    /// The request failed before a response started.
    Request(ModelError),
    /// The response's stream broke after it started.
    Stream(ModelError),
}

/// One model request, retried when it fails or its stream breaks (see [`crate::retry`]);
/// records the response's items and returns the tool calls to run.
async fn sample(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
) -> Result<Vec<ToolCall>, SampleError> {
    let mut retries = Retries::new(&inner.config);
    loop {
        let (phase, error) = match sample_once(inner, turn).await {
            Ok(calls) => return Ok(calls),
            Err(SampleError::Request(e)) => (Phase::Request, e),
            Err(SampleError::Stream(e)) => (Phase::Stream, e),
            Err(e) => return Err(e),
        };
        match retries.wait(inner, turn, phase, &error).await {
            Next::Again => {}
            Next::GiveUp => return Err(SampleError::Request(error)),
            Next::Cancelled => return Err(SampleError::Stop(Stop::Cancelled)),
        }
    }
}

async fn sample_once(
    inner: &Arc<SessionInner>,
    turn: &ActiveTurn,
) -> Result<Vec<ToolCall>, SampleError> {
    let sub_id = turn.sub_id();
    let ctx = inner.context();
    let request = ModelRequest {
        model: ctx.model.clone(),
        instructions: inner.config.instructions.clone(),
        input: inner.history_snapshot(),
        tools: inner.tools.specs(),
        reasoning: (ctx.effort.is_some() || ctx.summary.is_some()).then_some(ReasoningOptions {
            effort: ctx.effort,
            summary: ctx.summary,
        }),
        prompt_cache_key: Some(inner.id.clone()),
    };
    let cancelled = turn.cancel_token().cancelled();
    tokio::pin!(cancelled);
    let mut stream = tokio::select! {
        biased;
        () = &mut cancelled => return Err(SampleError::Stop(Stop::Cancelled)),
        r = inner.services.model.stream(request) => r.map_err(SampleError::Request)?,
    };
    let mut items: Vec<ResponseItem> = Vec::new();
    // Streamed text no message item has carried yet.
    let mut unrecorded = String::new();
    // A key the model echoes may arrive cut over several deltas.
    let mut text = StreamRedactor::new();
    let mut reasoning = StreamRedactor::new();
    let emit_text = |delta: String| {
        if !delta.is_empty() {
            inner.emit_now(sub_id, EventMsg::AgentMessageDelta { delta });
        }
    };
    let emit_reasoning = |delta: String| {
        if !delta.is_empty() {
            inner.emit_now(sub_id, EventMsg::AgentReasoningDelta { delta });
        }
    };
    let usage = loop {
        let next = tokio::select! {
            biased;
            () = &mut cancelled => return Err(SampleError::Stop(Stop::Cancelled)),
            next = stream.next() => next,
        };
        match next {
            Some(Ok(ModelEvent::OutputTextDelta(delta))) => {
                unrecorded.push_str(&delta);
                emit_text(text.push_str(&delta));
            }
            Some(Ok(ModelEvent::ReasoningDelta(delta))) => {
                emit_reasoning(reasoning.push_str(&delta));
            }
            Some(Ok(ModelEvent::OutputItemDone(item))) => {
                emit_text(text.finish_str());
                emit_reasoning(reasoning.finish_str());
                // Text the model streamed but sent no message for is kept, in its place.
                if item.role() == Some("assistant") {
                    unrecorded.clear();
                } else if !unrecorded.is_empty() {
                    items.push(ResponseItem::assistant_text(std::mem::take(
                        &mut unrecorded,
                    )));
                }
                items.push(item);
            }
            Some(Ok(ModelEvent::Completed { usage, .. })) => {
                emit_text(text.finish_str());
                emit_reasoning(reasoning.finish_str());
                if !unrecorded.is_empty() {
                    items.push(ResponseItem::assistant_text(std::mem::take(
                        &mut unrecorded,
                    )));
                }
                break usage;
            }
            Some(Ok(ModelEvent::RateLimits(limits))) => inner.set_rate_limits(limits),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(SampleError::Stream(e)),
            None => return Err(SampleError::Stream(ModelError::StreamClosed)),
        }
    };
    drop(stream);

    // The response is complete: record its items, then tell the front-end. An empty assistant
    // message (some servers send one beside a tool call) is neither shown nor replayed.
    items.retain(|item| !is_empty_assistant_message(item));
    let now = inner.now_ms();
    let items = renumber_repeated_calls(inner, items);
    let mut calls = Vec::new();
    let mut events = Vec::new();
    for item in &items {
        match item {
            ResponseItem::Message { role, .. } if role == "assistant" => {
                if let Some(text) = item.message_text() {
                    turn.with_state(|s| s.set_last_agent_message(text.clone()));
                    events.push(EventMsg::AgentMessage { message: text });
                }
            }
            ResponseItem::Reasoning { summary, .. } => {
                let text: String = summary
                    .iter()
                    .map(|session_state::ReasoningSummaryPart::SummaryText { text }| text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                if !text.is_empty() {
                    events.push(EventMsg::AgentReasoning { text });
                }
            }
            ResponseItem::FunctionCall {
                name,
                arguments,
                call_id,
                ..
            } => {
                // Repeated ids were renumbered above, so every call here is new.
                let _ = turn.with_state(|s| s.begin_call(call_id, name, now));
                calls.push(ToolCall {
                    call_id: call_id.clone(),
                    name: name.clone(),
                    arguments: arguments.clone(),
                });
            }
            _ => {}
        }
    }
    inner.record_items(items).await;
    for e in events {
        inner.emit(sub_id, e).await;
    }
    if let Some(usage) = usage {
        let (info, in_context) = inner.record_token_usage(&usage);
        inner
            .emit(
                sub_id,
                EventMsg::TokenCount {
                    info,
                    rate_limits: inner.rate_limits(),
                },
            )
            .await;
        if let Some(limit) = inner.config.auto_compact_limit()
            && in_context > limit
        {
            turn.with_state(|s| s.request_auto_compact());
        }
    }
    Ok(calls)
}

/// An assistant message with no text at all (whitespace counts as text).
fn is_empty_assistant_message(item: &ResponseItem) -> bool {
    match item {
        ResponseItem::Message { role, content, .. } if role == "assistant" => {
            content.iter().all(|part| match part {
                ContentItem::OutputText { text } | ContentItem::InputText { text } => {
                    text.is_empty()
                }
                _ => false,
            })
        }
        _ => false,
    }
}

/// Give a fresh id to every function call whose `call_id` repeats one earlier in this response
/// or any call the session recorded before (compacted away or not). Some servers number calls
/// per response; a second call under a used id would make history malformed, run under an
/// answered id, or confuse approvals keyed by it. The call still runs: the model asked for it.
fn renumber_repeated_calls(inner: &SessionInner, items: Vec<ResponseItem>) -> Vec<ResponseItem> {
    if !items.iter().any(|i| i.call_id().is_some()) {
        return items;
    }
    let mut in_response: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut fresh_ids = Vec::with_capacity(items.len());
    for item in &items {
        let fresh = item.call_id().map(|id| {
            let mut candidate = id.to_owned();
            let mut n = 2;
            while inner.has_call_id(&candidate) || in_response.contains(&candidate) {
                candidate = format!("{id}~{n}");
                n += 1;
            }
            if candidate != id {
                tracing::warn!(call_id = id, renamed = %candidate, "model reused a call id");
            }
            candidate
        });
        if let Some(f) = &fresh {
            in_response.insert(f.clone());
        }
        fresh_ids.push(fresh);
    }
    items
        .into_iter()
        .zip(fresh_ids)
        .map(|(item, fresh)| match (item, fresh) {
            (
                ResponseItem::FunctionCall {
                    id,
                    name,
                    arguments,
                    ..
                },
                Some(call_id),
            ) => ResponseItem::FunctionCall {
                id,
                name,
                arguments,
                call_id,
            },
            (item, _) => item,
        })
        .collect()
}
