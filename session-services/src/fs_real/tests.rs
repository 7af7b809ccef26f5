//! Unit tests of the real file system's atomic replace: temp files created exclusively under
//! random names, never written through a planted symlink, never left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use super::{RealFileSystem, random_suffixes, replace_file};
use crate::fs::{FileSystem, FsError};

/// Every entry of `dir`, by name, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn suffixes(names: &[&str]) -> impl Iterator<Item = String> {
    names
        .iter()
        .map(|s| (*s).to_owned())
        .collect::<Vec<_>>()
        .into_iter()
}

#[test]
fn a_symlink_planted_at_the_temp_name_is_not_written_through_and_the_next_name_is_used() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let target = ws.path().join("a.txt");
    std::fs::write(&target, "old\n").unwrap();
    symlink(&victim, ws.path().join(".a.txt.session-tmp-first")).unwrap();
    // A dangling link too: `O_EXCL` must refuse it rather than create its target.
    symlink(
        outside.path().join("created"),
        ws.path().join(".a.txt.session-tmp-second"),
    )
    .unwrap();

    replace_file(
        &target,
        b"new\n",
        &mut suffixes(&["first", "second", "third"]),
    )
    .unwrap();

    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(!outside.path().join("created").exists());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
    assert_eq!(
        entries(ws.path()),
        [
            ".a.txt.session-tmp-first",
            ".a.txt.session-tmp-second",
            "a.txt"
        ],
        "the planted links stay, the used temp file is gone"
    );
}

#[test]
fn when_every_temp_name_is_taken_the_write_fails_and_changes_nothing() {
    let ws = tempfile::tempdir().unwrap();
    let target = ws.path().join("a.txt");
    std::fs::write(&target, "old\n").unwrap();
    std::fs::write(ws.path().join(".a.txt.session-tmp-x"), "planted").unwrap();

    let err = replace_file(&target, b"new\n", &mut std::iter::repeat("x".to_owned())).unwrap_err();

    let FsError::Io { source, .. } = err else {
        panic!("expected an I/O error, got {err:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
    assert_eq!(
        std::fs::read_to_string(ws.path().join(".a.txt.session-tmp-x")).unwrap(),
        "planted"
    );
}

#[test]
fn temp_names_are_random_and_do_not_contain_the_process_id() {
    let names: Vec<String> = random_suffixes().take(64).collect();
    let pid = std::process::id().to_string();
    for name in &names {
        assert_eq!(name.len(), 32, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        // A short pid turns up inside random hex by chance; a name derived from it would lead
        // with it.
        assert!(!name.starts_with(&pid), "{name}");
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
}

#[tokio::test]
async fn a_symlink_at_the_old_predictable_temp_name_is_not_written_through() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let target = ws.path().join("a.txt");
    std::fs::write(&target, "old\n").unwrap();
    let planted = ws
        .path()
        .join(format!(".a.txt.session-tmp-{}", std::process::id()));
    symlink(&victim, &planted).unwrap();

    RealFileSystem.write(&target, "new\n").await.unwrap();

    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
    assert!(planted.is_symlink());
}

#[tokio::test]
async fn a_write_to_a_symlink_replaces_the_link_and_leaves_its_target_alone() {
    let ws = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let link = ws.path().join("link");
    symlink(&victim, &link).unwrap();

    RealFileSystem.write(&link, "new\n").await.unwrap();

    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(!link.is_symlink());
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "new\n");
    assert_eq!(entries(ws.path()), ["link"]);
}

#[tokio::test]
async fn a_write_keeps_the_mode_of_the_file_it_replaces_and_creates_parents() {
    let ws = tempfile::tempdir().unwrap();
    let script = ws.path().join("run.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o750)).unwrap();

    RealFileSystem
        .write(&script, "#!/bin/sh\necho hi\n")
        .await
        .unwrap();
    RealFileSystem
        .write(&ws.path().join("new/dir/file.txt"), "x\n")
        .await
        .unwrap();

    let mode = std::fs::metadata(&script).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o750);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("new/dir/file.txt")).unwrap(),
        "x\n"
    );
    assert_eq!(entries(ws.path()), ["new", "run.sh"]);
    assert_eq!(entries(&ws.path().join("new/dir")), ["file.txt"]);
}

#[tokio::test]
async fn a_failed_rename_leaves_no_temp_file() {
    let ws = tempfile::tempdir().unwrap();
    let dir = ws.path().join("dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("inside"), "x").unwrap();

    let err = RealFileSystem.write(&dir, "new\n").await.unwrap_err();

    assert!(matches!(err, FsError::Io { .. }), "{err:?}");
    assert_eq!(entries(ws.path()), ["dir"]);
}
