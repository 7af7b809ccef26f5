//! Meaning of the Responses API's stream events.
//!
//! Each data line is first read into a small borrowed head (`type` and `delta` only), so a text
//! delta costs one allocation: its own string. Only the rarer events are parsed further. It must
//! not wait for anything after `response.completed`, `response.failed` or `response.incomplete`.

use std::borrow::Cow;
use std::ops::ControlFlow;

use serde::Deserialize;
use session_state::{ResponseItem, TokenUsage};

use crate::model::{ModelError, ModelEvent};
use crate::sse::SseEvent;
use crate::sse::driver::{Decoder, Pending};

/// Item types this crate can represent; others are skipped.
const KNOWN_ITEMS: [&str; 4] = [
    "message",
    "reasoning",
    "function_call",
    "function_call_output",
];

/// Decodes Responses API events.
#[derive(Debug, Default)]
pub(crate) struct ResponsesDecoder;

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Cow<'a, str>,
    #[serde(default)]
    delta: Option<String>,
    /// Set on error events, whatever their shape (`{"error": {...}}` with no type, too).
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ItemDone {
    item: serde_json::Value,
}

#[derive(Deserialize)]
struct WithResponse<T> {
    response: T,
}

#[derive(Deserialize)]
struct CompletedResponse {
    #[serde(default)]
    id: String,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
    #[serde(default)]
    total_tokens: u64,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: u64,
}

#[derive(Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: u64,
}

#[derive(Deserialize)]
struct FailedResponse {
    #[serde(default)]
    error: Option<ErrorDetail>,
}

#[derive(Deserialize)]
struct ErrorDetail {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct IncompleteResponse {
    #[serde(default)]
    incomplete_details: Option<IncompleteDetails>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    #[serde(default)]
    reason: Option<String>,
}

impl From<WireUsage> for TokenUsage {
    fn from(u: WireUsage) -> Self {
        TokenUsage {
            input_tokens: u.input_tokens,
            cached_input_tokens: u.input_tokens_details.map_or(0, |d| d.cached_tokens),
            output_tokens: u.output_tokens,
            reasoning_output_tokens: u.output_tokens_details.map_or(0, |d| d.reasoning_tokens),
            total_tokens: u.total_tokens,
        }
    }
}

fn parse<'a, T: Deserialize<'a>>(data: &'a str) -> Result<T, ModelError> {
    serde_json::from_str(data)
        .map_err(|e| ModelError::Protocol(format!("bad responses event: {e}")))
}

impl ResponsesDecoder {
    fn decode(&mut self, event: SseEvent<'_>) -> Result<Step, ModelError> {
        let head: Head<'_> = parse(event.data)?;
        let kind: &str = if head.kind.is_empty() {
            event.event
        } else {
            &head.kind
        };
        Ok(match kind {
            "response.created" => Step::Emit(ModelEvent::Created),
            "response.output_text.delta" => match head.delta {
                Some(delta) => Step::Emit(ModelEvent::OutputTextDelta(delta)),
                None => Step::Nothing,
            },
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                match head.delta {
                    Some(delta) => Step::Emit(ModelEvent::ReasoningDelta(delta)),
                    None => Step::Nothing,
                }
            }
            "response.output_item.done" => {
                let done: ItemDone = parse(event.data)?;
                item_done(done.item)
            }
            "response.completed" => {
                let done: WithResponse<CompletedResponse> = parse(event.data)?;
                Step::End(Ok(ModelEvent::Completed {
                    response_id: done.response.id,
                    usage: done.response.usage.map(TokenUsage::from),
                }))
            }
            "response.failed" => {
                let failed: WithResponse<FailedResponse> = parse(event.data)?;
                let message = failed
                    .response
                    .error
                    .and_then(|e| e.message)
                    .unwrap_or_else(|| "no reason given".to_owned());
                Step::End(Err(ModelError::Failed(message)))
            }
            "response.incomplete" => {
                let incomplete: WithResponse<IncompleteResponse> = parse(event.data)?;
                let reason = incomplete
                    .response
                    .incomplete_details
                    .and_then(|d| d.reason)
                    .unwrap_or_else(|| "no reason given".to_owned());
                Step::End(Err(ModelError::Incomplete(reason)))
            }
            // A stream-level error event, in any shape: the response will not complete.
            "error" | "response.error" => {
                let value: serde_json::Value = parse(event.data)?;
                Step::End(Err(ModelError::Failed(error_text(&value))))
            }
            _ if head.error.as_ref().is_some_and(|e| !e.is_null()) => {
                let value = serde_json::json!({ "error": head.error });
                Step::End(Err(ModelError::Failed(error_text(&value))))
            }
            _ => Step::Nothing,
        })
    }
}

/// The message of an error event: `error.message`, `message`, or `error` as text.
fn error_text(value: &serde_json::Value) -> String {
    value
        .pointer("/error/message")
        .or_else(|| value.get("message"))
        .or_else(|| value.get("error").filter(|e| e.is_string()))
        .and_then(|m| m.as_str())
        .map_or_else(
            || match value.get("error") {
                Some(e) if !e.is_null() => e.to_string(),
                _ => "no reason given".to_owned(),
            },
            str::to_owned,
        )
}

enum Step {
    Nothing,
    Emit(ModelEvent),
    End(Result<ModelEvent, ModelError>),
}

fn item_done(item: serde_json::Value) -> Step {
    let kind = item.get("type").and_then(|t| t.as_str()).unwrap_or("");
    if !KNOWN_ITEMS.contains(&kind) {
        tracing::debug!(kind, "skipping an output item of unknown type");
        return Step::Nothing;
    }
    match serde_json::from_value::<ResponseItem>(item) {
        Ok(item) => Step::Emit(ModelEvent::OutputItemDone(item)),
        Err(e) => {
            // A known item with a part we cannot represent (a refusal, say): skip it rather
            // than fail the whole response.
            tracing::warn!(error = %e, "skipping an output item this client cannot represent");
            Step::Nothing
        }
    }
}

impl Decoder for ResponsesDecoder {
    fn on_event(&mut self, event: SseEvent<'_>, out: &mut Pending) -> ControlFlow<()> {
        match self.decode(event) {
            Ok(Step::Nothing) => ControlFlow::Continue(()),
            Ok(Step::Emit(e)) => {
                out.push_back(Ok(e));
                ControlFlow::Continue(())
            }
            Ok(Step::End(result)) => {
                out.push_back(result);
                ControlFlow::Break(())
            }
            Err(e) => {
                out.push_back(Err(e));
                ControlFlow::Break(())
            }
        }
    }

    fn on_eof(&mut self, out: &mut Pending) {
        out.push_back(Err(ModelError::StreamClosed));
    }
}
