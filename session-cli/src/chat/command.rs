//! What a line typed at the chat's prompt means (`/status`, `/compact`, `/quit`, or input for
//! the agent), and the `/status` report. Pure functions: nothing here reads or prints.

use session_core::TokenUsageInfo;

use crate::config::Settings;

/// What a line typed at the prompt means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Nothing (an empty line).
    Nothing,
    /// Text for the agent.
    Input(String),
    /// `/status`.
    Status,
    /// `/compact`.
    Compact,
    /// `/quit` or `/exit`.
    Quit,
    /// A slash command we do not know.
    Unknown(String),
}

/// Read a prompt line.
pub(crate) fn parse_command(line: &str) -> Command {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Command::Nothing;
    }
    match trimmed {
        "/status" => Command::Status,
        "/compact" => Command::Compact,
        "/quit" | "/exit" => Command::Quit,
        other if other.starts_with('/') && !other.contains(char::is_whitespace) => {
            Command::Unknown(other.to_owned())
        }
        _ => Command::Input(line.to_owned()),
    }
}

/// The `/status` report.
pub(crate) fn status_text(
    settings: &Settings,
    session_id: &str,
    info: Option<TokenUsageInfo>,
) -> String {
    let mut text = format!(
        "model:        {} (provider {})\nsession:      {session_id}\n",
        settings.model, settings.provider_id
    );
    let total = info.map(|i| i.total_token_usage).unwrap_or_default();
    text.push_str(&format!(
        "tokens used:  {} in, {} out ({} total)\n",
        total.input_tokens, total.output_tokens, total.total_tokens
    ));
    let window = info
        .and_then(|i| i.model_context_window)
        .or(settings.context_window);
    match window {
        Some(window) if window > 0 => {
            let used = info.map_or(0, |i| i.last_token_usage.tokens_in_context());
            let left = 100u64.saturating_sub(used.saturating_mul(100) / window);
            text.push_str(&format!("context left: {left}% of {window} tokens\n"));
        }
        _ => text.push_str("context left: unknown (no context window configured)\n"),
    }
    text
}

#[cfg(test)]
mod tests;
