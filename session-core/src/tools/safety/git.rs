//! `git`: a few subcommands that only read, each with its own options, run with every program a
//! repository can configure switched off.
//!
//! A repository's `.git/config` can name programs that reading commands run: an fsmonitor hook,
//! a pager, an external diff, textconv and clean filters, gpg for signatures. The check accepts
//! only options that neither write (`--output`) nor turn those back on, and the command that runs
//! carries `--no-pager --no-optional-locks`, `-c` overrides and `--no-ext-diff --no-textconv`.
//! Attributes are read from the empty tree (`GIT_ATTR_SOURCE`, honoured from git 2.40), and the
//! filters that `$GIT_DIR/info/attributes` names are emptied one by one.

use std::path::Path;

use super::Host;
use super::getopt::{self, Arg, Spec, Word};

/// git's well-known empty tree: no `.gitattributes` in it.
pub(super) const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// The environment the hardened git runs with.
pub(super) const ENV: (&str, &str) = ("GIT_ATTR_SOURCE", EMPTY_TREE);

/// Configuration that switches repository-configured programs off, first on every git command.
const HARDENING: &[&str] = &[
    "--no-pager",
    "--no-optional-locks",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.pager=cat",
    "-c",
    "core.attributesFile=/dev/null",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "log.showSignature=false",
    "-c",
    "gpg.program=false",
    "-c",
    "gpg.ssh.program=false",
    "-c",
    "gpg.x509.program=false",
    "-c",
    "diff.external=",
];

const DIFF_FLAGS: &str = "psuwbiWRaz0123456789";
const DIFF_WITH_ARG: &str = "nUSGL";

const DIFF_LONGS: &[(&str, Arg)] = &[
    ("oneline", Arg::No),
    ("stat", Arg::Optional),
    ("shortstat", Arg::No),
    ("numstat", Arg::No),
    ("dirstat", Arg::Optional),
    ("summary", Arg::No),
    ("name-only", Arg::No),
    ("name-status", Arg::No),
    ("raw", Arg::No),
    ("patch", Arg::No),
    ("no-patch", Arg::No),
    ("graph", Arg::No),
    ("decorate", Arg::Optional),
    ("no-decorate", Arg::No),
    ("all", Arg::No),
    ("branches", Arg::Optional),
    ("tags", Arg::Optional),
    ("remotes", Arg::Optional),
    ("reverse", Arg::No),
    ("first-parent", Arg::No),
    ("merges", Arg::No),
    ("no-merges", Arg::No),
    ("abbrev-commit", Arg::No),
    ("no-abbrev-commit", Arg::No),
    ("abbrev", Arg::Optional),
    ("color", Arg::Optional),
    ("no-color", Arg::No),
    ("cached", Arg::No),
    ("staged", Arg::No),
    ("word-diff", Arg::Optional),
    ("color-words", Arg::Optional),
    ("color-moved", Arg::Optional),
    ("ignore-all-space", Arg::No),
    ("ignore-space-change", Arg::No),
    ("ignore-space-at-eol", Arg::No),
    ("ignore-blank-lines", Arg::No),
    ("ignore-cr-at-eol", Arg::No),
    ("follow", Arg::No),
    ("date", Arg::Required),
    ("pretty", Arg::Optional),
    ("format", Arg::Required),
    ("author", Arg::Required),
    ("committer", Arg::Required),
    ("grep", Arg::Required),
    ("regexp-ignore-case", Arg::No),
    ("since", Arg::Required),
    ("until", Arg::Required),
    ("after", Arg::Required),
    ("before", Arg::Required),
    ("max-count", Arg::Required),
    ("skip", Arg::Required),
    ("unified", Arg::Required),
    ("find-renames", Arg::Optional),
    ("no-renames", Arg::No),
    ("diff-filter", Arg::Required),
    ("relative", Arg::Optional),
    ("full-history", Arg::No),
    ("simplify-by-decoration", Arg::No),
    ("left-right", Arg::No),
    ("cherry-pick", Arg::No),
    ("boundary", Arg::No),
    ("topo-order", Arg::No),
    ("date-order", Arg::No),
    ("author-date-order", Arg::No),
    ("minimal", Arg::No),
    ("histogram", Arg::No),
    ("patience", Arg::No),
    ("check", Arg::No),
    ("exit-code", Arg::No),
    ("quiet", Arg::No),
    ("full-index", Arg::No),
    ("binary", Arg::No),
    ("merge-base", Arg::No),
    ("no-prefix", Arg::No),
    ("src-prefix", Arg::Required),
    ("dst-prefix", Arg::Required),
    ("parents", Arg::No),
    ("children", Arg::No),
    ("source", Arg::No),
    ("no-walk", Arg::Optional),
    ("function-context", Arg::No),
    ("text", Arg::No),
    ("no-ext-diff", Arg::No),
    ("no-textconv", Arg::No),
];

