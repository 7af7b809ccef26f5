//! Tests of the prompt's commands and the status report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use session_core::{TokenUsage, TokenUsageInfo};

use super::{Command, parse_command, status_text};
use crate::config::{ConfigInputs, load};

#[test]
fn slash_commands_are_recognized_and_everything_else_is_input() {
    assert_eq!(parse_command("/status"), Command::Status);
    assert_eq!(parse_command(" /compact "), Command::Compact);
    assert_eq!(parse_command("/quit"), Command::Quit);
    assert_eq!(parse_command("/exit"), Command::Quit);
    assert_eq!(parse_command("   "), Command::Nothing);
    assert_eq!(parse_command("/frob"), Command::Unknown("/frob".to_owned()));
    assert_eq!(
        parse_command("/usr/bin is where?"),
        Command::Input("/usr/bin is where?".to_owned())
    );
    assert_eq!(parse_command("hello"), Command::Input("hello".to_owned()));
}

#[test]
fn status_shows_model_tokens_and_context_left() {
    let settings = load(&ConfigInputs::default()).unwrap().settings;
    let usage = TokenUsage {
        input_tokens: 30_000,
        output_tokens: 2_000,
        total_tokens: 32_000,
        ..TokenUsage::default()
    };
    let info = TokenUsageInfo {
        total_token_usage: usage,
        last_token_usage: usage,
        model_context_window: Some(128_000),
    };
    let text = status_text(&settings, "abc", Some(info));
    assert!(
        text.contains("model:        demo (provider demo)"),
        "{text}"
    );
    assert!(text.contains("session:      abc"), "{text}");
    assert!(text.contains("30000 in, 2000 out"), "{text}");
    assert!(
        text.contains("context left: 75% of 128000 tokens"),
        "{text}"
    );

    let fresh = status_text(&settings, "abc", None);
    assert!(fresh.contains("0 in, 0 out"), "{fresh}");
    assert!(fresh.contains("context left: 100%"), "{fresh}");
}
