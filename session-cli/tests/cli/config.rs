//! Configuration through the binary: precedence, `-c`, bad files and unknown keys.

use crate::support::{Sandbox, events_of};

fn model_of(out: &str) -> String {
    match &events_of(out)[0].msg {
        session_core::EventMsg::SessionConfigured { model, .. } => model.clone(),
        other => panic!("not session_configured: {other:?}"),
    }
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let sandbox = Sandbox::new();
    sandbox.write_config("model = \"file-model\"\n");
    let run = |env: Option<&str>, extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["exec", "--json", "hi"]);
        let mut command = sandbox.command(&args);
        if let Some(model) = env {
            command.env("SESSION_MODEL", model);
        }
        let out = sandbox.run_command(command, None);
        assert_eq!(out.code, Some(0), "{out:?}");
        model_of(&out.stdout)
    };
    assert_eq!(run(None, &[]), "file-model");
    assert_eq!(run(Some("env-model"), &[]), "env-model");
    assert_eq!(
        run(Some("env-model"), &["-c", "model=override-model"]),
        "override-model"
    );
    assert_eq!(run(Some("env-model"), &["-m", "flag-model"]), "flag-model");
}

#[test]
fn a_bad_config_file_names_the_file_the_line_and_the_key() {
    let sandbox = Sandbox::new();
    let path =
        sandbox.write_config("model = \"m\"\n# a comment\nmodel_context_window = \"huge\"\n");
    let out = sandbox.run(&["exec", "hi"], None);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains(&path.display().to_string()), "{out:?}");
    assert!(out.stderr.contains("line 3"), "{out:?}");
    assert!(out.stderr.contains("`model_context_window`"), "{out:?}");
    assert!(sandbox.recordings().is_empty());
}

#[test]
fn an_unknown_key_is_a_warning_and_the_run_goes_on() {
    let sandbox = Sandbox::new();
    sandbox.write_config("modle = \"typo\"\n");
    let out = sandbox.run(&["exec", "hi"], None);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr.contains("warning: unknown config key `modle`"),
        "{out:?}"
    );
}
