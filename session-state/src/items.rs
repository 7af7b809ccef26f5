//! Conversation items a model exchanges: messages, reasoning, function calls and their outputs.
//!
//! The serde form is the OpenAI Responses API item form, so history can be sent to a Responses
//! server as it is stored. Other wire formats (Chat Completions) convert from these in services.

use serde::{Deserialize, Serialize};

/// One item of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseItem {
    /// A message from the user, the assistant, or the system/developer.
    Message {
        /// Server-assigned id, when the server sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// `user`, `assistant`, `system` or `developer`.
        role: String,
        /// The message's parts.
        content: Vec<ContentItem>,
    },
    /// The model's reasoning.
    Reasoning {
        /// Server-assigned id.
        #[serde(default)]
        id: String,
        /// Reasoning summary parts.
        #[serde(default)]
        summary: Vec<ReasoningSummaryPart>,
        /// Opaque reasoning the server can read back, when it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        encrypted_content: Option<String>,
    },
    /// The model calls a tool.
    FunctionCall {
        /// Server-assigned id, when the server sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The tool's name.
        name: String,
        /// The arguments, a JSON text.
        arguments: String,
        /// Pairs the call with its output.
        call_id: String,
    },
    /// The output of a tool call, sent back to the model.
    FunctionCallOutput {
        /// The call this answers.
        call_id: String,
        /// What the tool produced, as the model sees it.
        output: String,
    },
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ContentItem {
    /// Text from the user (or system).
    InputText {
        /// The text.
        text: String,
    },
    /// An image from the user.
    InputImage {
        /// The image URL (usually a `data:` URL).
        image_url: String,
    },
    /// Text from the model.
    OutputText {
        /// The text.
        text: String,
    },
}

/// One part of a reasoning summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReasoningSummaryPart {
    /// Summary text.
    SummaryText {
        /// The text.
        text: String,
    },
}

impl ResponseItem {
    /// A user message holding one text part.
    pub fn user_text(text: impl Into<String>) -> Self {
        ResponseItem::Message {
            id: None,
            role: "user".to_owned(),
            content: vec![ContentItem::InputText { text: text.into() }],
        }
    }

    /// An assistant message holding one text part.
    pub fn assistant_text(text: impl Into<String>) -> Self {
        ResponseItem::Message {
            id: None,
            role: "assistant".to_owned(),
            content: vec![ContentItem::OutputText { text: text.into() }],
        }
    }

    /// The `call_id` of a function call, if this is one.
    pub fn call_id(&self) -> Option<&str> {
        match self {
            ResponseItem::FunctionCall { call_id, .. } => Some(call_id),
            _ => None,
        }
    }

    /// The `call_id` this item answers, if it is a function call output.
    pub fn output_call_id(&self) -> Option<&str> {
        match self {
            ResponseItem::FunctionCallOutput { call_id, .. } => Some(call_id),
            _ => None,
        }
    }

    /// The text of a message (all text parts joined), or `None` for other items.
    pub fn message_text(&self) -> Option<String> {
        match self {
            ResponseItem::Message { content, .. } => {
                let mut out = String::new();
                for part in content {
                    match part {
                        ContentItem::InputText { text } | ContentItem::OutputText { text } => {
                            out.push_str(text);
                        }
                        ContentItem::InputImage { .. } => {}
                    }
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// The role of a message, or `None` for other items.
    pub fn role(&self) -> Option<&str> {
        match self {
            ResponseItem::Message { role, .. } => Some(role),
            _ => None,
        }
    }
}
