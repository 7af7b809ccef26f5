//! Tests of the configuration: precedence, overrides, providers and error messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use session_core::services::WireApi;
use session_core::{AskForApproval, AutoCompact, SandboxPolicy};

use super::location::{key_at_line, line_of};
use super::{ConfigFile, ConfigInputs, ModelSource, declared_env_keys, load, parse_override};

fn file(text: &str) -> Option<ConfigFile> {
    Some(ConfigFile {
        path: PathBuf::from("/home/me/.session/config.toml"),
        text: text.to_owned(),
    })
}

fn error_of(inputs: &ConfigInputs) -> String {
    format!("{:#}", load(inputs).unwrap_err())
}

#[test]
fn nothing_configured_and_no_key_uses_the_demo_and_says_so() {
    let loaded = load(&ConfigInputs::default()).unwrap();
    assert_eq!(loaded.settings.source, ModelSource::Demo);
    assert_eq!(loaded.settings.provider_id, "demo");
    // Nothing asked for: the session picks the machine's safe defaults.
    assert_eq!(loaded.settings.approval_policy, None);
    assert_eq!(loaded.settings.sandbox_policy(false), None);
    assert!(matches!(
        loaded.settings.sandbox_policy(true),
        Some(SandboxPolicy::WorkspaceWrite { .. })
    ));
    assert_eq!(loaded.notices.len(), 1);
    assert!(loaded.notices[0].contains("using the offline demo model"));
}

#[test]
fn an_openai_key_selects_openai_with_gpt_5() {
    let inputs = ConfigInputs {
        openai_key_set: true,
        ..ConfigInputs::default()
    };
    let loaded = load(&inputs).unwrap();
    assert!(loaded.notices.is_empty());
    assert_eq!(loaded.settings.model, "gpt-5");
    let ModelSource::Http(provider) = &loaded.settings.source else {
        panic!("expected an http provider");
    };
    assert_eq!(provider.base_url, "https://api.openai.com/v1");
    assert_eq!(provider.wire_api, WireApi::Responses);
    assert_eq!(provider.env_key.as_deref(), Some("OPENAI_API_KEY"));
}

#[test]
fn flags_beat_overrides_beat_environment_beat_the_file() {
    let mut inputs = ConfigInputs {
        file: file("model = \"from-file\"\n"),
        ..ConfigInputs::default()
    };
    assert_eq!(load(&inputs).unwrap().settings.model, "from-file");
    inputs.env_model = Some("from-env".to_owned());
    assert_eq!(load(&inputs).unwrap().settings.model, "from-env");
    inputs.overrides = vec!["model=\"from-override\"".to_owned()];
    assert_eq!(load(&inputs).unwrap().settings.model, "from-override");
    inputs.flag_model = Some("from-flag".to_owned());
    assert_eq!(load(&inputs).unwrap().settings.model, "from-flag");
}

#[test]
fn full_auto_sets_the_approval_policy_to_never_over_everything() {
    let inputs = ConfigInputs {
        file: file("approval_policy = \"on-request\"\n"),
        env_approval_policy: Some("on-failure".to_owned()),
        flag_approval_policy: Some("untrusted".to_owned()),
        full_auto: true,
        ..ConfigInputs::default()
    };
    assert_eq!(
        load(&inputs).unwrap().settings.approval_policy,
        Some(AskForApproval::Never)
    );
}

#[test]
fn overrides_define_a_provider_at_a_dotted_path() {
    let inputs = ConfigInputs {
        overrides: vec![
            "model_provider=mock".to_owned(),
            "model_providers.mock.base_url=\"http://127.0.0.1:9/v1\"".to_owned(),
            "model_providers.mock.wire_api=chat".to_owned(),
            "model_providers.mock.request_max_retries=0".to_owned(),
            "model_providers.mock.http_headers={ x-team = \"a\" }".to_owned(),
            "model=local".to_owned(),
        ],
        ..ConfigInputs::default()
    };
    let loaded = load(&inputs).unwrap();
    assert!(loaded.notices.is_empty(), "{:?}", loaded.notices);
    let ModelSource::Http(provider) = &loaded.settings.source else {
        panic!("expected an http provider");
    };
    assert_eq!(provider.name, "mock");
    assert_eq!(provider.base_url, "http://127.0.0.1:9/v1");
    assert_eq!(provider.wire_api, WireApi::Chat);
    assert_eq!(provider.request_max_retries, 0);
    assert_eq!(
        provider.headers.get("x-team").map(String::as_str),
        Some("a")
    );
    assert_eq!(loaded.settings.model, "local");
}

