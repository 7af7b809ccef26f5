//! The offline demo model: a small but real session without any network or key.
//!
//! It answers every request with a freshly built one-response `ScriptedModel`, chosen from the
//! conversation so far, so it never runs out: a new question makes it look around with
//! `ls -la` (a read-only command, so it runs through the normal tool and approval path), the
//! tool's output makes it summarize what it saw, later questions get a short plain answer, and
//! a compaction request (the only one without tools) gets a fixed summary.
//! It must never pretend to be a real model or touch the network.

use std::future::Future;
use std::pin::Pin;

use session_core::services::{
    ModelClient, ModelError, ModelRequest, ModelStream, ScriptedModel, ScriptedResponse,
};
use session_core::state::{HistoryItem, ItemKind};

/// The context window the demo model reports.
pub(crate) const CONTEXT_WINDOW: u64 = 128_000;

/// What the demo says before looking around.
pub(crate) const INTRO: &str = "I'll take a look at this directory first.";

/// The command the demo runs.
pub(crate) const COMMAND: [&str; 2] = ["ls", "-la"];

const SUMMARY: &str = "The user is trying the offline demo model, which looked at the working \
directory with `ls -la` and explained that a real model provider is needed for real answers.";

const PLAIN: &str = "I am the offline demo model, so all I can do is look around. Configure a \
model provider in $SESSION_HOME/config.toml (or set OPENAI_API_KEY) for real answers.";

/// The demo model.
#[derive(Debug, Default)]
pub(crate) struct DemoModel;

impl DemoModel {
    /// The response to `request`.
    fn respond(request: &ModelRequest) -> ScriptedResponse {
        let input_tokens = estimate_tokens(&request.instructions) + estimate_tokens_of(request);
        if request.tools.is_empty() {
            // Only a compaction request comes without tools: answer with a summary.
            return ScriptedResponse::new()
                .text(SUMMARY, 4)
                .usage(input_tokens, estimate_tokens(SUMMARY));
        }
        let items = request.input.items();
        if items.last().map(|h| h.kind()) == Some(ItemKind::FunctionCallOutput) {
            return ScriptedResponse::new()
                .describe_last_output("Here is what I found. ")
                .usage(input_tokens, 64);
        }
        let ran_something = items.iter().any(|h| h.kind() == ItemKind::FunctionCall);
        let user_messages = items.iter().filter(|h| is_user_message(h)).count();
        if ran_something || user_messages > 1 {
            // A continued, resumed or compacted conversation.
            return ScriptedResponse::new()
                .text(PLAIN, 8)
                .usage(input_tokens, estimate_tokens(PLAIN));
        }
        ScriptedResponse::new()
            .text(INTRO, 6)
            .shell_call(format!("call_demo_{}", request.input.len()), &COMMAND)
            .usage(input_tokens, estimate_tokens(INTRO) + 12)
    }
}

/// A message the user wrote (not the environment context the session adds).
fn is_user_message(item: &HistoryItem) -> bool {
    item.role().as_deref() == Some("user")
        && !item
            .item()
            .message_text()
            .is_some_and(|text| text.starts_with("<environment_context>"))
}

/// About four characters a token.
fn estimate_tokens(text: &str) -> u64 {
    u64::try_from(text.len() / 4).unwrap_or(u64::MAX).max(1)
}

fn estimate_tokens_of(request: &ModelRequest) -> u64 {
    estimate_tokens(&request.input.to_json_array())
}

// Written out instead of `#[async_trait]` (not a dependency of this crate): the signature is
// exactly what that macro generates for `async fn stream(&self, request)`.
impl ModelClient for DemoModel {
    fn stream<'life0, 'async_trait>(
        &'life0 self,
        request: ModelRequest,
    ) -> Pin<Box<dyn Future<Output = Result<ModelStream, ModelError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        let script = ScriptedModel::new([Self::respond(&request)]);
        Box::pin(async move { script.stream(request).await })
    }
}

#[cfg(test)]
mod tests;
