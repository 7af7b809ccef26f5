//! Tests of the provider config: serde defaults, the wire API names, building clients, and that
//! nothing secret reaches a `Debug` string or an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::header::AUTHORIZATION;

use super::endpoint::ApiKey;
use super::*;

#[test]
fn a_minimal_config_gets_the_defaults() {
    let config: ProviderConfig = serde_json::from_str(
        r#"{"name":"openai","base_url":"https://api.openai.com/v1","env_key":"OPENAI_API_KEY"}"#,
    )
    .unwrap();
    assert_eq!(config.wire_api, WireApi::Responses);
    assert_eq!(config.env_key.as_deref(), Some("OPENAI_API_KEY"));
    assert_eq!(config.request_max_retries, 4);
    assert_eq!(config.stream_max_retries, 5);
    assert_eq!(config.stream_idle_timeout_ms, 300_000);
    assert_eq!(config.stream_idle_timeout(), Duration::from_secs(300));
    assert_eq!(config.retry_base_delay_ms, 200);
    assert!(config.headers.is_empty());
    let built = ProviderConfig {
        env_key: Some("OPENAI_API_KEY".into()),
        ..ProviderConfig::new("openai", "https://api.openai.com/v1", WireApi::Responses)
    };
    assert_eq!(config, built);
}

#[test]
fn wire_api_names_are_lowercase() {
    let chat: ProviderConfig = serde_json::from_str(
        r#"{"name":"ollama","base_url":"http://localhost:11434/v1","wire_api":"chat",
            "headers":{"x-extra":"1"},"request_max_retries":0}"#,
    )
    .unwrap();
    assert_eq!(chat.wire_api, WireApi::Chat);
    assert_eq!(chat.request_max_retries, 0);
    assert_eq!(chat.headers.get("x-extra").map(String::as_str), Some("1"));
    assert_eq!(
        serde_json::to_string(&WireApi::Responses).unwrap(),
        "\"responses\""
    );
    assert!(serde_json::from_str::<WireApi>("\"Chat\"").is_err());
}

#[test]
fn debug_of_a_config_shows_header_names_but_not_their_values() {
    let mut config = ProviderConfig::new("azure", "https://example.invalid/v1", WireApi::Chat);
    config
        .headers
        .insert("api-key".into(), "very-secret-value".into());
    let debug = format!("{config:?}");
    assert!(debug.contains("api-key"), "{debug}");
    assert!(!debug.contains("very-secret-value"), "{debug}");
}

#[test]
fn a_missing_key_variable_is_a_config_error_naming_it() {
    let config = ProviderConfig {
        env_key: Some("SESSION_SERVICES_TEST_SURELY_UNSET_KEY".into()),
        ..ProviderConfig::new("openai", "https://api.openai.com/v1", WireApi::Responses)
    };
    let Err(err) = config.client() else {
        panic!("client built without its key");
    };
    match &err {
        ModelError::Config(message) => {
            assert!(
                message.contains("SESSION_SERVICES_TEST_SURELY_UNSET_KEY"),
                "{message}"
            );
            assert!(message.contains("openai"), "{message}");
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn an_invalid_base_url_or_header_is_a_config_error() {
    let bad_url = ProviderConfig::new("x", "not a url", WireApi::Chat);
    assert!(matches!(bad_url.client(), Err(ModelError::Config(_))));
    let mut bad_header = ProviderConfig::new("x", "http://127.0.0.1:1/v1", WireApi::Chat);
    bad_header.headers.insert("bad header".into(), "v".into());
    assert!(matches!(bad_header.client(), Err(ModelError::Config(_))));
}

#[test]
fn the_key_is_read_from_the_environment_and_redacted_in_debug() {
    // Cargo sets this variable for every test process; its value stands in for a key.
    let key = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let config = ProviderConfig {
        env_key: Some("CARGO_MANIFEST_DIR".into()),
        ..ProviderConfig::new("p", "http://127.0.0.1:1/v1", WireApi::Responses)
    };
    let endpoint = Endpoint::new(&config, "responses", Auth::Bearer, &[]).unwrap();
    assert_eq!(
        endpoint.key.as_ref().map(ApiKey::expose),
        Some(key.as_str())
    );
    let auth = endpoint.headers.get(AUTHORIZATION).unwrap();
    assert_eq!(auth.to_str().unwrap(), format!("Bearer {key}"));
    assert!(auth.is_sensitive());
    let debug = format!("{endpoint:?}");
    assert!(!debug.contains(&key), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}
