//! Unit tests of project-doc discovery on real temp dirs: the walk from the repository root,
//! per-directory precedence, fallbacks, the global file, symlinks and the byte cap.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::{DEFAULT_MAX_BYTES, ProjectDocOptions, load};

/// A temp dir holding a repository `repo/` (with a `.git` directory) and a session home `home/`.
struct Fixture {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    home: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let home = dir.path().join("home");
    fs::create_dir_all(repo.join(".git")).unwrap();
    fs::create_dir_all(&home).unwrap();
    Fixture {
        _dir: dir,
        repo,
        home,
    }
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn options() -> ProjectDocOptions {
    ProjectDocOptions::default()
}

fn with_fallbacks(names: &[&str]) -> ProjectDocOptions {
    ProjectDocOptions {
        fallback_filenames: names.iter().map(|n| (*n).to_owned()).collect(),
        ..ProjectDocOptions::default()
    }
}

fn capped(max_bytes: usize) -> ProjectDocOptions {
    ProjectDocOptions {
        max_bytes,
        ..ProjectDocOptions::default()
    }
}

#[test]
fn the_default_cap_is_32_kib_and_no_fallbacks() {
    assert_eq!(options().max_bytes, 32 * 1024);
    assert_eq!(DEFAULT_MAX_BYTES, 32 * 1024);
    assert!(options().fallback_filenames.is_empty());
}

#[test]
fn nothing_found_is_none() {
    let f = fixture();
    let cwd = f.repo.join("a/b");
    fs::create_dir_all(&cwd).unwrap();
    assert_eq!(load(&cwd, Some(&f.home), &options()), None);
    assert_eq!(load(&cwd, None, &options()), None);
}

#[test]
fn nested_directories_are_concatenated_from_the_root_down_to_the_cwd() {
    let f = fixture();
    let cwd = f.repo.join("crates/a/src");
    fs::create_dir_all(&cwd).unwrap();
    write(&f.repo.join("AGENTS.md"), "root rules\n");
    // `crates/` has none; `crates/a` has one; a sibling's is not on the path.
    write(&f.repo.join("crates/a/AGENTS.md"), "crate a rules\n\n");
    write(&f.repo.join("crates/b/AGENTS.md"), "crate b rules");
    write(&cwd.join("AGENTS.md"), "src rules");
    // Above the repository root: never read.
    write(&f.repo.parent().unwrap().join("AGENTS.md"), "outside");

    let text = load(&cwd, None, &options()).unwrap();
    assert_eq!(
        text,
        "==> AGENTS.md <==\nroot rules\n\n\
         ==> crates/a/AGENTS.md <==\ncrate a rules\n\n\
         ==> crates/a/src/AGENTS.md <==\nsrc rules"
    );
}

#[test]
fn an_override_takes_precedence_in_its_own_directory_only() {
    let f = fixture();
    let cwd = f.repo.join("sub");
    write(&f.repo.join("AGENTS.md"), "shared root");
    write(&f.repo.join("AGENTS.override.md"), "local root");
    write(&cwd.join("AGENTS.md"), "shared sub");

    let text = load(&cwd, None, &options()).unwrap();
    assert_eq!(
        text,
        "==> AGENTS.override.md <==\nlocal root\n\n==> sub/AGENTS.md <==\nshared sub"
    );
}

#[test]
fn an_empty_override_silences_its_directory() {
    let f = fixture();
    write(&f.repo.join("AGENTS.md"), "shared root");
    write(&f.repo.join("AGENTS.override.md"), " \n\t\n");
    assert_eq!(load(&f.repo, None, &options()), None);
}

#[test]
fn fallback_filenames_are_tried_in_order_when_neither_agents_file_exists() {
    let f = fixture();
    let cwd = f.repo.join("sub");
    write(&f.repo.join("CLAUDE.md"), "claude root");
    write(&f.repo.join("GEMINI.md"), "gemini root");
    write(&cwd.join("AGENTS.md"), "agents sub");
    write(&cwd.join("CLAUDE.md"), "claude sub");

    let text = load(&cwd, None, &with_fallbacks(&["CLAUDE.md", "GEMINI.md"])).unwrap();
    assert_eq!(
        text,
        "==> CLAUDE.md <==\nclaude root\n\n==> sub/AGENTS.md <==\nagents sub"
    );
    let text = load(&cwd, None, &with_fallbacks(&["GEMINI.md", "CLAUDE.md"])).unwrap();
    assert!(
        text.starts_with("==> GEMINI.md <==\ngemini root\n\n"),
        "{text}"
    );
    // Without fallbacks the root contributes nothing.
    assert_eq!(
        load(&cwd, None, &options()).unwrap(),
        "==> sub/AGENTS.md <==\nagents sub"
    );
}

#[test]
fn fallback_names_that_are_not_plain_file_names_are_ignored() {
    let f = fixture();
    let cwd = f.repo.join("sub");
    write(&f.repo.join("docs/RULES.md"), "nested name");
    write(&f.repo.join("TOP.md"), "parent name");
    fs::create_dir_all(&cwd).unwrap();
    let names = ["", "docs/RULES.md", "../TOP.md", "..", "/etc/passwd"];
    assert_eq!(load(&cwd, None, &with_fallbacks(&names)), None);
}

#[test]
fn a_directory_or_fifo_named_like_a_doc_is_passed_over() {
    let f = fixture();
    fs::create_dir_all(f.repo.join("AGENTS.override.md")).unwrap();
    let fifo = std::ffi::CString::new(
        f.repo
            .join("AGENTS.md")
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    write(&f.repo.join("CLAUDE.md"), "the fallback");

    let text = load(&f.repo, None, &with_fallbacks(&["CLAUDE.md"])).unwrap();
    assert_eq!(text, "==> CLAUDE.md <==\nthe fallback");
}

#[test]
fn without_a_repository_only_the_cwd_is_searched() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().join("project/sub");
    write(&dir.path().join("project/AGENTS.md"), "parent");
    write(&cwd.join("AGENTS.md"), "cwd only");

    assert_eq!(
        load(&cwd, None, &options()).unwrap(),
        "==> AGENTS.md <==\ncwd only"
    );
}

#[test]
fn a_git_file_marks_a_worktree_root() {
    let dir = tempfile::tempdir().unwrap();
    let worktree = dir.path().join("worktree");
    write(
        &worktree.join(".git"),
        "gitdir: /elsewhere/.git/worktrees/w\n",
    );
    write(&worktree.join("AGENTS.md"), "worktree root");
    write(&dir.path().join("AGENTS.md"), "above the worktree");
    let cwd = worktree.join("a/b");
    fs::create_dir_all(&cwd).unwrap();

    assert_eq!(
        load(&cwd, None, &options()).unwrap(),
        "==> AGENTS.md <==\nworktree root"
    );
}

#[test]
fn the_global_file_comes_first_and_its_override_wins() {
    let f = fixture();
    write(&f.repo.join("AGENTS.md"), "project");
    write(&f.home.join("AGENTS.md"), "global");

    assert_eq!(
        load(&f.repo, Some(&f.home), &options()).unwrap(),
        "==> AGENTS.md (global) <==\nglobal\n\n==> AGENTS.md <==\nproject"
    );

    write(&f.home.join("AGENTS.override.md"), "global override");
    assert_eq!(
        load(&f.repo, Some(&f.home), &options()).unwrap(),
        "==> AGENTS.override.md (global) <==\nglobal override\n\n==> AGENTS.md <==\nproject"
    );
    // Fallback names are for project directories only.
    fs::remove_file(f.home.join("AGENTS.override.md")).unwrap();
    fs::remove_file(f.home.join("AGENTS.md")).unwrap();
    write(&f.home.join("CLAUDE.md"), "global claude");
    assert_eq!(
        load(&f.repo, Some(&f.home), &with_fallbacks(&["CLAUDE.md"])).unwrap(),
        "==> AGENTS.md <==\nproject"
    );
}

#[test]
fn the_global_file_alone_is_enough() {
    let f = fixture();
    write(&f.home.join("AGENTS.md"), "global only\n");
    assert_eq!(
        load(&f.repo, Some(&f.home), &options()).unwrap(),
        "==> AGENTS.md (global) <==\nglobal only"
    );
}

#[test]
fn the_same_file_is_included_once() {
    let f = fixture();
    write(&f.repo.join("AGENTS.md"), "root");
    let sub = f.repo.join("sub");
    fs::create_dir_all(&sub).unwrap();
    symlink("../AGENTS.md", sub.join("AGENTS.md")).unwrap();
    assert_eq!(
        load(&sub, None, &options()).unwrap(),
        "==> AGENTS.md <==\nroot"
    );
    // A session home that is the repository root.
    assert_eq!(
        load(&f.repo, Some(&f.repo), &options()).unwrap(),
        "==> AGENTS.md (global) <==\nroot"
    );
}

#[test]
fn a_symlink_is_followed_inside_the_repository_only() {
    let f = fixture();
    write(&f.repo.join("docs/agents.md"), "linked inside");
    symlink(f.repo.join("docs/agents.md"), f.repo.join("CLAUDE.md")).unwrap();
    let secret = f.repo.parent().unwrap().join("secret.txt");
    write(&secret, "do not send");
    symlink(&secret, f.repo.join("AGENTS.override.md")).unwrap();

    // The override leads outside, so it is as if absent; the fallback symlink stays inside.
    let text = load(&f.repo, None, &with_fallbacks(&["CLAUDE.md"])).unwrap();
    assert_eq!(text, "==> CLAUDE.md <==\nlinked inside");

    // Outside pointing symlinks to devices are no better.
    fs::remove_file(f.repo.join("CLAUDE.md")).unwrap();
    symlink("/dev/zero", f.repo.join("AGENTS.md")).unwrap();
    assert_eq!(load(&f.repo, None, &with_fallbacks(&["CLAUDE.md"])), None);
}

#[test]
fn the_global_file_may_link_anywhere_but_only_to_a_regular_file() {
    let f = fixture();
    let dotfiles = f.repo.parent().unwrap().join("dotfiles/AGENTS.md");
    write(&dotfiles, "from dotfiles");
    symlink(&dotfiles, f.home.join("AGENTS.md")).unwrap();
    assert_eq!(
        load(&f.repo, Some(&f.home), &options()).unwrap(),
        "==> AGENTS.md (global) <==\nfrom dotfiles"
    );
    symlink("/dev/zero", f.home.join("AGENTS.override.md")).unwrap();
    assert_eq!(
        load(&f.repo, Some(&f.home), &options()).unwrap(),
        "==> AGENTS.md (global) <==\nfrom dotfiles"
    );
}

#[test]
fn a_symlinked_cwd_walks_its_real_parents() {
    let f = fixture();
    write(&f.repo.join("AGENTS.md"), "root");
    let real = f.repo.join("deep/dir");
    fs::create_dir_all(&real).unwrap();
    let link = f.home.join("shortcut");
    symlink(&real, &link).unwrap();
    assert_eq!(
        load(&link, None, &options()).unwrap(),
        "==> AGENTS.md <==\nroot"
    );
}

#[test]
fn invalid_utf8_is_replaced() {
    let f = fixture();
    fs::write(f.repo.join("AGENTS.md"), b"ok \xff\xfe end").unwrap();
    assert_eq!(
        load(&f.repo, None, &options()).unwrap(),
        "==> AGENTS.md <==\nok \u{fffd}\u{fffd} end"
    );
}

#[test]
fn a_zero_cap_turns_project_docs_off() {
    let f = fixture();
    write(&f.repo.join("AGENTS.md"), "something");
    assert_eq!(load(&f.repo, None, &capped(0)), None);
}

const NOTE_10: &str =
    "\n[project instructions truncated: they exceed project_doc_max_bytes (10 bytes)]";

#[test]
fn the_total_is_cut_at_the_cap_and_says_so() {
    let f = fixture();
    // Header `==> AGENTS.md <==\n` is 18 bytes.
    write(&f.repo.join("AGENTS.md"), &"x".repeat(100));
    let sub = f.repo.join("sub");
    write(&sub.join("AGENTS.md"), "never reached");

    let text = load(&sub, None, &capped(30)).unwrap();
    assert_eq!(
        text,
        format!(
            "==> AGENTS.md <==\n{}\n[project instructions truncated: they exceed \
             project_doc_max_bytes (30 bytes)]",
            "x".repeat(12)
        )
    );

    // Exactly at the cap: nothing is cut.
    fs::remove_dir_all(&sub).unwrap();
    write(&f.repo.join("AGENTS.md"), &"x".repeat(12));
    assert_eq!(
        load(&f.repo, None, &capped(30)).unwrap(),
        format!("==> AGENTS.md <==\n{}", "x".repeat(12))
    );
}

#[test]
fn a_later_file_past_a_full_budget_is_a_cut() {
    let f = fixture();
    write(&f.home.join("AGENTS.md"), "g");
    // `==> AGENTS.md (global) <==\ng` is 28 bytes, exactly the cap.
    write(&f.repo.join("AGENTS.md"), "more");
    let text = load(&f.repo, Some(&f.home), &capped(28)).unwrap();
    assert_eq!(
        text,
        "==> AGENTS.md (global) <==\ng\n[project instructions truncated: they exceed \
         project_doc_max_bytes (28 bytes)]"
    );
    // An empty later file is no cut.
    write(&f.repo.join("AGENTS.md"), "");
    assert_eq!(
        load(&f.repo, Some(&f.home), &capped(28)).unwrap(),
        "==> AGENTS.md (global) <==\ng"
    );
}

#[test]
fn a_cut_inside_a_multibyte_character_drops_the_whole_character() {
    let f = fixture();
    let header = "==> AGENTS.md <==\n";
    // `€` is three bytes; a cap one or two bytes into it keeps none of it.
    write(&f.repo.join("AGENTS.md"), "ab€cd");
    for cap in [header.len() + 3, header.len() + 4] {
        let text = load(&f.repo, None, &capped(cap)).unwrap();
        let note = format!(
            "\n[project instructions truncated: they exceed project_doc_max_bytes ({cap} bytes)]"
        );
        assert_eq!(text, format!("{header}ab{note}"), "cap {cap}");
    }
    let cap = header.len() + 5;
    let text = load(&f.repo, None, &capped(cap)).unwrap();
    assert!(
        text.starts_with(&format!("{header}ab€\n[project")),
        "{text}"
    );
}

#[test]
fn a_cap_inside_the_header_keeps_a_prefix() {
    let f = fixture();
    write(&f.repo.join("AGENTS.md"), "body");
    assert_eq!(
        load(&f.repo, None, &capped(10)).unwrap(),
        format!("==> AGENTS{NOTE_10}")
    );
}

#[test]
fn a_huge_file_is_read_only_up_to_the_cap() {
    let f = fixture();
    // 16 GiB, sparse: reading it whole would not finish.
    let file = fs::File::create(f.repo.join("AGENTS.md")).unwrap();
    file.set_len(1 << 34).unwrap();
    let text = load(&f.repo, None, &capped(10)).unwrap();
    assert_eq!(text, format!("==> AGENTS{NOTE_10}"));
    let text = load(&f.repo, None, &options()).unwrap();
    assert!(text.len() < DEFAULT_MAX_BYTES + 100, "{}", text.len());
}