#[test]
fn a_bare_word_override_is_a_string_and_toml_values_keep_their_type() {
    let (path, value) = parse_override("model=gpt-5").unwrap();
    assert_eq!(path, vec!["model"]);
    assert_eq!(value, toml::Value::String("gpt-5".to_owned()));
    let (_, value) = parse_override("model_context_window=1000").unwrap();
    assert_eq!(value, toml::Value::Integer(1000));
    let (_, value) = parse_override("notify=[\"notify-send\", \"-u\"]").unwrap();
    assert_eq!(value.as_array().map(Vec::len), Some(2));
    assert!(parse_override("no-equals-sign").is_err());
    assert!(parse_override("a..b=1").is_err());
}

#[test]
fn a_built_in_provider_takes_fields_from_its_table() {
    let inputs = ConfigInputs {
        file: file(
            "model_provider = \"ollama\"\nmodel = \"llama3\"\n\n[model_providers.ollama]\n\
             base_url = \"http://gpu-box:11434/v1\"\nheaders = { a = \"1\" }\n\
             http_headers = { b = \"2\" }\n",
        ),
        ..ConfigInputs::default()
    };
    let loaded = load(&inputs).unwrap();
    let ModelSource::Http(provider) = &loaded.settings.source else {
        panic!("expected an http provider");
    };
    assert_eq!(provider.base_url, "http://gpu-box:11434/v1");
    assert_eq!(provider.wire_api, WireApi::Chat);
    assert_eq!(provider.env_key, None);
    assert_eq!(provider.headers.len(), 2);
}

#[test]
fn the_built_in_anthropic_provider_speaks_messages_with_its_key_and_a_default_model() {
    let inputs = ConfigInputs {
        file: file(
            "model_provider = \"anthropic\"\n\n[model_providers.anthropic]\nmax_tokens = 4096\n",
        ),
        ..ConfigInputs::default()
    };
    let loaded = load(&inputs).unwrap();
    let ModelSource::Http(provider) = &loaded.settings.source else {
        panic!("expected an http provider");
    };
    assert_eq!(provider.base_url, "https://api.anthropic.com/v1");
    assert_eq!(provider.wire_api, WireApi::Messages);
    assert_eq!(provider.env_key.as_deref(), Some("ANTHROPIC_API_KEY"));
    assert_eq!(provider.max_tokens, 4096);
    assert_eq!(loaded.settings.model, "claude-sonnet-4-5");
    assert_eq!(loaded.settings.context_window, Some(200_000));
    assert!(declared_env_keys(None, &[]).contains(&"ANTHROPIC_API_KEY".to_owned()));
}

#[test]
fn store_and_wire_api_messages_are_read_from_a_custom_provider() {
    let inputs = ConfigInputs {
        file: file(
            "model_provider = \"proxy\"\nmodel = \"m\"\n\n[model_providers.proxy]\n\
             base_url = \"http://127.0.0.1:4000/v1\"\nwire_api = \"messages\"\nstore = true\n",
        ),
        ..ConfigInputs::default()
    };
    let loaded = load(&inputs).unwrap();
    assert!(loaded.notices.is_empty(), "{:?}", loaded.notices);
    let ModelSource::Http(provider) = &loaded.settings.source else {
        panic!("expected an http provider");
    };
    assert_eq!(provider.wire_api, WireApi::Messages);
    assert!(provider.store);
}

#[test]
fn a_wrong_type_in_the_file_names_the_file_the_line_and_the_key() {
    let inputs = ConfigInputs {
        file: file("model = \"x\"\n\nmodel_context_window = \"big\"\n"),
        ..ConfigInputs::default()
    };
    let message = error_of(&inputs);
    assert!(
        message.contains("/home/me/.session/config.toml"),
        "{message}"
    );
    assert!(message.contains("line 3"), "{message}");
    assert!(message.contains("`model_context_window`"), "{message}");
}

