//! What the engine writes into history for itself, and how it knows those items again.
//!
//! Items the session adds on its own (the environment context, a compaction summary, the note
//! an interrupt leaves) are built here and nowhere else, each starting with its own tag, so
//! [`Marker::of`] can tell them from what the user typed: a tag is recognised only at the very
//! start of a user message the session built, and user input that starts with a tag is escaped
//! when it is recorded (see [`escape_user_text`]).

use session_state::ResponseItem;

/// Starts the environment-context message.
pub(crate) const ENVIRONMENT_TAG: &str = "<environment_context>";
/// Starts the message that carries the user's instructions for the project.
pub(crate) const USER_INSTRUCTIONS_TAG: &str = "<user_instructions>";
/// Starts the message that carries a compaction summary.
pub(crate) const SUMMARY_PREFIX: &str = "Summary of the conversation before compaction:\n";
/// The message an interrupt leaves for the model.
pub(crate) const INTERRUPT_NOTE: &str = "<turn_aborted>The user interrupted the previous turn; its unfinished tool calls were stopped.</turn_aborted>";

/// A kind of item the session writes for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// The user's instructions for the project (`AGENTS.md`).
    UserInstructions,
    /// Where the session works and under which policies.
    EnvironmentContext,
    /// What compaction kept of the conversation before it.
    Summary,
    /// The note an interrupted turn leaves.
    InterruptNote,
}

impl Marker {
    /// The marker of `item`, if the session wrote it.
    pub(crate) fn of(item: &ResponseItem) -> Option<Marker> {
        if item.role() != Some("user") {
            return None;
        }
        let text = item.message_text()?;
        if text.starts_with(ENVIRONMENT_TAG) {
            Some(Marker::EnvironmentContext)
        } else if text.starts_with(USER_INSTRUCTIONS_TAG) {
            Some(Marker::UserInstructions)
        } else if text.starts_with(SUMMARY_PREFIX) {
            Some(Marker::Summary)
        } else if text == INTERRUPT_NOTE {
            Some(Marker::InterruptNote)
        } else {
            None
        }
    }
}

/// The message that carries a compaction summary.
pub(crate) fn summary_item(summary: &str) -> ResponseItem {
    ResponseItem::user_text(format!("{SUMMARY_PREFIX}{summary}"))
}

/// The message that carries the user's instructions for the project.
pub(crate) fn user_instructions_item(text: &str) -> ResponseItem {
    ResponseItem::user_text(format!(
        "{USER_INSTRUCTIONS_TAG}\n{text}\n</user_instructions>"
    ))
}

/// The note an interrupted turn leaves.
pub(crate) fn interrupt_note() -> ResponseItem {
    ResponseItem::user_text(INTERRUPT_NOTE)
}

/// User text as it is recorded: a message that would start with one of the session's tags gets
/// a space in front, so nothing the user types passes for an item the session wrote.
pub(crate) fn escape_user_text(text: String) -> String {
    let tagged = [
        ENVIRONMENT_TAG,
        USER_INSTRUCTIONS_TAG,
        SUMMARY_PREFIX,
        "<turn_aborted>",
    ]
    .iter()
    .any(|tag| text.starts_with(tag));
    if tagged { format!(" {text}") } else { text }
}

#[cfg(test)]
mod tests;
