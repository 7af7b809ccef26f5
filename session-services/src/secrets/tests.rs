//! Tests of the registry. Values are unique per test: the registry is process-wide.

#![allow(clippy::unwrap_used)]

use serde::{Deserialize, Serialize};

use super::*;

#[test]
fn registered_values_are_redacted_and_short_ones_ignored() {
    register_secret("sk-test-registry-0001");
    register_secret("short");
    assert_eq!(
        redact("key sk-test-registry-0001, again sk-test-registry-0001; short stays"),
        "key <redacted>, again <redacted>; short stays"
    );
    assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
}

#[test]
fn a_key_containing_another_is_replaced_whole() {
    register_secret("sk-nested-0002");
    register_secret("sk-nested-0002-and-more");
    assert_eq!(redact("[sk-nested-0002-and-more]"), "[<redacted>]");
}

#[test]
fn bytes_and_serialized_values_are_redacted() {
    register_secret("sk-bytes-0003\"quoted");
    let mut bytes = b"out: sk-bytes-0003\"quoted!".to_vec();
    redact_bytes(&mut bytes);
    assert_eq!(bytes, b"out: <redacted>!");

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Event {
        message: String,
        nested: Vec<String>,
    }
    let event = Event {
        message: "failed: sk-bytes-0003\"quoted".to_owned(),
        nested: vec!["a sk-bytes-0003\"quoted b".to_owned()],
    };
    assert_eq!(
        redact_value(event),
        Some(Event {
            message: "failed: <redacted>".to_owned(),
            nested: vec!["a <redacted> b".to_owned()],
        })
    );
}

#[test]
fn declared_and_credential_like_variables_are_secret() {
    for name in [
        "OPENAI_API_KEY",
        "gh_token",
        "DB_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        assert!(is_secret_variable(name), "{name}");
    }
    assert!(!is_secret_variable("MY_MODEL_ACCESS_0004"));
    protect_variable("MY_MODEL_ACCESS_0004");
    assert!(is_secret_variable("MY_MODEL_ACCESS_0004"));
    for name in ["PATH", "HOME", "LANG", "SSH_AUTH_SOCK"] {
        assert!(!is_secret_variable(name), "{name}");
    }
}

#[test]
fn a_secret_cut_between_pieces_is_still_redacted() {
    register_secret("sk-stream-0005-abcdef");
    let mut stream = StreamRedactor::new();
    let mut shown = String::new();
    for piece in [
        "your key: sk-st",
        "ream-00",
        "05-abc",
        "def, and sk-",
        "nothing",
    ] {
        shown.push_str(&stream.push_str(piece));
    }
    shown.push_str(&stream.finish_str());
    assert_eq!(shown, "your key: <redacted>, and sk-nothing");
    // Text that cannot begin a secret is never held back.
    assert_eq!(stream.push_str("plain text"), "plain text");
    let mut bytes = StreamRedactor::new();
    let mut out = bytes.push_bytes(b"x sk-stream-0005");
    out.extend(bytes.push_bytes(b"-abcdef y"));
    out.extend(bytes.finish());
    assert_eq!(out, b"x <redacted> y");
}
