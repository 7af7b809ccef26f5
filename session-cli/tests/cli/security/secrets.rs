//! API keys reach the provider and nowhere else; recordings are private under any umask.

use std::hash::{BuildHasher, Hasher};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use session_services::ScriptedResponse;
use session_testkit::{MockResponse, sse_responses_text, sse_responses_tool_call};

use crate::crash::script_args;
use crate::support::{Mock, Output, Sandbox, events_of, kind, usage};

const PREFIX: &str = "sk-canary-";
/// The variable the custom provider reads its key from.
const CUSTOM_KEY_VAR: &str = "SESSION_TEST_CANARY_KEY";
/// Shortest run of a key's secret part that counts as a leak.
const LEAK_WINDOW: usize = 12;

/// A fresh random key: `sk-canary-` and 32 hex digits.
fn canary() -> String {
    let mut key = String::from(PREFIX);
    for part in 0..2_u64 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(part);
        hasher.write_u32(std::process::id());
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        key.push_str(&format!("{:016x}", hasher.finish()));
    }
    key
}

/// Whether `text` holds `key`, or any `LEAK_WINDOW` characters of its secret part (a key cut
/// short is still a leak).
fn leaks(text: &str, key: &str) -> bool {
    let secret = &key[PREFIX.len()..];
    (0..=secret.len() - LEAK_WINDOW).any(|i| text.contains(&secret[i..i + LEAK_WINDOW]))
}

/// Both keys, and the runs made with them.
struct Keys {
    openai: String,
    custom: String,
    runs: Vec<(String, Output)>,
}

impl Keys {
    fn new() -> Self {
        Self {
            openai: canary(),
            custom: canary(),
            runs: Vec::new(),
        }
    }

    /// Run `args` with both keys in the environment and backtraces on; keep the output.
    fn run(&mut self, sandbox: &Sandbox, what: &str, args: &[String]) -> &Output {
        let mut command = sandbox.command(args);
        command
            .env("OPENAI_API_KEY", &self.openai)
            .env(CUSTOM_KEY_VAR, &self.custom)
            .env("RUST_BACKTRACE", "1");
        let out = sandbox.run_command(command, None);
        self.runs.push((what.to_owned(), out));
        &self.runs.last().unwrap().1
    }

    fn assert_not_in(&self, what: &str, text: &str) {
        for key in [&self.openai, &self.custom] {
            assert!(!leaks(text, key), "a key leaked into {what}:\n{text}");
        }
    }
}

/// `-c` arguments for the built-in `openai` provider pointed at `url`.
fn openai_args(url: &str, rest: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        format!("model_providers.openai.base_url=\"{url}/v1\""),
        "model_providers.openai.request_max_retries=0".to_owned(),
        "model_providers.openai.stream_max_retries=0".to_owned(),
    ]
    .into_iter()
    .flat_map(|arg| ["-c".to_owned(), arg])
    .collect();
    args.extend(rest.iter().map(|s| (*s).to_owned()));
    args
}

/// `-c` arguments for a custom provider `canary` at `url` taking its key from `CUSTOM_KEY_VAR`.
fn custom_args(url: &str, rest: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "model_provider=\"canary\"".to_owned(),
        format!("model_providers.canary.base_url=\"{url}/v1\""),
        format!("model_providers.canary.env_key=\"{CUSTOM_KEY_VAR}\""),
        "model_providers.canary.wire_api=\"responses\"".to_owned(),
        "model_providers.canary.request_max_retries=0".to_owned(),
        "model_providers.canary.stream_max_retries=0".to_owned(),
        "model=\"canary-model\"".to_owned(),
    ]
    .into_iter()
    .flat_map(|arg| ["-c".to_owned(), arg])
    .collect();
    args.extend(rest.iter().map(|s| (*s).to_owned()));
    args
}

