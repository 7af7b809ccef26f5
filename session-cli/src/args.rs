//! The command line of `session`, as clap types.
//!
//! Only the shape of the arguments lives here: what they mean (configuration precedence, which
//! session to resume) is decided elsewhere. It must not read files or the environment.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A terminal front-end for agent sessions.
#[derive(Debug, Parser)]
#[command(name = "session", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Override a configuration key: `-c key=value`, value in TOML syntax (a bare word is a
    /// string), e.g. `-c model="gpt-5"` or `-c model_providers.local.base_url="http://…"`.
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE", global = true)]
    pub(crate) overrides: Vec<String>,

    /// The model to use (overrides `model`).
    #[arg(short = 'm', long, global = true)]
    pub(crate) model: Option<String>,

    /// The model provider id to use (overrides `model_provider`).
    #[arg(short = 'p', long = "provider", global = true)]
    pub(crate) provider: Option<String>,

    /// When to ask before running commands: untrusted, on-failure, on-request, never.
    #[arg(short = 'a', long = "approval-policy", global = true)]
    pub(crate) approval_policy: Option<String>,

    /// Where commands may write: read-only, workspace-write, danger-full-access.
    #[arg(short = 's', long = "sandbox", global = true)]
    pub(crate) sandbox_mode: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one turn to completion and exit.
    Exec(ExecArgs),
    /// Talk to the agent interactively.
    Chat(ChatArgs),
    /// Speak the JSON Lines protocol (PROTOCOL.md) on stdin and stdout.
    Proto,
    /// Be an Agent Client Protocol agent on stdin and stdout, for editors such as Zed.
    Acp,
    /// Continue a recorded session.
    Resume(ResumeArgs),
    /// List recorded sessions, newest first.
    Sessions(SessionsArgs),
    /// Run one command in the sandbox the configuration (or `--mode`) gives, and exit with
    /// its status: see what the box allows.
    Sandbox(SandboxArgs),
    /// The configured MCP servers.
    Mcp {
        /// What to do with them.
        #[command(subcommand)]
        command: McpCommand,
    },
}

/// `session mcp …`.
#[derive(Debug, Subcommand)]
pub(crate) enum McpCommand {
    /// Start every configured server and print its status and tools.
    List {
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },
}

/// `session sandbox`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// The sandbox mode: read-only, workspace-write, danger-full-access (default: the
    /// configured one).
    #[arg(long, value_name = "MODE")]
    pub(crate) mode: Option<String>,

    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
}

/// Options of a one-shot run (`exec`, and `resume` with a prompt).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct RunOptions {
    /// Print the protocol events as JSON Lines on stdout, and nothing else.
    #[arg(long)]
    pub(crate) json: bool,

    /// Write the agent's last message to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) output_last_message: Option<PathBuf>,

    /// Run every command without asking (approval policy `never`).
    #[arg(long)]
    pub(crate) full_auto: bool,
}

/// `session exec`.
#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The prompt; `-` (or nothing, with stdin piped) reads it from stdin.
    pub(crate) prompt: Option<String>,

    #[command(flatten)]
    pub(crate) run: RunOptions,
}

/// `session chat`.
#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
    /// Run every command without asking (approval policy `never`).
    #[arg(long)]
    pub(crate) full_auto: bool,
}

/// `session resume`.
#[derive(Debug, Args)]
pub(crate) struct ResumeArgs {
    /// Resume the newest session started in the current directory.
    #[arg(long)]
    pub(crate) last: bool,

    /// With `--last`: look at sessions of every directory.
    #[arg(long)]
    pub(crate) all: bool,

    /// `[ID] [PROMPT]`: the session id (or a unique prefix) unless `--last` is given, then an
    /// optional prompt to run like `exec`; without a prompt the session continues as a chat.
    #[arg(value_name = "ID_OR_PROMPT", num_args = 0..=2)]
    pub(crate) words: Vec<String>,

    #[command(flatten)]
    pub(crate) run: RunOptions,
}

/// `session sessions`.
#[derive(Debug, Args)]
pub(crate) struct SessionsArgs {
    /// List sessions of every directory, not only the current one.
    #[arg(long)]
    pub(crate) all: bool,
}
