//! Tests of granting a root piece by piece around its read-only paths (the no-namespace case).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::grants_around;

#[test]
fn grants_go_around_read_only_paths_and_never_through_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join(".git/hooks")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::create_dir_all(root.join("vendor/dep/.git")).unwrap();
    std::fs::create_dir_all(root.join("vendor/dep/lib")).unwrap();
    std::fs::write(root.join("README"), "x").unwrap();
    std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();

    // Nothing read-only inside: the root itself.
    assert_eq!(grants_around(&root, &[]), vec![root.clone()]);

    let read_only = vec![root.join(".git"), root.join("vendor/dep/.git")];
    let mut grants = grants_around(&root, &read_only);
    grants.sort();
    assert_eq!(
        grants,
        vec![
            root.join("README"),
            root.join("src"),
            root.join("vendor/dep/lib"),
        ]
    );
    // The root read-only itself: nothing granted.
    assert!(grants_around(&root, std::slice::from_ref(&root)).is_empty());
}
