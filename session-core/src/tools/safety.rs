//! Which commands are known to only read, so `untrusted` may run them without asking.
//!
//! An allow-list of programs and, for each, of its options, parsed the way the program parses
//! them ([`getopt`]: short clusters, attached and separate arguments, `--opt=value`, `--`). Script
//! languages are checked command by command ([`sed`], [`find`], [`awk`]); `git` only reads with every
//! program a repository can configure switched off ([`git`]), so the command that runs is the
//! hardened one [`known_safe`] returns. A `bash -lc` script is accepted only as plain words
//! ([`script`]). Programs are recognised by a bare name that resolves on `PATH` through absolute
//! entries outside the workspace; a shell also by the absolute path of a real shell. Anything not
//! recognised asks. The list decides only whether to ask: such commands still run in the
//! read-only sandbox where there is one.

mod awk;
mod find;
mod getopt;
mod git;
mod script;
mod sed;

use std::path::{Path, PathBuf};

use self::getopt::{Arg, Spec};

/// What the check needs to know about the host. The real one asks the file system; tests fake it.
pub(crate) trait Host {
    /// Where a bare program name resolves on `PATH`, through absolute entries only and outside
    /// `cwd`; `None` otherwise.
    fn program(&self, name: &str, cwd: &Path) -> Option<PathBuf>;
    /// Whether `path` is a real, installed shell.
    fn is_shell(&self, path: &Path) -> bool;
    /// The filter drivers `$GIT_DIR/info/attributes` names for the repository around `dir`
    /// (none outside a repository); `None` when that cannot be told.
    fn git_filter_names(&self, dir: &Path) -> Option<Vec<String>>;
}

/// The host this process runs on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RealHost;

impl Host for RealHost {
    fn program(&self, name: &str, cwd: &Path) -> Option<PathBuf> {
        session_services::host::find_program(name, cwd)
    }

    fn is_shell(&self, path: &Path) -> bool {
        session_services::host::is_installed_shell(path)
    }

    fn git_filter_names(&self, dir: &Path) -> Option<Vec<String>> {
        session_services::host::git_info_filters(dir)
    }
}

/// A command as it runs: the argv and the environment variables to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandLine {
    /// The argv to run in place of the model's (hardened where the program needs it).
    pub(crate) argv: Vec<String>,
    /// Environment variables to set for it.
    pub(crate) env: Vec<(String, String)>,
}

/// Shells whose `-c` / `-lc` scripts are checked.
const SHELLS: &[&str] = &["bash", "sh", "dash", "zsh"];

/// Programs with no option that writes, runs a program or reaches the network.
const ANY_ARGS: &[&str] = &[
    "ls", "pwd", "cat", "head", "tail", "wc", "echo", "true", "false", "which", "whoami", "id",
    "uname", "stat", "du", "df", "nl", "cut", "grep", "basename", "dirname", "realpath",
    "readlink",
];

const SORT: Spec = Spec {
    flags: "bdfgiMhnRrVcCmsuz",
    with_arg: "ktS",
    longs: &[
        ("ignore-leading-blanks", Arg::No),
        ("dictionary-order", Arg::No),
        ("ignore-case", Arg::No),
        ("general-numeric-sort", Arg::No),
        ("ignore-nonprinting", Arg::No),
        ("month-sort", Arg::No),
        ("human-numeric-sort", Arg::No),
        ("numeric-sort", Arg::No),
        ("random-sort", Arg::No),
        ("reverse", Arg::No),
        ("version-sort", Arg::No),
        ("sort", Arg::Required),
        ("random-source", Arg::Required),
        ("check", Arg::Optional),
        ("merge", Arg::No),
        ("stable", Arg::No),
        ("unique", Arg::No),
        ("zero-terminated", Arg::No),
        ("key", Arg::Required),
        ("field-separator", Arg::Required),
        ("buffer-size", Arg::Required),
        ("parallel", Arg::Required),
        ("files0-from", Arg::Required),
        ("debug", Arg::No),
        ("help", Arg::No),
        ("version", Arg::No),
    ],
    permute: true,
    attached: true,
};

const FILE: Spec = Spec {
    flags: "bchiLkNnrdE0l",
    with_arg: "FefmP",
    longs: &[
        ("brief", Arg::No),
        ("mime", Arg::No),
        ("mime-type", Arg::No),
        ("mime-encoding", Arg::No),
        ("apple", Arg::No),
        ("extension", Arg::No),
        ("dereference", Arg::No),
        ("no-dereference", Arg::No),
        ("keep-going", Arg::No),
        ("no-pad", Arg::No),
        ("no-buffer", Arg::No),
        ("raw", Arg::No),
        ("special-files", Arg::No),
        ("print0", Arg::No),
        ("separator", Arg::Required),
        ("files-from", Arg::Required),
        ("magic-file", Arg::Required),
        ("exclude", Arg::Required),
        ("exclude-quiet", Arg::Required),
        ("parameter", Arg::Required),
        ("help", Arg::No),
        ("version", Arg::No),
    ],
    permute: true,
    attached: true,
};

const TREE: Spec = Spec {
    flags: "adlfxpugshDFqNQvtrcUSJXCAni",
    with_arg: "LPI",
    longs: &[
        ("noreport", Arg::No),
        ("dirsfirst", Arg::No),
        ("gitignore", Arg::No),
        ("prune", Arg::No),
        ("du", Arg::No),
        ("si", Arg::No),
        ("inodes", Arg::No),
        ("device", Arg::No),
        ("ignore-case", Arg::No),
        ("matchdirs", Arg::No),
        ("help", Arg::No),
        ("version", Arg::No),
    ],
    permute: true,
    attached: false,
};

