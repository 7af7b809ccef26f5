//! Program lookup on `PATH`, installed shells and a repository's own attribute filters.
#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::{find_program_in, git_info_filters, is_installed_shell};

fn executable(path: &Path) {
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_program_resolves_through_absolute_entries_outside_the_workspace() {
    let bin = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    executable(&bin.path().join("tool"));
    let path = OsString::from(bin.path());
    let found = find_program_in("tool", work.path(), Some(&path)).unwrap();
    assert_eq!(found, bin.path().join("tool").canonicalize().unwrap());
    assert_eq!(find_program_in("missing", work.path(), Some(&path)), None);
    assert_eq!(find_program_in("./tool", work.path(), Some(&path)), None);
}

#[test]
fn a_relative_entry_or_the_workspace_on_path_is_not_trusted() {
    let work = tempfile::tempdir().unwrap();
    let inside = work.path().join("bin");
    std::fs::create_dir(&inside).unwrap();
    executable(&inside.join("ls"));
    let path = std::env::join_paths([inside.as_path(), Path::new("/usr/bin")]).unwrap();
    assert_eq!(find_program_in("ls", work.path(), Some(&path)), None);
    let path = std::env::join_paths([Path::new("bin"), Path::new("/usr/bin")]).unwrap();
    assert_eq!(find_program_in("ls", work.path(), Some(&path)), None);
    let path = OsString::from(":/usr/bin");
    assert_eq!(find_program_in("ls", work.path(), Some(&path)), None);
}

#[test]
fn a_file_that_is_not_executable_is_skipped() {
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    std::fs::write(first.path().join("tool"), "data").unwrap();
    executable(&second.path().join("tool"));
    let path = std::env::join_paths([first.path(), second.path()]).unwrap();
    let work = tempfile::tempdir().unwrap();
    let found = find_program_in("tool", work.path(), Some(&path)).unwrap();
    assert!(found.starts_with(second.path().canonicalize().unwrap()));
}

#[test]
fn only_installed_shells_are_shells() {
    assert!(is_installed_shell(Path::new("/bin/sh")));
    let work = tempfile::tempdir().unwrap();
    let fake = work.path().join("bash");
    executable(&fake);
    assert!(!is_installed_shell(&fake));
    assert!(!is_installed_shell(Path::new("bash")));
    assert!(!is_installed_shell(&work.path().join("missing")));
}

#[test]
fn filters_named_in_the_repositorys_info_attributes_are_found() {
    let repo = tempfile::tempdir().unwrap();
    let sub = repo.path().join("src");
    std::fs::create_dir_all(repo.path().join(".git/info")).unwrap();
    std::fs::create_dir(&sub).unwrap();
    assert_eq!(git_info_filters(&sub).unwrap(), Vec::<String>::new());
    std::fs::write(
        repo.path().join(".git/info/attributes"),
        "* filter=evil\n*.txt text filter=other\n[attr]m filter=evil -diff\n",
    )
    .unwrap();
    assert_eq!(git_info_filters(&sub).unwrap(), ["evil", "other"]);
}

#[test]
fn outside_a_repository_there_is_no_filter() {
    let dir = tempfile::tempdir().unwrap();
    // A temp dir may still sit inside a repository on a developer's machine; only check that
    // the answer is known.
    assert!(git_info_filters(dir.path()).is_some());
}