const LOG: Spec = Spec {
    flags: DIFF_FLAGS,
    with_arg: DIFF_WITH_ARG,
    longs: DIFF_LONGS,
    permute: true,
    attached: true,
};

const STATUS: Spec = Spec {
    flags: "sbvz",
    with_arg: "",
    longs: &[
        ("short", Arg::No),
        ("branch", Arg::No),
        ("porcelain", Arg::Optional),
        ("long", Arg::No),
        ("verbose", Arg::No),
        ("untracked-files", Arg::Optional),
        ("ignored", Arg::Optional),
        ("ignore-submodules", Arg::Optional),
        ("column", Arg::Optional),
        ("no-column", Arg::No),
        ("ahead-behind", Arg::No),
        ("no-ahead-behind", Arg::No),
        ("renames", Arg::No),
        ("no-renames", Arg::No),
        ("show-stash", Arg::No),
    ],
    permute: true,
    attached: true,
};

const BLAME: Spec = Spec {
    flags: "wsetlbpfnMC",
    with_arg: "L",
    longs: &[
        ("porcelain", Arg::No),
        ("line-porcelain", Arg::No),
        ("incremental", Arg::No),
        ("root", Arg::No),
        ("show-stats", Arg::No),
        ("show-name", Arg::No),
        ("show-number", Arg::No),
        ("show-email", Arg::No),
        ("date", Arg::Required),
        ("abbrev", Arg::Optional),
        ("ignore-rev", Arg::Required),
        ("color-lines", Arg::No),
        ("color-by-age", Arg::No),
        ("minimal", Arg::No),
        ("no-textconv", Arg::No),
    ],
    permute: true,
    attached: true,
};

const LS_FILES: Spec = Spec {
    flags: "cdmoiskuvtfz",
    with_arg: "x",
    longs: &[
        ("cached", Arg::No),
        ("deleted", Arg::No),
        ("modified", Arg::No),
        ("others", Arg::No),
        ("ignored", Arg::No),
        ("stage", Arg::No),
        ("killed", Arg::No),
        ("unmerged", Arg::No),
        ("directory", Arg::No),
        ("no-empty-directory", Arg::No),
        ("exclude", Arg::Required),
        ("exclude-standard", Arg::No),
        ("error-unmatch", Arg::No),
        ("full-name", Arg::No),
        ("abbrev", Arg::Optional),
        ("recurse-submodules", Arg::No),
        ("eol", Arg::No),
        ("deduplicate", Arg::No),
        ("format", Arg::Required),
    ],
    permute: true,
    attached: true,
};

