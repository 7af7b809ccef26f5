//! Meaning of a Chat Completions stream: content and reasoning deltas, tool calls assembled from
//! fragments, usage, and the end.
//!
//! Chunks are read into borrowed structs that keep only the first choice, so a text delta costs
//! one allocation: its own string. Items are emitted once the choice finishes; the response is
//! complete at `[DONE]`, or when the server closes after the finish reason. It must not emit
//! anything after `Completed` or an error.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::ControlFlow;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use session_state::{ResponseItem, TokenUsage};

use crate::model::{ModelError, ModelEvent};
use crate::sse::SseEvent;
use crate::sse::driver::{Decoder, Pending};

/// Decodes one Chat Completions stream.
#[derive(Debug, Default)]
pub(crate) struct ChatDecoder {
    response_id: Option<String>,
    text: String,
    calls: Vec<PartialCall>,
    usage: Option<TokenUsage>,
    /// A finish reason came and the items were emitted.
    finished: bool,
}

/// A tool call being assembled from its fragments.
#[derive(Debug)]
struct PartialCall {
    index: u32,
    id: String,
    name: String,
    arguments: String,
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "first")]
    choices: Option<Choice<'a>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<serde_json::Value>,
    #[serde(default)]
    reasoning: Option<serde_json::Value>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<u32>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    #[serde(default)]
    total_tokens: u64,
}

#[derive(Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: u64,
}

#[derive(Deserialize)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: u64,
}

impl From<WireUsage> for TokenUsage {
    fn from(u: WireUsage) -> Self {
        TokenUsage {
            input_tokens: u.prompt_tokens,
            cached_input_tokens: u.prompt_tokens_details.map_or(0, |d| d.cached_tokens),
            output_tokens: u.completion_tokens,
            reasoning_output_tokens: u
                .completion_tokens_details
                .map_or(0, |d| d.reasoning_tokens),
            total_tokens: u.total_tokens,
        }
    }
}

impl ChatDecoder {
    fn chunk(&mut self, chunk: Chunk<'_>, out: &mut Pending) -> ControlFlow<()> {
        if let Some(error) = chunk.error {
            let message = error
                .get("message")
                .and_then(|m| m.as_str())
                .or_else(|| error.as_str())
                .unwrap_or("no reason given")
                .to_owned();
            out.push_back(Err(ModelError::Failed(message)));
            return ControlFlow::Break(());
        }
        if self.response_id.is_none() {
            self.response_id = chunk.id.map(Cow::into_owned);
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.into());
        }
        let Some(choice) = chunk.choices else {
            return ControlFlow::Continue(());
        };
        if let Some(delta) = choice.delta {
            self.delta(delta, out);
        }
        if choice.finish_reason.is_some() && !self.finished {
            self.flush(out);
        }
        ControlFlow::Continue(())
    }

    fn delta(&mut self, delta: Delta, out: &mut Pending) {
        // Servers name it `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter,
        // Ollama), as a string or an object holding the text.
        let reasoning = [delta.reasoning_content, delta.reasoning]
            .into_iter()
            .flatten()
            .find_map(reasoning_text);
        if let Some(reasoning) = reasoning {
            out.push_back(Ok(ModelEvent::ReasoningDelta(reasoning)));
        }
        if let Some(content) = delta.content
            && !content.is_empty()
        {
            self.text.push_str(&content);
            out.push_back(Ok(ModelEvent::OutputTextDelta(content)));
        }
        for (position, fragment) in delta.tool_calls.into_iter().flatten().enumerate() {
            let index = fragment.index.unwrap_or(position as u32);
            let call = match self.calls.iter().position(|c| c.index == index) {
                Some(i) => &mut self.calls[i],
                None => {
                    self.calls.push(PartialCall {
                        index,
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                    let last = self.calls.len() - 1;
                    &mut self.calls[last]
                }
            };
            if let Some(id) = fragment.id.filter(|id| !id.is_empty()) {
                call.id = id;
            }
            if let Some(function) = fragment.function {
                if let Some(name) = function.name {
                    call.name.push_str(&name);
                }
                if let Some(arguments) = function.arguments {
                    call.arguments.push_str(&arguments);
                }
            }
        }
    }

    /// Emit the finished message and calls, in index order.
    fn flush(&mut self, out: &mut Pending) {
        self.finished = true;
        if !self.text.is_empty() {
            let text = std::mem::take(&mut self.text);
            out.push_back(Ok(ModelEvent::OutputItemDone(
                ResponseItem::assistant_text(text),
            )));
        }
        let mut calls = std::mem::take(&mut self.calls);
        calls.sort_by_key(|c| c.index);
        for call in calls {
            let call_id = if call.id.is_empty() {
                // A server that sends no id still needs each call paired with its output.
                format!("call_{}", uuid::Uuid::new_v4().simple())
            } else {
                call.id
            };
            let arguments = if call.arguments.trim().is_empty() {
                String::from("{}")
            } else {
                call.arguments
            };
            out.push_back(Ok(ModelEvent::OutputItemDone(ResponseItem::FunctionCall {
                id: None,
                name: call.name,
                arguments,
                call_id,
            })));
        }
    }

    fn complete(&mut self, out: &mut Pending) {
        out.push_back(Ok(ModelEvent::Completed {
            response_id: self.response_id.take().unwrap_or_default(),
            usage: self.usage.take(),
        }));
    }
}

impl Decoder for ChatDecoder {
    fn on_event(&mut self, event: SseEvent<'_>, out: &mut Pending) -> ControlFlow<()> {
        if event.data.trim() == "[DONE]" {
            if !self.finished {
                self.flush(out);
            }
            self.complete(out);
            return ControlFlow::Break(());
        }
        match serde_json::from_str::<Chunk<'_>>(event.data) {
            Ok(chunk) => self.chunk(chunk, out),
            Err(e) => {
                out.push_back(Err(ModelError::Protocol(format!("bad chat chunk: {e}"))));
                ControlFlow::Break(())
            }
        }
    }

    fn on_eof(&mut self, out: &mut Pending) {
        if self.finished {
            self.complete(out);
        } else {
            out.push_back(Err(ModelError::StreamClosed));
        }
    }
}

/// The text of a reasoning delta, when it has any.
fn reasoning_text(value: serde_json::Value) -> Option<String> {
    let text = match value {
        serde_json::Value::String(s) => s,
        serde_json::Value::Object(mut o) => {
            match o.remove("text").or_else(|| o.remove("content")) {
                Some(serde_json::Value::String(s)) => s,
                _ => return None,
            }
        }
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// An optional string, borrowed from the input when it has no escapes.
fn opt_cow<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
    }
    d.deserialize_option(V)
}

/// The first element of an array (the rest skipped without allocating), or `None`.
fn first<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    struct V<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let first = seq.next_element()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    d.deserialize_any(V(PhantomData))
}