#[test]
fn a_wrong_type_in_a_provider_table_names_the_dotted_key() {
    let inputs = ConfigInputs {
        file: file("[model_providers.m]\nbase_url = \"u\"\nrequest_max_retries = -1\n"),
        ..ConfigInputs::default()
    };
    let message = error_of(&inputs);
    assert!(message.contains("line 3"), "{message}");
    assert!(
        message.contains("`model_providers.m.request_max_retries`"),
        "{message}"
    );
}

#[test]
fn a_syntax_error_names_the_file_and_the_line() {
    let inputs = ConfigInputs {
        file: file("model = \"x\"\napproval_policy = \n"),
        ..ConfigInputs::default()
    };
    let message = error_of(&inputs);
    assert!(message.contains("config.toml at line 2"), "{message}");
    assert!(message.contains("`approval_policy`"), "{message}");
}

#[test]
fn a_bad_value_from_the_environment_names_the_key() {
    let inputs = ConfigInputs {
        env_approval_policy: Some("sometimes".to_owned()),
        ..ConfigInputs::default()
    };
    let message = error_of(&inputs);
    assert!(message.contains("`approval_policy`"), "{message}");
    assert!(message.contains("sometimes"), "{message}");
}

#[test]
fn unknown_keys_are_warnings_not_failures() {
    let inputs = ConfigInputs {
        file: file("modle = \"typo\"\n[model_providers.x]\nbase_url = \"u\"\nretries = 1\n"),
        overrides: vec!["colour=blue".to_owned()],
        ..ConfigInputs::default()
    };
    let loaded = load(&inputs).unwrap();
    let all = loaded.notices.join("\n");
    assert!(all.contains("unknown config key `modle`"), "{all}");
    assert!(all.contains("`model_providers.x.retries`"), "{all}");
    assert!(all.contains("`colour` in `-c colour=blue`"), "{all}");
}

#[test]
fn auto_compact_takes_a_count_or_off() {
    let with = |value: &str| ConfigInputs {
        file: file(&format!("model_auto_compact_token_limit = {value}\n")),
        ..ConfigInputs::default()
    };
    assert_eq!(
        load(&with("5000")).unwrap().settings.auto_compact,
        AutoCompact::Tokens(5000)
    );
    assert_eq!(
        load(&with("\"off\"")).unwrap().settings.auto_compact,
        AutoCompact::Off
    );
    let message = error_of(&with("\"sometimes\""));
    assert!(
        message.contains("model_auto_compact_token_limit"),
        "{message}"
    );
    assert_eq!(
        load(&ConfigInputs::default())
            .unwrap()
            .settings
            .auto_compact,
        AutoCompact::Default
    );
}

#[test]
fn sandbox_modes_map_onto_policies() {
    let with = |mode: &str| ConfigInputs {
        file: file(&format!("sandbox_mode = \"{mode}\"\n")),
        ..ConfigInputs::default()
    };
    for enforced in [true, false] {
        assert_eq!(
            load(&with("read-only"))
                .unwrap()
                .settings
                .sandbox_policy(enforced),
            Some(SandboxPolicy::ReadOnly)
        );
        assert!(matches!(
            load(&with("workspace-write"))
                .unwrap()
                .settings
                .sandbox_policy(enforced),
            Some(SandboxPolicy::WorkspaceWrite { .. })
        ));
    }
    assert!(error_of(&with("yolo")).contains("sandbox_mode"));
}

#[test]
fn the_workspace_write_table_and_the_sandbox_flag_are_read() {
    let inputs = ConfigInputs {
        file: file(
            "[sandbox_workspace_write]\nwritable_roots = [\"/opt/cache\"]\nnetwork_access = true\n\
             exclude_tmp = true\nbogus = 1\n",
        ),
        ..ConfigInputs::default()
    };
    let loaded = load(&inputs).unwrap();
    assert_eq!(
        loaded.settings.sandbox_policy(true),
        Some(SandboxPolicy::WorkspaceWrite {
            writable_roots: vec![std::path::PathBuf::from("/opt/cache")],
            network_access: true,
            exclude_tmp: true,
        })
    );
    assert!(
        loaded
            .notices
            .iter()
            .any(|n| n.contains("sandbox_workspace_write.bogus")),
        "{:?}",
        loaded.notices
    );
    let flagged = ConfigInputs {
        flag_sandbox_mode: Some("read-only".to_owned()),
        file: file("sandbox_mode = \"danger-full-access\"\n"),
        ..ConfigInputs::default()
    };
    assert_eq!(
        load(&flagged).unwrap().settings.sandbox_policy(true),
        Some(SandboxPolicy::ReadOnly)
    );
}

