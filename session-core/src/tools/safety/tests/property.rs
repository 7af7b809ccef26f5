//! Property test of the safe list against the real programs: argv generated from the listed
//! programs' real option sets (the allowed ones, the dangerous ones, abbreviations, clusters,
//! scripts) is checked; every accepted one is run, as the check rewrote it, in a scratch
//! directory holding a hostile git repository (an fsmonitor hook, pager, external diff, textconv,
//! clean filter and gpg program that all leave a marker), and must change nothing there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::super::{CommandLine, RealHost, known_safe};

const MARKER: &str = "PWNED";

/// A scratch workspace: a git repository whose own configuration runs `evil.sh` wherever it can.
struct Scratch {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.email=t@t",
            "-c",
            "user.name=t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?} failed");
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let evil = root.join("evil.sh");
        std::fs::write(
            &evil,
            format!(
                "#!/bin/sh\ntouch '{}'\ncat \"$@\"\n",
                root.join(MARKER).display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(root.join("in.txt"), "b\na\nc\n").unwrap();
        std::fs::write(root.join("-exec"), "").unwrap();
        std::fs::write(root.join("list"), "in.txt\0").unwrap();
        git(&root, &["init", "-q"]);
        git(&root, &["add", "in.txt"]);
        git(&root, &["commit", "-qm", "first"]);
        std::fs::write(root.join("in.txt"), "b\na\nc\nd\n").unwrap();
        let evil = evil.display().to_string();
        for (key, value) in [
            ("core.fsmonitor", evil.as_str()),
            ("core.pager", evil.as_str()),
            ("pager.log", evil.as_str()),
            ("diff.external", evil.as_str()),
            ("diff.x.textconv", evil.as_str()),
            ("diff.x.command", evil.as_str()),
            ("filter.evil.clean", evil.as_str()),
            ("filter.evil.smudge", evil.as_str()),
            ("filter.info.clean", evil.as_str()),
            ("gpg.program", evil.as_str()),
            ("log.showSignature", "true"),
            ("core.hooksPath", root.join("hooks").to_str().unwrap()),
        ] {
            git(&root, &["config", key, value]);
        }
        std::fs::write(root.join(".gitattributes"), "* filter=evil diff=x\n").unwrap();
        std::fs::create_dir_all(root.join(".git/info")).unwrap();
        std::fs::write(root.join(".git/info/attributes"), "*.txt filter=info\n").unwrap();
        std::fs::create_dir(root.join("hooks")).unwrap();
        for hook in [
            "post-index-change",
            "post-checkout",
            "reference-transaction",
        ] {
            let path = root.join("hooks").join(hook);
            std::fs::copy(root.join("evil.sh"), &path).unwrap();
        }
        Scratch { dir, home }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().canonicalize().unwrap()
    }

    /// Every entry under the root: its kind, length, modification time and contents.
    fn snapshot(&self) -> BTreeMap<PathBuf, (bool, u64, Option<std::time::SystemTime>, Vec<u8>)> {
        let mut out = BTreeMap::new();
        let mut stack = vec![self.root()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let meta = entry.metadata().unwrap();
                let is_dir = meta.is_dir();
                let contents = if meta.is_file() {
                    std::fs::read(&path).unwrap()
                } else {
                    Vec::new()
                };
                let mtime = (!is_dir).then(|| meta.modified().unwrap());
                out.insert(path.clone(), (is_dir, meta.len(), mtime, contents));
                if is_dir {
                    stack.push(path);
                }
            }
        }
        out
    }

    /// Run `cmd` to its end (or kill it after a few seconds).
    fn run(&self, cmd: &CommandLine) {
        let mut child = Command::new(&cmd.argv[0])
            .args(&cmd.argv[1..])
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(self.root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("an accepted command starts");
        let deadline = Instant::now() + Duration::from_secs(5);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Check `argv`; when accepted, run it in a fresh scratch directory and require no change.
fn accepted_changes_nothing(argv: &[String]) -> Result<(), TestCaseError> {
    let scratch = Scratch::new();
    let Some(cmd) = known_safe(argv, &scratch.root(), &RealHost) else {
        return Ok(());
    };
    let before = scratch.snapshot();
    scratch.run(&cmd);
    prop_assert!(
        !scratch.root().join(MARKER).exists(),
        "{argv:?} ran a program: {:?}",
        cmd.argv
    );
    let after = scratch.snapshot();
    let changed: Vec<&PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    prop_assert!(changed.is_empty(), "{argv:?} changed {changed:?}");
    Ok(())
}

fn pick(pool: &'static [&'static str], max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::sample::select(pool), 0..=max)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

const SED_SCRIPTS: &[&str] = &[
    "p",
    "1p",
    "1,3p",
    "$p",
    "/a/p",
    "/a/Ip",
    "0~2p",
    "2,+1p",
    "s/a/b/",
    "s/a/b/gp",
    "s|a|b|2",
    "s/a/b/w out",
    "s/a/b/gw out",
    "s/a/touch PWNED/e",
    "s/[/]/x/w out",
    "s/a/[/w out",
    "w out",
    "1w out",
    "W out",
    "e touch PWNED",
    "1e touch PWNED",
    "r in.txt",
    "R in.txt",
    "1!G;h;$!d",
    "y/ab/ba/",
    "a text",
    "1a x; w out",
    "i\\\nw out",
    "{p}",
    "1{p;w out\n}",
    "=",
    "l",
    "l 5",
    "q",
    "Q 1",
    ":a;N;$!ba;s/\\n/,/g",
    "b end; w out; :end",
    "x;G",
    "/a/,/b/{p;d}",
    "#n\np",
    "F",
    "z",
    "v",
    "s/x/y/;e touch PWNED",
    "s;a;b;w out",
    "\\,a,p",
];

const SED_OPTIONS: &[&str] = &[
    "-n",
    "-E",
    "-r",
    "-s",
    "-z",
    "-u",
    "--posix",
    "--debug",
    "--sandbox",
    "--quiet",
    "--silent",
    "-i",
    "-i.bak",
    "--in-place",
    "-f",
    "in.txt",
    "-l",
    "5",
    "--line-length=5",
    "--separate",
    "--null-data",
    "-ni",
    "--",
    "in.txt",
    "in.txt",
    "-",
    "--expr",
    "--follow-symlinks",
];

fn sed_argv() -> impl Strategy<Value = Vec<String>> {
    (
        pick(SED_OPTIONS, 3),
        prop::collection::vec(
            (prop::sample::select(SED_SCRIPTS), 0..5usize).prop_map(|(s, how)| match how {
                0 => vec!["-e".to_owned(), s.to_owned()],
                1 => vec![format!("-e{s}")],
                2 => vec![format!("--expression={s}")],
                3 => vec![format!("-ne{s}")],
                _ => vec![s.to_owned()],
            }),
            1..3,
        ),
        pick(&["in.txt", "-n", "out"], 2),
    )
        .prop_map(|(opts, scripts, files)| {
            let mut argv = vec!["sed".to_owned()];
            argv.extend(opts);
            argv.extend(scripts.into_iter().flatten());
            argv.extend(files);
            argv
        })
}

const SORT_WORDS: &[&str] = &[
    "-u",
    "-r",
    "-n",
    "-k",
    "2",
    "-k2,2",
    "-t",
    ",",
    "-t,",
    "-o",
    "out",
    "-uo",
    "-uoout",
    "-ro",
    "--output=out",
    "--outp=out",
    "--output",
    "--o=out",
    "--compress-program=./evil.sh",
    "--compress-prog=./evil.sh",
    "-T",
    ".",
    "-T.",
    "--temporary-directory=.",
    "--reverse",
    "--unique",
    "--rev",
    "-S",
    "1M",
    "-S1",
    "-m",
    "--files0-from=list",
    "in.txt",
    "in.txt",
    "-c",
    "--check=quiet",
    "--debug",
    "-z",
    "--batch-size=2",
    "--parallel=2",
    "--random-source=in.txt",
    "-R",
    "--sort=numeric",
    "--",
    "-",
];

const FIND_WORDS: &[&str] = &[
    ".",
    "in.txt",
    "-name",
    "*.txt",
    "-type",
    "f",
    "-exec",
    "touch",
    "PWNED",
    ";",
    "{}",
    "+",
    "-delete",
    "-fprint",
    "out",
    "-fprint0",
    "-fprintf",
    "%p",
    "-print",
    "-o",
    "-a",
    "(",
    ")",
    "!",
    "-not",
    "-maxdepth",
    "1",
    "-newer",
    "-newermt",
    "2020-01-01",
    "-ok",
    "-okdir",
    "-execdir",
    "-fls",
    "-printf",
    "%p\\n",
    "-prune",
    "-quit",
    "-ls",
    "-L",
    "-empty",
    "-path",
    "./.git",
    "-mmin",
    "-5",
    "-size",
    "+0",
    "-regex",
    ".*",
    "-depth",
];

const GIT_GLOBALS: &[&str] = &[
    "-C",
    ".",
    "--no-pager",
    "-P",
    "-p",
    "--paginate",
    "-c",
    "core.pager=./evil.sh",
    "--no-optional-locks",
    "--git-dir=.git",
    "--exec-path=.",
    "--literal-pathspecs",
];

const GIT_SUBS: &[&str] = &[
    "status",
    "log",
    "diff",
    "show",
    "blame",
    "ls-files",
    "rev-parse",
    "branch",
    "commit",
    "checkout",
    "stash",
    "grep",
    "config",
    "reset",
];

const GIT_WORDS: &[&str] = &[
    "--output=out",
    "--output",
    "out",
    "--ext-diff",
    "--textconv",
    "--show-signature",
    "-p",
    "--no-index",
    "-D",
    "newbranch",
    "-m",
    "-l",
    "--list",
    "in.txt",
    "HEAD",
    "--",
    "--format=%G?",
    "--pretty=%GG",
    "--stat",
    "--cached",
    "--oneline",
    "-uall",
    "--porcelain",
    "-L",
    "1,2:in.txt",
    "-s",
    "-b",
    "-n",
    "1",
    "-3",
    "--all",
    "-v",
    "-vv",
    "--show-toplevel",
    "--short",
    "-z",
    "--ignored",
    "--word-diff",
    "-w",
    "--no-textconv",
    "--name-only",
    "-U1",
    "--decorate",
    "--outp=out",
    "--ext",
    "-c",
    "--contains",
    "-a",
    "-o",
    "--others",
    "--abbrev-ref",
];

const SCRIPT_WORDS: &[&str] = &[
    "ls",
    "cat",
    "in.txt",
    "*",
    "-ex?c",
    "find",
    ".",
    "-name",
    "touch",
    "PWNED",
    ">",
    ">>",
    "out",
    "$(touch PWNED)",
    "`touch PWNED`",
    "&&",
    "||",
    "|",
    ";",
    "&",
    "sort",
    "-o",
    "-uo",
    "sed",
    "'w out'",
    "\"w out\"",
    "-n",
    "'1p'",
    "git",
    "status",
    "diff",
    "--ext-diff",
    "~",
    "{a,b}",
    "\n",
    "#",
    "echo",
    "$HOME",
    "X=1",
    "=ls",
    "'a b'",
    "\"a b\"",
    "\\;",
    "(",
    ")",
    "<",
    "in.txt",
    "-exec",
    "{}",
    "+",
    "wc",
    "-l",
    "head",
    "-1",
    "--output=out",
];

const AWK_WORDS: &[&str] = &[
    "{print $1}",
    "NR<3",
    "$1 >= 1",
    "/a/ || /b/",
    "{print > \"out\"}",
    "{print >> \"out\"}",
    "{print | \"./evil.sh\"}",
    "BEGIN {system(\"./evil.sh\")}",
    "BEGIN {\"./evil.sh\" | getline}",
    "{printf \"%s\", $0 > \"out\"}",
    "{getline x < \"in.txt\"; print x}",
    "-F",
    ",",
    "-F,",
    "-v",
    "n=1",
    "-f",
    "in.txt",
    "in.txt",
    "--",
    "FS=,",
    "-W",
    "exec",
];

fn git_argv() -> impl Strategy<Value = Vec<String>> {
    (
        prop_oneof![3 => Just(Vec::new()), 1 => pick(GIT_GLOBALS, 2)],
        prop_oneof![
            3 => prop::sample::select(&GIT_SUBS[..8]),
            1 => prop::sample::select(GIT_SUBS),
        ],
        pick(GIT_WORDS, 4),
    )
        .prop_map(|(globals, sub, words)| {
            let mut argv = vec!["git".to_owned()];
            argv.extend(globals);
            argv.push(sub.to_owned());
            argv.extend(words);
            argv
        })
}

/// One word of a script: as it is when plain, else quoted one way or another, or raw.
fn script_word(word: String) -> impl Strategy<Value = String> {
    (0..4usize).prop_map(move |how| match how {
        0 => format!("'{}'", word.replace('\'', "")),
        1 => format!("\"{word}\""),
        2 => word.clone(),
        _ if word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./,:".contains(c)) =>
        {
            word.clone()
        }
        _ => format!("'{}'", word.replace('\'', "")),
    })
}

fn script_command() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        sed_argv(),
        with("sort", pick(SORT_WORDS, 4)),
        with("find", pick(FIND_WORDS, 5)),
        git_argv(),
        pick(
            &[
                "cat", "in.txt", "wc", "-l", "head", "-1", "ls", "-la", "echo", "x"
            ],
            3
        ),
        pick(SCRIPT_WORDS, 4),
    ]
    .prop_filter("a command", |argv| !argv.is_empty())
    .prop_flat_map(|argv| argv.into_iter().map(script_word).collect::<Vec<_>>())
}

