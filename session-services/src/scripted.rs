//! A scripted model: replays responses from a script (JSON or built in code).
//!
//! It powers the offline demo and the tests. Each request takes the next response of the script;
//! a response is a list of steps (text in N deltas, reasoning, tool calls, usage, delays, errors).
//! It never touches the network.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use session_state::{ItemKind, ReasoningSummaryPart, ResponseItem, TokenUsage};

use crate::model::{ModelClient, ModelError, ModelEvent, ModelRequest, ModelStream};

/// One step of a scripted response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScriptStep {
    /// Assistant text streamed in `deltas` pieces (at least one), then the whole message.
    Text {
        /// The text.
        text: String,
        /// Number of deltas to split it into.
        #[serde(default = "one")]
        deltas: usize,
    },
    /// Reasoning streamed in `deltas` pieces, then the reasoning item.
    Reasoning {
        /// The reasoning text.
        text: String,
        /// Number of deltas to split it into.
        #[serde(default = "one")]
        deltas: usize,
    },
    /// A tool call with JSON arguments.
    ToolCall {
        /// The call's id.
        call_id: String,
        /// The tool's name.
        name: String,
        /// The arguments.
        arguments: serde_json::Value,
    },
    /// Assistant text describing the output of the last tool call in the request.
    DescribeLastOutput {
        /// Text put before the description.
        #[serde(default)]
        prefix: String,
    },
    /// Wait this long before the next step.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Report this usage in the final `Completed`.
    Usage {
        /// Input tokens.
        input_tokens: u64,
        /// Output tokens.
        output_tokens: u64,
    },
    /// Fail the stream here.
    Error {
        /// The error message.
        message: String,
        /// Whether the error is retryable (a broken connection) or final (a failed response).
        #[serde(default)]
        retryable: bool,
    },
    /// End the stream here without `Completed` (a dropped connection).
    Disconnect,
}

fn one() -> usize {
    1
}

/// One scripted response: the steps of one model request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScriptedResponse {
    /// The steps, in order.
    pub steps: Vec<ScriptStep>,
}

impl ScriptedResponse {
    /// An empty response (completes at once).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add text streamed in `deltas` pieces.
    pub fn text(mut self, text: impl Into<String>, deltas: usize) -> Self {
        self.steps.push(ScriptStep::Text {
            text: text.into(),
            deltas,
        });
        self
    }

    /// Add reasoning streamed in `deltas` pieces.
    pub fn reasoning(mut self, text: impl Into<String>, deltas: usize) -> Self {
        self.steps.push(ScriptStep::Reasoning {
            text: text.into(),
            deltas,
        });
        self
    }

    /// Add a call of the `shell` tool with this argv.
    pub fn shell_call(self, call_id: impl Into<String>, argv: &[&str]) -> Self {
        self.tool_call(call_id, "shell", serde_json::json!({ "command": argv }))
    }

    /// Add a tool call.
    pub fn tool_call(
        mut self,
        call_id: impl Into<String>,
        name: impl Into<String>,
        arguments: serde_json::Value,
    ) -> Self {
        self.steps.push(ScriptStep::ToolCall {
            call_id: call_id.into(),
            name: name.into(),
            arguments,
        });
        self
    }

    /// Add text describing the last tool output the request carries.
    pub fn describe_last_output(mut self, prefix: impl Into<String>) -> Self {
        self.steps.push(ScriptStep::DescribeLastOutput {
            prefix: prefix.into(),
        });
        self
    }

    /// Add a pause.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.steps.push(ScriptStep::Delay {
            ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        });
        self
    }

    /// Report this usage.
    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> Self {
        self.steps.push(ScriptStep::Usage {
            input_tokens,
            output_tokens,
        });
        self
    }

    /// Fail here.
    pub fn error(mut self, message: impl Into<String>, retryable: bool) -> Self {
        self.steps.push(ScriptStep::Error {
            message: message.into(),
            retryable,
        });
        self
    }

    /// Drop the stream here.
    pub fn disconnect(mut self) -> Self {
        self.steps.push(ScriptStep::Disconnect);
        self
    }
}

/// A whole script: the responses, in request order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Script {
    /// One response per request.
    pub responses: Vec<ScriptedResponse>,
}

/// The scripted model.
#[derive(Debug, Default)]
pub struct ScriptedModel {
    responses: Mutex<VecDeque<ScriptedResponse>>,
    requests: Mutex<Vec<ModelRequest>>,
}