/// The one request `mock` got carried exactly `Bearer key`, and no other key.
fn assert_sent(mock: &Mock, key: &str, other: &str) {
    let requests = mock.requests();
    assert_eq!(requests.len(), 1, "one request, no retry");
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {key}").as_str()),
        "the key was sent"
    );
    for (name, value) in &requests[0].headers {
        assert!(!leaks(value, other), "the other key was sent in {name}");
    }
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn api_keys_reach_the_provider_but_never_recordings_terminal_or_error_messages() {
    let sandbox = Sandbox::new();
    let mut keys = Keys::new();

    let custom_ok = Mock::start(vec![MockResponse::sse(sse_responses_text(
        &["Hello ", "there."],
        usage(5, 2),
    ))]);
    let out = keys.run(
        &sandbox,
        "custom provider, --json",
        &custom_args(&custom_ok.server.url(), &["exec", "--json", "say hello"]),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    let (custom, openai) = (keys.custom.clone(), keys.openai.clone());
    assert_sent(&custom_ok, &custom, &openai);

    let openai_ok = Mock::start(vec![MockResponse::sse(sse_responses_text(
        &["Hi."],
        usage(5, 1),
    ))]);
    let out = keys.run(
        &sandbox,
        "openai provider, human output",
        &openai_args(&openai_ok.server.url(), &["exec", "say hi"]),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_sent(&openai_ok, &openai, &custom);

    // A command the model runs cannot read the keys from its environment, even a "read-only"
    // one that prints the environment: the keys never reach the output, the recording or the
    // next request.
    let snoop_args = serde_json::json!({
        "command": ["sh", "-c", "printenv; cat /proc/self/environ; echo snooped"]
    })
    .to_string();
    let snoop = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "c1",
            "shell",
            &snoop_args,
            usage(5, 1),
        )),
        MockResponse::sse(sse_responses_text(&["Nothing to see."], usage(5, 1))),
    ]);
    let out = keys.run(
        &sandbox,
        "a command printing its environment, --json --full-auto",
        &openai_args(
            &snoop.server.url(),
            &["exec", "--json", "--full-auto", "print the environment"],
        ),
    );
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("snooped"), "the command ran: {out:?}");
    let requests = snoop.server.requests();
    assert_eq!(requests.len(), 2, "the output went back to the model");
    let second = String::from_utf8_lossy(&requests[1].body).into_owned();
    assert!(
        second.contains("snooped"),
        "the second request carries the output"
    );
    keys.assert_not_in("the request after the command", &second);

    // A server that echoes the Authorization header in its JSON error message.
    let echo_json = Mock::start(vec![MockResponse::json(
        401,
        serde_json::json!({"error": {
            "message": format!("Incorrect API key provided. You sent: Authorization: Bearer {openai}"),
            "type": "invalid_request_error",
        }})
        .to_string(),
    )]);
    let out = keys.run(
        &sandbox,
        "401 echoing the key in JSON, --json",
        &openai_args(&echo_json.server.url(), &["exec", "--json", "hello?"]),
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let errors: Vec<String> = events_of(&out.stdout)
        .iter()
        .filter(|e| kind(e) == "error")
        .map(|e| serde_json::to_string(&e.msg).unwrap())
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("Incorrect API key provided")),
        "the server's message is reported: {out:?}"
    );
    assert_sent(&echo_json, &openai, &custom);

    // The same as plain text, long enough that the message is cut inside the key.
    let filler = "x".repeat(464);
    let echo_text = Mock::start(vec![
        MockResponse::status(401)
            .header("content-type", "text/plain")
            .chunk(format!("{filler}Authorization: Bearer {custom} was refused").into_bytes()),
    ]);
    let out = keys.run(
        &sandbox,
        "401 echoing the key in a long text body, human output",
        &custom_args(&echo_text.server.url(), &["exec", "hello?"]),
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("xxxxxxxx"),
        "the body is reported: {out:?}"
    );
    assert_sent(&echo_text, &custom, &openai);

    // Failures before any request: nothing listens, and a provider whose key variable is empty.
    let out = keys.run(
        &sandbox,
        "unreachable server",
        &openai_args("http://127.0.0.1:1", &["exec", "--json", "hello?"]),
    );
    assert_ne!(out.code, Some(0), "{out:?}");
    let out = keys.run(
        &sandbox,
        "unreachable server, custom provider",
        &custom_args("http://127.0.0.1:1", &["exec", "hello?"]),
    );
    assert_ne!(out.code, Some(0), "{out:?}");

    for (what, out) in &keys.runs {
        keys.assert_not_in(&format!("stdout of {what}"), &out.stdout);
        keys.assert_not_in(&format!("stderr of {what}"), &out.stderr);
        assert!(!out.stderr.contains("panicked"), "{what} panicked: {out:?}");
    }
    let files = files_under(sandbox.home.path());
    assert!(
        files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "jsonl"))
            .count()
            >= 6,
        "every run left a recording: {files:?}"
    );
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        keys.assert_not_in(&file.display().to_string(), &text);
    }
}

