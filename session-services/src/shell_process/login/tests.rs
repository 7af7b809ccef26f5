//! Tests of finding the user's login shell.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use super::*;

fn temp_shell(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, "#!/bin/sh\n").unwrap();
    path
}

#[test]
fn an_existing_login_shell_wins_over_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let login = temp_shell(&dir, "zsh");
    let env = temp_shell(&dir, "bash");
    assert_eq!(choose(Some(login.clone()), Some(env.into())), login);
}

#[test]
fn a_missing_login_shell_falls_back_to_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let env = temp_shell(&dir, "bash");
    let missing = dir.path().join("missing");
    assert_eq!(choose(Some(missing), Some(env.clone().into())), env);
    assert_eq!(choose(None, Some(env.clone().into())), env);
}

#[test]
fn a_nologin_placeholder_is_not_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let nologin = temp_shell(&dir, "nologin");
    let env = temp_shell(&dir, "bash");
    assert_eq!(choose(Some(nologin), Some(env.clone().into())), env);
}

#[test]
fn nothing_usable_falls_back_to_bin_sh() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    assert_eq!(
        choose(Some(missing.clone()), Some(missing.into())),
        PathBuf::from("/bin/sh")
    );
    assert_eq!(
        choose(None, Some("relative/sh".into())),
        PathBuf::from("/bin/sh")
    );
    assert_eq!(choose(None, None), PathBuf::from("/bin/sh"));
}

#[test]
fn the_detected_shell_exists() {
    assert!(detect().is_file());
}
