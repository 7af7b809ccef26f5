//! One history item, kept in one form: its JSON, rendered once, plus a small header of facts
//! read off the item when it was rendered.
//!
//! The JSON is what requests and the recording are made of, so it is the form kept. The header
//! answers what hot paths ask of every item (its kind, a message's role and whether it has
//! text, a reasoning item's id and whether it carries encrypted content, a call's `call_id`)
//! without parsing. Anything else parses the JSON back into an owned [`ResponseItem`] on demand.
//! It must never hold the parsed item: that would keep history twice.

use std::borrow::Cow;

use crate::items::{ContentItem, ResponseItem};

/// The kind of a history item, known without parsing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemKind {
    /// [`ResponseItem::Message`].
    Message,
    /// [`ResponseItem::Reasoning`].
    Reasoning,
    /// [`ResponseItem::FunctionCall`].
    FunctionCall,
    /// [`ResponseItem::FunctionCallOutput`].
    FunctionCallOutput,
}

/// One history item: its JSON, rendered once, and a few facts about it.
#[derive(Debug, PartialEq, Eq)]
pub struct HistoryItem {
    json: Box<str>,
    head: Head,
}

/// What is known about an item without parsing its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    kind: ItemKind,
    /// A message with at least one non-empty text part.
    has_text: bool,
    /// A reasoning item carrying encrypted content.
    encrypted: bool,
    /// Where the item's key (a message's role, a reasoning item's id, a call's `call_id`) is in
    /// the JSON; `None` when the JSON holds it escaped, and reading it means parsing.
    key: Option<Span>,
}

/// A byte range of the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

/// What history holds in the impossible case that an item cannot be rendered: valid JSON of an
/// empty user message, so reading it back cannot fail either.
const UNRENDERABLE: &str = r#"{"type":"message","role":"user","content":[]}"#;

impl HistoryItem {
    /// Wrap an item, rendering its JSON now; the item itself is not kept.
    pub fn new(item: ResponseItem) -> Self {
        // Serializing our own enum of strings cannot fail.
        let Ok(json) = serde_json::to_string(&item) else {
            debug_assert!(false, "a history item did not serialize");
            return Self::new_unrenderable();
        };
        let (kind, needle, key) = match &item {
            ResponseItem::Message { role, .. } => (ItemKind::Message, "\"role\":\"", role),
            ResponseItem::Reasoning { id, .. } => (ItemKind::Reasoning, "\"id\":\"", id),
            ResponseItem::FunctionCall { call_id, .. } => {
                (ItemKind::FunctionCall, "\"call_id\":\"", call_id)
            }
            ResponseItem::FunctionCallOutput { call_id, .. } => {
                (ItemKind::FunctionCallOutput, "\"call_id\":\"", call_id)
            }
        };
        let head = Head {
            kind,
            has_text: has_text(&item),
            encrypted: matches!(
                &item,
                ResponseItem::Reasoning {
                    encrypted_content: Some(_),
                    ..
                }
            ),
            key: locate(&json, needle, key),
        };
        Self {
            json: json.into_boxed_str(),
            head,
        }
    }

    fn new_unrenderable() -> Self {
        Self {
            json: UNRENDERABLE.into(),
            head: Head {
                kind: ItemKind::Message,
                has_text: false,
                encrypted: false,
                key: None,
            },
        }
    }

    /// The item, parsed from its JSON now (history keeps only the JSON).
    pub fn item(&self) -> ResponseItem {
        // The JSON is our own rendering of a `ResponseItem`, so it reads back.
        serde_json::from_str(&self.json).unwrap_or_else(|_| {
            debug_assert!(false, "a history item's JSON did not read back");
            ResponseItem::Message {
                id: None,
                role: "user".to_owned(),
                content: Vec::new(),
            }
        })
    }

    /// The item's JSON, rendered once when it entered history.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The item's kind.
    pub fn kind(&self) -> ItemKind {
        self.head.kind
    }

    /// The role of a message, or `None` for other items.
    pub fn role(&self) -> Option<Cow<'_, str>> {
        self.key(ItemKind::Message)
    }

    /// The id of a reasoning item, or `None` for other items.
    pub fn reasoning_id(&self) -> Option<Cow<'_, str>> {
        self.key(ItemKind::Reasoning)
    }

    /// The `call_id` of a function call, if this is one.
    pub fn call_id(&self) -> Option<Cow<'_, str>> {
        self.key(ItemKind::FunctionCall)
    }

    /// The `call_id` this item answers, if it is a function call output.
    pub fn output_call_id(&self) -> Option<Cow<'_, str>> {
        self.key(ItemKind::FunctionCallOutput)
    }

    /// Whether this is a message with at least one non-empty text part.
    pub fn has_text(&self) -> bool {
        self.head.has_text
    }

    /// Whether this is a reasoning item carrying encrypted content.
    pub fn has_encrypted_content(&self) -> bool {
        self.head.encrypted
    }

    /// The key of an item of `kind`: from the JSON's bytes where they hold it as it is, else
    /// by parsing.
    fn key(&self, kind: ItemKind) -> Option<Cow<'_, str>> {
        if self.head.kind != kind {
            return None;
        }
        let found = self.head.key.and_then(|s| {
            let start = s.start as usize;
            self.json.get(start..start + s.len as usize)
        });
        Some(match found {
            Some(key) => Cow::Borrowed(key),
            None => Cow::Owned(key_of(&self.item()).to_owned()),
        })
    }
}

/// The string a [`HistoryItem`]'s header locates for each kind.
fn key_of(item: &ResponseItem) -> &str {
    match item {
        ResponseItem::Message { role, .. } => role,
        ResponseItem::Reasoning { id, .. } => id,
        ResponseItem::FunctionCall { call_id, .. }
        | ResponseItem::FunctionCallOutput { call_id, .. } => call_id,
    }
}

fn has_text(item: &ResponseItem) -> bool {
    let ResponseItem::Message { content, .. } = item else {
        return false;
    };
    content.iter().any(|part| match part {
        ContentItem::InputText { text } | ContentItem::OutputText { text } => !text.is_empty(),
        ContentItem::InputImage { .. } => false,
    })
}

/// Where `value` is in `json`: the bytes after the first `needle`, kept only when they are
/// `value` itself (not escaped), so reading the span can only ever give `value`.
fn locate(json: &str, needle: &str, value: &str) -> Option<Span> {
    let start = json.find(needle)? + needle.len();
    let end = start.checked_add(value.len())?;
    (json.get(start..end) == Some(value)).then_some(Span {
        start: u32::try_from(start).ok()?,
        len: u32::try_from(value.len()).ok()?,
    })
}

#[cfg(test)]
mod tests;