/// Permission bits of `path`.
fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn recordings_are_private_even_when_the_umask_is_permissive() {
    let sandbox = Sandbox::new();
    // A home that does not exist yet: the program creates every folder of it.
    let home = sandbox.home.path().join("fresh").join("home");
    let args = |prompt: &str| {
        let mut args = script_args(
            &sandbox,
            prompt,
            vec![
                ScriptedResponse::new().shell_call("call_touch", &["touch", "made-by-tool"]),
                ScriptedResponse::new().text("Touched.", 1),
            ],
        );
        args.extend(["--full-auto", "--json", prompt].map(str::to_owned));
        args
    };
    let run = |subcommand: &[&str], prompt: &str| {
        let mut all: Vec<String> = subcommand.iter().map(|s| (*s).to_owned()).collect();
        all.extend(args(prompt));
        let mut command = sandbox.command(&all);
        command.env("SESSION_HOME", &home);
        // SAFETY: `umask` is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let out = sandbox.run_command(command, None);
        assert_eq!(out.code, Some(0), "{out:?}");
    };
    run(&["exec"], "touch a file");
    // The control: the program really ran with umask 0.
    let made = sandbox.cwd().join("made-by-tool");
    assert_eq!(mode(&made), 0o666, "the child did not run with umask 0");
    std::fs::remove_file(&made).unwrap();
    run(&["resume", "--last"], "touch it again");
    assert_eq!(mode(&made), 0o666);

    let mut dirs = vec![sandbox.home.path().join("fresh"), home.clone()];
    let mut files = Vec::new();
    let mut stack = vec![home.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path.clone());
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|f| f.extension().is_some_and(|e| e == "jsonl")),
        "{files:?}"
    );
    assert!(
        dirs.len() >= 6,
        "home, sessions, year, month, day: {dirs:?}"
    );
    for dir in &dirs {
        assert_eq!(mode(dir), 0o700, "{} is not private", dir.display());
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{} is not private", file.display());
    }
}

/// A variable whose name says nothing of a key: only the config's `env_key` makes it secret.
const PLAIN_NAME_VAR: &str = "SESSION_TEST_MODEL_ACCESS";

/// An SSE body ending with `response.failed` whose message is `message`.
fn sse_failed(message: &str) -> String {
    let data = serde_json::json!({
        "type": "response.failed",
        "response": {"id": "resp_1", "status": "failed", "error": {"code": "server_error", "message": message}},
    });
    format!("event: response.failed\ndata: {data}\n\n")
}

