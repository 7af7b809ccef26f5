//! Tests of which inherited variables are kept from commands.

use crate::secrets::is_secret_variable;

#[test]
fn credentials_are_recognized_by_name_in_any_case() {
    for name in [
        "OPENAI_API_KEY",
        "api_key",
        "GITHUB_TOKEN",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "MyKeyFile",
    ] {
        assert!(is_secret_variable(name), "{name}");
    }
    for name in ["PATH", "HOME", "LANG", "CARGO_PKG_NAME", "TERM"] {
        assert!(!is_secret_variable(name), "{name}");
    }
}
