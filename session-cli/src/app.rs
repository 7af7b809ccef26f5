//! The program: parse the command line, load the configuration, start or resume the session,
//! hand it to the front-end, and turn the outcome into an exit code.
//!
//! This is the only place that reads the process environment and the configuration file;
//! the front-ends get plain values.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use session_core::Session;
use session_core::services::SandboxSupport;

use crate::args::{Cli, Command, ResumeArgs};
use crate::config::{self, ConfigFile, ConfigInputs, OPENAI_KEY_VAR, Settings};
use crate::term::note;

/// How a front-end ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything went fine: exit 0.
    Done,
    /// The turn reported an error: exit 1.
    Failed,
    /// The user interrupted: exit 130.
    Interrupted,
    /// A command's own status (`session sandbox`).
    Status(u8),
}

impl Outcome {
    fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Done => ExitCode::SUCCESS,
            Outcome::Failed => ExitCode::from(1),
            Outcome::Interrupted => ExitCode::from(130),
            Outcome::Status(code) => ExitCode::from(code),
        }
    }
}

/// Run `session` with the process's arguments and return its exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    protect_secrets(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            note(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    // Reader threads may still block on stdin; they must not keep the process alive.
    runtime.shutdown_background();
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            note(&format!("error: {e:#}"));
            ExitCode::from(1)
        }
    }
}

/// Where the program runs: `$SESSION_HOME` and the working directory.
#[derive(Debug, Clone)]
pub(crate) struct Env {
    /// `$SESSION_HOME` (default `~/.session`).
    pub(crate) home: PathBuf,
    /// The current directory.
    pub(crate) cwd: PathBuf,
}

async fn dispatch(cli: Cli) -> Result<Outcome> {
    let env = Env {
        home: session_home()?,
        cwd: std::env::current_dir().context("cannot read the current directory")?,
    };
    match &cli.command {
        Command::Exec(args) => {
            let settings = load_settings(&cli, &env, args.run.full_auto)?;
            let prompt = crate::exec::read_prompt(args.prompt.as_deref())?;
            let session = start(&settings, &env, None).await?;
            crate::exec::run(session, prompt, &args.run).await
        }
        Command::Chat(args) => {
            let settings = load_settings(&cli, &env, args.full_auto)?;
            let session = start(&settings, &env, None).await?;
            crate::chat::run(session, &settings, &env.home).await
        }
        Command::Proto => {
            let settings = load_settings(&cli, &env, false)?;
            let session = start(&settings, &env, None).await?;
            crate::proto::run(session).await
        }
        Command::Acp => {
            let settings = load_settings_with(&cli, &env, false, Notices::WarningsOnly)?;
            crate::acp::run(settings, &env).await
        }
        Command::Resume(args) => resume(&cli, &env, args).await,
        Command::Sessions(args) => {
            crate::sessions::list(&env, args.all).await?;
            Ok(Outcome::Done)
        }
        Command::Mcp {
            command: crate::args::McpCommand::List { json },
        } => {
            let settings = load_settings_with(&cli, &env, false, Notices::WarningsOnly)?;
            crate::mcp::list(&settings, *json).await
        }
        Command::Sandbox(args) => {
            // No model runs here: only warnings about the configuration concern the user.
            let settings = load_settings_with(&cli, &env, false, Notices::WarningsOnly)?;
            crate::sandbox::run(&settings, &env, args).await
        }
    }
}

async fn resume(cli: &Cli, env: &Env, args: &ResumeArgs) -> Result<Outcome> {
    let (selector, prompt) = crate::sessions::selector(args)?;
    let settings = load_settings(cli, env, args.run.full_auto)?;
    let found = crate::sessions::find(env, &selector).await?;
    note(&format!(
        "resuming session {} (started {} in {})",
        found.id,
        found.started_at,
        found.cwd.display()
    ));
    let prompt = prompt
        .map(|p| crate::exec::read_prompt(Some(&p)))
        .transpose()?;
    let session = start(&settings, env, Some(&found.path)).await?;
    match prompt {
        Some(prompt) => crate::exec::run(session, prompt, &args.run).await,
        None if args.run.json => bail!("--json needs a prompt"),
        None => crate::chat::run(session, &settings, &env.home).await,
    }
}

/// Start a new session, or resume the recording at `resume`.
async fn start(settings: &Settings, env: &Env, resume: Option<&Path>) -> Result<Session> {
    let services = crate::services::build(settings, &env.home)?;
    let support = services.sandbox.support();
    let config = settings.session_config(&env.cwd, &env.home, support.is_enforced());
    if let SandboxSupport::Unavailable { reason } = &support
        && config.sandbox_policy.is_none()
    {
        note(&format!(
            "warning: commands cannot be sandboxed here ({reason}); they run unconfined, and \
             under the default approval policy `untrusted` every command not known to be \
             read-only asks first"
        ));
    }
    let session = match resume {
        Some(path) => Session::resume(config, services, path)
            .await
            // The recorder's errors name the file.
            .context("cannot resume the session")?,
        None => Session::spawn(config, services)
            .await
            .context("cannot start the session")?,
    };
    Ok(session)
}

fn session_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("SESSION_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".session")),
        None => bail!("neither SESSION_HOME nor HOME is set"),
    }
}

fn env_value(name: &str) -> Option<String> {
    session_core::services::secrets::env_var(name).filter(|v| !v.is_empty())
}

/// Take every provider key out of the process environment before any thread starts: commands
/// and the notifier never inherit them, `/proc/<pid>/environ` no longer shows them, and every
/// output redacts them.
fn protect_secrets(cli: &Cli) {
    let text = session_home()
        .ok()
        .and_then(|home| std::fs::read_to_string(home.join("config.toml")).ok());
    let names = config::declared_env_keys(text.as_deref(), &cli.overrides);
    // SAFETY: called from `run` before the runtime (or any other thread) exists.
    unsafe { session_core::services::secrets::protect_process(&names) };
}

/// Which configuration notices to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notices {
    All,
    WarningsOnly,
}

/// Load the configuration for `cli` and print its notices on stderr.
fn load_settings(cli: &Cli, env: &Env, full_auto: bool) -> Result<Settings> {
    load_settings_with(cli, env, full_auto, Notices::All)
}

fn load_settings_with(cli: &Cli, env: &Env, full_auto: bool, notices: Notices) -> Result<Settings> {
    let path = env.home.join("config.toml");
    let file = match std::fs::read_to_string(&path) {
        Ok(text) => Some(ConfigFile { path, text }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let inputs = ConfigInputs {
        file,
        env_model: env_value("SESSION_MODEL"),
        env_provider: env_value("SESSION_MODEL_PROVIDER"),
        env_approval_policy: env_value("SESSION_APPROVAL_POLICY"),
        openai_key_set: env_value(OPENAI_KEY_VAR).is_some(),
        overrides: cli.overrides.clone(),
        flag_model: cli.model.clone(),
        flag_provider: cli.provider.clone(),
        flag_approval_policy: cli.approval_policy.clone(),
        flag_sandbox_mode: cli.sandbox_mode.clone(),
        full_auto,
    };
    let loaded = config::load(&inputs)?;
    for notice in &loaded.notices {
        if notices == Notices::All || notice.starts_with("warning:") {
            note(notice);
        }
    }
    Ok(loaded.settings)
}