const REV_PARSE: Spec = Spec {
    flags: "q",
    with_arg: "",
    longs: &[
        ("show-toplevel", Arg::No),
        ("git-dir", Arg::No),
        ("git-common-dir", Arg::No),
        ("absolute-git-dir", Arg::No),
        ("abbrev-ref", Arg::Optional),
        ("short", Arg::Optional),
        ("verify", Arg::No),
        ("quiet", Arg::No),
        ("is-inside-work-tree", Arg::No),
        ("is-inside-git-dir", Arg::No),
        ("is-bare-repository", Arg::No),
        ("show-prefix", Arg::No),
        ("show-cdup", Arg::No),
        ("symbolic", Arg::No),
        ("symbolic-full-name", Arg::No),
        ("all", Arg::No),
        ("branches", Arg::No),
        ("tags", Arg::No),
    ],
    permute: true,
    attached: true,
};

const BRANCH: Spec = Spec {
    flags: "larvi",
    with_arg: "",
    longs: &[
        ("list", Arg::No),
        ("all", Arg::No),
        ("remotes", Arg::No),
        ("verbose", Arg::No),
        ("show-current", Arg::No),
        ("contains", Arg::Required),
        ("no-contains", Arg::Required),
        ("merged", Arg::Required),
        ("no-merged", Arg::Required),
        ("points-at", Arg::Required),
        ("sort", Arg::Required),
        ("format", Arg::Required),
        ("color", Arg::Optional),
        ("no-color", Arg::No),
        ("column", Arg::Optional),
        ("no-column", Arg::No),
        ("ignore-case", Arg::No),
        ("abbrev", Arg::Optional),
        ("no-abbrev", Arg::No),
    ],
    permute: true,
    attached: true,
};

/// The hardened argv for `git args` when it only reads, else `None`.
pub(super) fn harden(args: &[String], cwd: &Path, host: &dyn Host) -> Option<Vec<String>> {
    // Global options before the subcommand.
    let mut globals: Vec<String> = Vec::new();
    let mut repo_dir = cwd.to_path_buf();
    let mut i = 0;
    loop {
        let a = args.get(i)?.as_str();
        match a {
            "--no-pager"
            | "-P"
            | "--no-optional-locks"
            | "--literal-pathspecs"
            | "--glob-pathspecs"
            | "--noglob-pathspecs"
            | "--icase-pathspecs" => {
                globals.push(a.to_owned());
                i += 1;
            }
            "-C" => {
                let dir = args.get(i + 1)?;
                repo_dir = repo_dir.join(dir);
                globals.extend(["-C".to_owned(), dir.clone()]);
                i += 2;
            }
            _ if a.starts_with('-') => return None,
            _ => break,
        }
    }
    let sub = args[i].as_str();
    let rest = &args[i + 1..];
    let (spec, extra): (&Spec, &[&str]) = match sub {
        "status" => (&STATUS, &[]),
        "log" | "show" | "diff" => (&LOG, &["--no-ext-diff", "--no-textconv"]),
        "blame" => (&BLAME, &["--no-textconv"]),
        "ls-files" => (&LS_FILES, &[]),
        "rev-parse" => (&REV_PARSE, &[]),
        "branch" => (&BRANCH, &[]),
        _ => return None,
    };
    let words = getopt::parse(spec, rest)?;
    if sub == "branch" && !branch_only_lists(&words) {
        return None;
    }
    let filters = host.git_filter_names(&repo_dir)?;
    let mut argv = vec!["git".to_owned()];
    argv.extend(HARDENING.iter().map(|s| (*s).to_owned()));
    for name in filters {
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return None;
        }
        for key in ["clean", "smudge", "process"] {
            argv.extend(["-c".to_owned(), format!("filter.{name}.{key}=")]);
        }
    }
    argv.extend(globals);
    argv.push(sub.to_owned());
    argv.extend(extra.iter().map(|s| (*s).to_owned()));
    argv.extend(rest.iter().cloned());
    Some(argv)
}

/// `git branch` creates, renames or deletes unless it lists: operands are patterns only with
/// `--list`; the options that imply listing take their argument as a commit, not a name.
fn branch_only_lists(words: &[Word]) -> bool {
    let listing = words
        .iter()
        .any(|w| matches!(w, Word::Opt(o, _) if o == "-l" || o == "--list"));
    listing || getopt::operands(words).next().is_none()
}