#[test]
fn a_key_under_any_variable_name_reaches_no_channel_out_of_the_session() {
    let sandbox = Sandbox::new();
    let key = canary();
    std::fs::write(sandbox.cwd().join("key.txt"), format!("the key is {key}\n")).unwrap();
    // The notifier keeps what it was given and the environment it got, in files only.
    let notified = sandbox.cwd().join("notified.json");
    let notify_env = sandbox.cwd().join("notify-env.txt");
    sandbox.write_config(&format!(
        "notify = [\"sh\", \"-c\", \"printf '%s' \\\"$1\\\" >> {}; env > {}\", \"notify\"]\n",
        notified.display(),
        notify_env.display()
    ));
    // What the command could find: its environment and the session's, written to files so that
    // nothing passes through the session's redaction on the way to the test.
    let snoop = format!(
        "env > {cwd}/cmd-env.txt; cat /proc/$PPID/environ > {cwd}/session-environ.bin; \
         cat key.txt; head -c 20 key.txt; sleep 0.2; tail -c +21 key.txt; echo snooped",
        cwd = sandbox.cwd().display()
    );
    let tool_args = serde_json::json!({ "command": ["sh", "-c", snoop] }).to_string();
    let mock = Mock::start(vec![
        MockResponse::sse(sse_responses_tool_call(
            "c1",
            "shell",
            &tool_args,
            usage(5, 1),
        )),
        // The key cut over several deltas, as a real server streams it.
        MockResponse::sse(sse_responses_text(
            &[
                "I found ",
                &key[..9],
                &key[9..22],
                &key[22..],
                " in key.txt.",
            ],
            usage(5, 1),
        )),
        MockResponse::sse(sse_failed(&format!("invalid key {key} for this model"))),
    ]);
    let mut args: Vec<String> = [
        "model_provider=\"plain\"".to_owned(),
        format!(
            "model_providers.plain.base_url=\"{}/v1\"",
            mock.server.url()
        ),
        format!("model_providers.plain.env_key=\"{PLAIN_NAME_VAR}\""),
        "model_providers.plain.request_max_retries=0".to_owned(),
        "model_providers.plain.stream_max_retries=0".to_owned(),
        "model=\"plain-model\"".to_owned(),
    ]
    .into_iter()
    .flat_map(|arg| ["-c".to_owned(), arg])
    .collect();
    args.extend(["-s", "danger-full-access", "-a", "never"].map(str::to_owned));
    let run = |mode: &[&str]| {
        let mut all = args.clone();
        all.extend(mode.iter().map(|s| (*s).to_owned()));
        let mut command = sandbox.command(&all);
        command.env(PLAIN_NAME_VAR, &key);
        sandbox.run_command(command, None)
    };
    let json = run(&["exec", "--json", "find the key"]);
    assert_eq!(json.code, Some(0), "{json:?}");
    assert!(json.stdout.contains("snooped"), "the command ran: {json:?}");
    let human = run(&["exec", "again"]);
    assert_eq!(
        human.code,
        Some(1),
        "the failed response fails the run: {human:?}"
    );
    assert!(
        human.stderr.contains("invalid key") || human.stdout.contains("invalid key"),
        "the server's message is reported: {human:?}"
    );

    // The positive control: the key was sent, as the header only.
    let requests = mock.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for (i, request) in requests.iter().enumerate() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {key}").as_str())
        );
        let body = String::from_utf8_lossy(&request.body);
        assert!(
            !leaks(&body, &key),
            "request body #{i} carries the key:\n{body}"
        );
    }
    let second = String::from_utf8_lossy(&requests[1].body).into_owned();
    assert!(second.contains("snooped") && second.contains("the key is <redacted>"));

    let channels = [
        ("stdout of --json", json.stdout.clone()),
        ("stderr of --json", json.stderr.clone()),
        ("stdout", human.stdout.clone()),
        ("stderr", human.stderr.clone()),
    ];
    for (what, text) in channels {
        assert!(!leaks(&text, &key), "the key leaked into {what}:\n{text}");
    }
    let recordings = sandbox.recordings();
    assert_eq!(recordings.len(), 2);
    for file in &recordings {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !leaks(&text, &key),
            "the key leaked into {}",
            file.display()
        );
        assert!(
            text.contains("<redacted>"),
            "the key was in what was recorded"
        );
    }
    let cmd_env = std::fs::read_to_string(sandbox.cwd().join("cmd-env.txt")).unwrap();
    assert!(
        cmd_env.contains("PATH="),
        "the command's environment was dumped"
    );
    assert!(
        !leaks(&cmd_env, &key) && !cmd_env.contains(PLAIN_NAME_VAR),
        "{cmd_env}"
    );
    let environ = std::fs::read(sandbox.cwd().join("session-environ.bin")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(
        !leaks(&environ, &key),
        "/proc/<session>/environ shows the key"
    );
    let sent = std::fs::read_to_string(&notified).unwrap();
    assert!(
        sent.contains("agent-turn-complete"),
        "the notifier ran: {sent}"
    );
    assert!(
        !leaks(&sent, &key),
        "the notification carries the key: {sent}"
    );
    let env = std::fs::read_to_string(&notify_env).unwrap();
    assert!(!leaks(&env, &key) && !env.contains(PLAIN_NAME_VAR), "{env}");
}