impl ScriptedModel {
    /// A model that answers requests with these responses, in order.
    pub fn new(responses: impl IntoIterator<Item = ScriptedResponse>) -> Self {
        Self {
            responses: Mutex::new(responses.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// A model from a JSON script (`{"responses":[{"steps":[…]}]}`).
    ///
    /// # Errors
    ///
    /// [`ModelError::Config`] when the script is not valid.
    pub fn from_json(json: &str) -> Result<Self, ModelError> {
        let script: Script = serde_json::from_str(json)
            .map_err(|e| ModelError::Config(format!("invalid model script: {e}")))?;
        Ok(Self::new(script.responses))
    }

    /// Append more responses.
    pub fn push(&self, response: ScriptedResponse) {
        self.responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(response);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Responses not yet used.
    pub fn remaining(&self) -> usize {
        self.responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

enum Pending {
    Event(ModelEvent),
    Delay(Duration),
    Fail(ModelError),
    End,
}

/// Split `text` into `n` pieces on char boundaries (fewer when it has fewer chars).
fn split_deltas(text: &str, n: usize) -> Vec<String> {
    let n = n.max(1);
    let chars = text.chars().count();
    if chars == 0 {
        return vec![String::new()];
    }
    let n = n.min(chars);
    let per = chars / n;
    let extra = chars % n;
    let mut out = Vec::with_capacity(n);
    let mut it = text.chars();
    for i in 0..n {
        let take = per + usize::from(i < extra);
        out.push(it.by_ref().take(take).collect());
    }
    out
}

fn describe_last_output(request: &ModelRequest, prefix: &str) -> String {
    let last = request
        .input
        .items()
        .iter()
        .rev()
        .filter(|h| h.kind() == ItemKind::FunctionCallOutput)
        .find_map(|h| match h.item() {
            ResponseItem::FunctionCallOutput { output, .. } => Some(output),
            _ => None,
        });
    match last.as_deref() {
        None => format!("{prefix}I have not run anything yet."),
        Some(output) => {
            // Tool outputs from the core carry a header (exit code, wall time); describe only
            // what the command printed.
            let output = output
                .split_once("\nOutput:\n")
                .map_or(output, |(_, printed)| printed);
            let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
            let shown: Vec<&str> = lines.iter().take(5).copied().collect();
            let more = lines.len().saturating_sub(shown.len());
            let mut text = format!(
                "{prefix}The command printed {} line{}",
                lines.len(),
                if lines.len() == 1 { "" } else { "s" }
            );
            if !shown.is_empty() {
                text.push_str(", starting with: ");
                text.push_str(&shown.join(", "));
            }
            if more > 0 {
                text.push_str(&format!(" (and {more} more)"));
            }
            text.push('.');
            text
        }
    }
}

fn plan(response: ScriptedResponse, request: &ModelRequest, index: usize) -> VecDeque<Pending> {
    let mut out = VecDeque::new();
    out.push_back(Pending::Event(ModelEvent::Created));
    let mut usage: Option<TokenUsage> = None;
    for step in response.steps {
        match step {
            ScriptStep::Text { text, deltas } => {
                for d in split_deltas(&text, deltas) {
                    out.push_back(Pending::Event(ModelEvent::OutputTextDelta(d)));
                }
                out.push_back(Pending::Event(ModelEvent::OutputItemDone(
                    ResponseItem::assistant_text(text),
                )));
            }
            ScriptStep::DescribeLastOutput { prefix } => {
                let text = describe_last_output(request, &prefix);
                for d in split_deltas(&text, text.split_inclusive(' ').count()) {
                    out.push_back(Pending::Event(ModelEvent::OutputTextDelta(d)));
                }
                out.push_back(Pending::Event(ModelEvent::OutputItemDone(
                    ResponseItem::assistant_text(text),
                )));
            }
            ScriptStep::Reasoning { text, deltas } => {
                for d in split_deltas(&text, deltas) {
                    out.push_back(Pending::Event(ModelEvent::ReasoningDelta(d)));
                }
                out.push_back(Pending::Event(ModelEvent::OutputItemDone(
                    ResponseItem::Reasoning {
                        id: format!("rs_{index}"),
                        summary: vec![ReasoningSummaryPart::SummaryText { text }],
                        encrypted_content: None,
                    },
                )));
            }
            ScriptStep::ToolCall {
                call_id,
                name,
                arguments,
            } => {
                let arguments = match arguments {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                out.push_back(Pending::Event(ModelEvent::OutputItemDone(
                    ResponseItem::FunctionCall {
                        id: None,
                        name,
                        arguments,
                        call_id,
                    },
                )));
            }
            ScriptStep::Delay { ms } => out.push_back(Pending::Delay(Duration::from_millis(ms))),
            ScriptStep::Usage {
                input_tokens,
                output_tokens,
            } => {
                usage = Some(TokenUsage {
                    input_tokens,
                    output_tokens,
                    total_tokens: input_tokens.saturating_add(output_tokens),
                    ..TokenUsage::default()
                });
            }
            ScriptStep::Error { message, retryable } => {
                let err = if retryable {
                    ModelError::Transport(message)
                } else {
                    ModelError::Failed(message)
                };
                out.push_back(Pending::Fail(err));
                return out;
            }
            ScriptStep::Disconnect => {
                out.push_back(Pending::Fail(ModelError::StreamClosed));
                return out;
            }
        }
    }
    out.push_back(Pending::Event(ModelEvent::Completed {
        response_id: format!("resp_{index}"),
        usage,
    }));
    out.push_back(Pending::End);
    out
}

#[async_trait::async_trait]
impl ModelClient for ScriptedModel {
    async fn stream(&self, request: ModelRequest) -> Result<ModelStream, ModelError> {
        let next = self
            .responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front();
        let index = {
            let mut reqs = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
            reqs.push(request.clone());
            reqs.len()
        };
        let Some(response) = next else {
            return Err(ModelError::Scripted(
                "the script has no response left for this request".to_owned(),
            ));
        };
        let pending = plan(response, &request, index);
        let stream = futures_util::stream::unfold(pending, |mut pending| async move {
            loop {
                match pending.pop_front()? {
                    Pending::Event(e) => return Some((Ok(e), pending)),
                    Pending::Delay(d) => tokio::time::sleep(d).await,
                    Pending::Fail(e) => {
                        pending.clear();
                        return Some((Err(e), pending));
                    }
                    Pending::End => return None,
                }
            }
        });
        Ok(Box::pin(stream))
    }
}

#[cfg(test)]
mod tests;
