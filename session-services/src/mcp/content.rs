//! What a tool call returns, in our own types, and its rendering as text for a model.
//!
//! Exists so callers never see rmcp's types, which change with every protocol revision. It must
//! not drop content silently: what it cannot map is kept as JSON text.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::Value;

/// One piece of a tool's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpContent {
    /// Text, as the server wrote it.
    Text(String),
    /// An image: base64 `data` of type `mime_type`.
    Image {
        /// The image bytes, base64.
        data: String,
        /// Its MIME type, such as `image/png`.
        mime_type: String,
    },
    /// Audio: base64 `data` of type `mime_type`.
    Audio {
        /// The audio bytes, base64.
        data: String,
        /// Its MIME type, such as `audio/wav`.
        mime_type: String,
    },
    /// A link to a resource the server can serve.
    ResourceLink {
        /// The resource's URI.
        uri: String,
        /// Its name.
        name: String,
    },
    /// A resource embedded in the answer: its text, or `None` for binary contents.
    Resource {
        /// The resource's URI.
        uri: String,
        /// Its text contents, when they are text.
        text: Option<String>,
    },
}

/// A tool's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct McpCallResult {
    /// The content blocks, in order.
    pub content: Vec<McpContent>,
    /// The structured result, when the tool gave one.
    pub structured: Option<Value>,
    /// Whether the tool reported a failure (`isError`); the content says what went wrong.
    pub is_error: bool,
}

impl McpCallResult {
    /// The answer as text for a model: text parts as they are, resource links and images
    /// described in brackets (`[resource: name <uri>]`, `[image: image/png, 70 bytes]`), then the
    /// structured content as JSON unless a text part already carries the same JSON. Parts are
    /// separated by newlines. Images are described, not included: a caller that can send them
    /// to the model does so from [`McpCallResult::content`].
    pub fn to_text(&self) -> String {
        let mut parts: Vec<String> = self.content.iter().map(render).collect();
        if let Some(structured) = &self.structured {
            let repeated = self.content.iter().any(|c| match c {
                McpContent::Text(text) => {
                    serde_json::from_str::<Value>(text).is_ok_and(|v| &v == structured)
                }
                _ => false,
            });
            if !repeated {
                parts.push(structured.to_string());
            }
        }
        parts.join("\n")
    }
}

fn render(content: &McpContent) -> String {
    match content {
        McpContent::Text(text) => text.clone(),
        McpContent::Image { data, mime_type } => {
            format!("[image: {mime_type}, {} bytes]", decoded_len(data))
        }
        McpContent::Audio { data, mime_type } => {
            format!("[audio: {mime_type}, {} bytes]", decoded_len(data))
        }
        McpContent::ResourceLink { uri, name } => format!("[resource: {name} <{uri}>]"),
        McpContent::Resource {
            uri,
            text: Some(text),
        } => format!("[resource: <{uri}>]\n{text}"),
        McpContent::Resource { uri, text: None } => format!("[resource: <{uri}>]"),
    }
}

/// How many bytes base64 `data` decodes to, without decoding it.
pub(crate) fn decoded_len(data: &str) -> usize {
    let symbols = data.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    let padding = data
        .bytes()
        .rev()
        .filter(|b| !b.is_ascii_whitespace())
        .take_while(|&b| b == b'=')
        .count();
    (symbols - padding) * 3 / 4
}

impl From<CallToolResult> for McpCallResult {
    fn from(result: CallToolResult) -> Self {
        Self {
            content: result.content.into_iter().map(content).collect(),
            structured: result.structured_content,
            is_error: result.is_error.unwrap_or(false),
        }
    }
}

fn content(block: ContentBlock) -> McpContent {
    match block {
        ContentBlock::Text(text) => McpContent::Text(text.text),
        ContentBlock::Image(image) => McpContent::Image {
            data: image.data,
            mime_type: image.mime_type,
        },
        ContentBlock::Audio(audio) => McpContent::Audio {
            data: audio.data,
            mime_type: audio.mime_type,
        },
        ContentBlock::ResourceLink(link) => McpContent::ResourceLink {
            uri: link.uri,
            name: link.name,
        },
        ContentBlock::Resource(embedded) => match embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => McpContent::Resource {
                uri,
                text: Some(text),
            },
            ResourceContents::BlobResourceContents { uri, .. } => {
                McpContent::Resource { uri, text: None }
            }
            other => McpContent::Text(serde_json::to_string(&other).unwrap_or_default()),
        },
        // A kind newer than this code: kept, as the JSON the server sent.
        #[allow(unreachable_patterns)]
        other => McpContent::Text(serde_json::to_string(&other).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests;