fn script_argv() -> impl Strategy<Value = Vec<String>> {
    (
        prop::sample::select(&["bash", "sh", "/bin/sh", "./bash", "bash"][..]),
        prop_oneof![4 => Just("-lc"), 2 => Just("-c"), 1 => Just("-x")],
        prop::collection::vec(
            (
                script_command(),
                prop::sample::select(&[" && ", " || ", "; ", " | ", " & ", "\n", " |& "][..]),
            ),
            1..3,
        ),
    )
        .prop_map(|(shell, flag, commands)| {
            let mut body = String::new();
            for (i, (words, sep)) in commands.iter().enumerate() {
                if i > 0 {
                    body.push_str(sep);
                }
                body.push_str(&words.join(" "));
            }
            vec![shell.to_owned(), flag.to_owned(), body]
        })
}

fn with(
    program: &'static str,
    words: impl Strategy<Value = Vec<String>>,
) -> impl Strategy<Value = Vec<String>> {
    words.prop_map(move |w| std::iter::once(program.to_owned()).chain(w).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn accepted_sed_changes_nothing(argv in sed_argv()) {
        accepted_changes_nothing(&argv)?;
    }

    #[test]
    fn accepted_sort_changes_nothing(argv in with("sort", pick(SORT_WORDS, 5))) {
        accepted_changes_nothing(&argv)?;
    }

    #[test]
    fn accepted_awk_changes_nothing(argv in with("awk", pick(AWK_WORDS, 5))) {
        accepted_changes_nothing(&argv)?;
    }

    #[test]
    fn accepted_find_changes_nothing(argv in with("find", pick(FIND_WORDS, 7))) {
        accepted_changes_nothing(&argv)?;
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn accepted_git_changes_nothing(argv in git_argv()) {
        accepted_changes_nothing(&argv)?;
    }

    #[test]
    fn accepted_scripts_change_nothing(argv in script_argv()) {
        accepted_changes_nothing(&argv)?;
    }
}

/// The generators reach accepted commands, or the property would hold vacuously.
#[test]
fn the_generators_reach_accepted_commands() {
    let scratch = Scratch::new();
    let root = scratch.root();
    for argv in [
        &["sed", "-n", "-e", "1p", "in.txt"][..],
        &["sort", "-u", "in.txt"],
        &["find", ".", "-name", "*.txt"],
        &["awk", "{print $1}", "in.txt"],
        &["git", "diff"],
        &["bash", "-lc", "git status && cat in.txt | wc -l"],
    ] {
        let argv: Vec<String> = argv.iter().map(|s| (*s).to_owned()).collect();
        let cmd = known_safe(&argv, &root, &RealHost);
        assert!(cmd.is_some(), "{argv:?} should be accepted here");
        accepted_changes_nothing(&argv).unwrap();
    }
}

/// Without the hardening, the scratch repository does run its programs: the property tests
/// something.
#[test]
fn the_scratch_repository_is_hostile() {
    let scratch = Scratch::new();
    let raw = CommandLine {
        argv: vec!["git".to_owned(), "diff".to_owned()],
        env: Vec::new(),
    };
    scratch.run(&raw);
    assert!(scratch.root().join(MARKER).exists());
}