#[test]
fn an_unknown_provider_or_a_provider_without_model_is_an_error() {
    let unknown = ConfigInputs {
        flag_provider: Some("nowhere".to_owned()),
        ..ConfigInputs::default()
    };
    assert!(error_of(&unknown).contains("unknown model provider `nowhere`"));
    let no_model = ConfigInputs {
        flag_provider: Some("ollama".to_owned()),
        ..ConfigInputs::default()
    };
    assert!(error_of(&no_model).contains("no model configured for provider `ollama`"));
    let no_script = ConfigInputs {
        flag_provider: Some("script".to_owned()),
        ..ConfigInputs::default()
    };
    assert!(error_of(&no_script).contains("model_script"));
}

#[test]
fn settings_become_the_session_config() {
    let inputs = ConfigInputs {
        file: file(
            "model_provider = \"script\"\nmodel_script = \"/tmp/s.json\"\n\
             instructions = \"be brief\"\nmodel_context_window = 1000\nnotify = [\"n\", \"-q\"]\n",
        ),
        ..ConfigInputs::default()
    };
    let settings = load(&inputs).unwrap().settings;
    assert_eq!(settings.source, ModelSource::Script("/tmp/s.json".into()));
    assert_eq!(settings.notify, vec!["n", "-q"]);
    let home = std::path::Path::new("/home/u/.session");
    let config = settings.session_config(std::path::Path::new("/work"), home, false);
    assert_eq!(config.protected_paths, vec![home.to_path_buf()]);
    assert_eq!(config.sandbox_policy, None);
    assert_eq!(config.model, "script");
    assert_eq!(config.model_provider, "script");
    assert_eq!(config.instructions, "be brief");
    assert_eq!(config.context_window, Some(1000));
    assert_eq!(config.cwd, PathBuf::from("/work"));
}

#[test]
fn lines_and_keys_are_found_from_offsets() {
    let text = "a = 1\n[t]\nb = \"x\"\n";
    assert_eq!(line_of(text, 0), 1);
    assert_eq!(line_of(text, 6), 2);
    assert_eq!(line_of(text, 14), 3);
    assert_eq!(key_at_line(text, 1).as_deref(), Some("a"));
    assert_eq!(key_at_line(text, 2), None);
    assert_eq!(key_at_line(text, 3).as_deref(), Some("t.b"));
}

#[test]
fn project_doc_keys_are_read_without_a_warning() {
    let defaults = load(&ConfigInputs::default()).unwrap().settings;
    assert_eq!(defaults.project_doc_max_bytes, None);
    assert!(defaults.project_doc_fallback_filenames.is_empty());
    assert_eq!(defaults.project_doc_options().max_bytes, 32 * 1024);

    let inputs = ConfigInputs {
        file: file(
            "project_doc_max_bytes = 4096\nproject_doc_fallback_filenames = [\"CLAUDE.md\", \".rules\"]\n",
        ),
        overrides: vec!["project_doc_max_bytes=1024".to_owned()],
        ..ConfigInputs::default()
    };
    let loaded = load(&inputs).unwrap();
    let all = loaded.notices.join("\n");
    assert!(!all.contains("unknown config key"), "{all}");
    assert_eq!(loaded.settings.project_doc_max_bytes, Some(1024));
    assert_eq!(
        loaded.settings.project_doc_fallback_filenames,
        ["CLAUDE.md", ".rules"]
    );
    let options = loaded.settings.project_doc_options();
    assert_eq!(options.max_bytes, 1024);
    assert_eq!(options.fallback_filenames, ["CLAUDE.md", ".rules"]);

    let negative = ConfigInputs {
        file: file("project_doc_max_bytes = -1\n"),
        ..ConfigInputs::default()
    };
    let message = error_of(&negative);
    assert!(message.contains("`project_doc_max_bytes`"), "{message}");
}