const RG: Spec = Spec {
    flags: ".aFHhiIlLnNopqsSUuvwxbc0V",
    with_arg: "ABCefgmMtTdjEr",
    longs: &[
        ("hidden", Arg::No),
        ("no-ignore", Arg::No),
        ("no-ignore-vcs", Arg::No),
        ("ignore-case", Arg::No),
        ("smart-case", Arg::No),
        ("case-sensitive", Arg::No),
        ("fixed-strings", Arg::No),
        ("word-regexp", Arg::No),
        ("line-regexp", Arg::No),
        ("invert-match", Arg::No),
        ("count", Arg::No),
        ("count-matches", Arg::No),
        ("files", Arg::No),
        ("files-with-matches", Arg::No),
        ("files-without-match", Arg::No),
        ("line-number", Arg::No),
        ("no-line-number", Arg::No),
        ("column", Arg::No),
        ("heading", Arg::No),
        ("no-heading", Arg::No),
        ("with-filename", Arg::No),
        ("no-filename", Arg::No),
        ("only-matching", Arg::No),
        ("quiet", Arg::No),
        ("json", Arg::No),
        ("vimgrep", Arg::No),
        ("follow", Arg::No),
        ("multiline", Arg::No),
        ("multiline-dotall", Arg::No),
        ("pcre2", Arg::No),
        ("stats", Arg::No),
        ("sort", Arg::Required),
        ("sortr", Arg::Required),
        ("type-list", Arg::No),
        ("no-messages", Arg::No),
        ("null", Arg::No),
        ("trim", Arg::No),
        ("unrestricted", Arg::No),
        ("color", Arg::Required),
        ("after-context", Arg::Required),
        ("before-context", Arg::Required),
        ("context", Arg::Required),
        ("regexp", Arg::Required),
        ("file", Arg::Required),
        ("glob", Arg::Required),
        ("iglob", Arg::Required),
        ("max-count", Arg::Required),
        ("max-depth", Arg::Required),
        ("max-filesize", Arg::Required),
        ("max-columns", Arg::Required),
        ("type", Arg::Required),
        ("type-not", Arg::Required),
        ("threads", Arg::Required),
        ("encoding", Arg::Required),
        ("replace", Arg::Required),
        ("help", Arg::No),
        ("version", Arg::No),
    ],
    permute: true,
    attached: true,
};

/// The command to run when `argv` only reads, else `None` (the call asks).
pub(crate) fn known_safe(argv: &[String], cwd: &Path, host: &dyn Host) -> Option<CommandLine> {
    let program = argv.first()?;
    let name = program.rsplit('/').next().unwrap_or(program);
    if SHELLS.contains(&name) {
        let is_shell = if program.contains('/') {
            Path::new(program).is_absolute() && host.is_shell(Path::new(program))
        } else {
            host.program(program, cwd).is_some()
        };
        if !is_shell {
            return None;
        }
        let [flag, body] = argv.get(1..)? else {
            return None;
        };
        if flag != "-c" && flag != "-lc" {
            return None;
        }
        return safe_script(program, flag, body, cwd, host);
    }
    simple(argv, cwd, host)
}

fn safe_script(
    shell: &str,
    flag: &str,
    body: &str,
    cwd: &Path,
    host: &dyn Host,
) -> Option<CommandLine> {
    let parsed = script::parse(body)?;
    let mut env = Vec::new();
    let mut rewritten = false;
    let mut commands = Vec::with_capacity(parsed.commands.len());
    for argv in &parsed.commands {
        let safe = simple(argv, cwd, host)?;
        rewritten |= safe.argv != *argv;
        for var in safe.env {
            if !env.contains(&var) {
                env.push(var);
            }
        }
        commands.push(safe.argv);
    }
    let body = if rewritten {
        script::render(&commands, &parsed.seps)
    } else {
        body.to_owned()
    };
    Some(CommandLine {
        argv: vec![shell.to_owned(), flag.to_owned(), body],
        env,
    })
}

/// One plain command (not a shell).
fn simple(argv: &[String], cwd: &Path, host: &dyn Host) -> Option<CommandLine> {
    let program = argv.first()?;
    // A path to a program is not the program we know: only bare names found on PATH count.
    if program.contains('/') || host.program(program, cwd).is_none() {
        return None;
    }
    let args = &argv[1..];
    let plain = || {
        Some(CommandLine {
            argv: argv.to_vec(),
            env: Vec::new(),
        })
    };
    match program.as_str() {
        p if ANY_ARGS.contains(&p) => plain(),
        "sort" => getopt::parse(&SORT, args).and_then(|_| plain()),
        "file" => getopt::parse(&FILE, args).and_then(|_| plain()),
        "tree" => getopt::parse(&TREE, args).and_then(|_| plain()),
        "rg" => getopt::parse(&RG, args).and_then(|_| plain()),
        "sed" if sed::is_safe(args) => plain(),
        "find" if find::is_safe(args) => plain(),
        "awk" | "gawk" | "mawk" if awk::is_safe(args) => plain(),
        "git" => git::harden(args, cwd, host).map(|argv| CommandLine {
            argv,
            env: vec![(git::ENV.0.to_owned(), git::ENV.1.to_owned())],
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
