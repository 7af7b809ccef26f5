//! Tests that every I/O error of the recorder names the file and the OS error behind it.
//!
//! A full disk (`/dev/full`) is tested on the writer in the unit tests, where a recorder can be
//! pointed at a device; these go through the public API only.

use std::path::Path;

use session_services::{Recorder, RecorderError, read_recording};

use super::{meta, recorder, within};

/// Asserts that `err` is an I/O error on `path` whose message carries `cause`.
fn assert_io(err: &RecorderError, path: &Path, cause: &str) {
    assert!(
        matches!(err, RecorderError::Io { path: p, .. } if p == path),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains(cause), "{text} lacks {cause:?}");
    assert!(
        std::error::Error::source(err).is_none(),
        "the cause is in the message, so a chain must not print it twice"
    );
}

#[tokio::test]
async fn resuming_a_missing_file_or_a_folder_says_why_it_failed() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let missing = home.path().join("missing.jsonl");
        let err = recorder(home.path()).resume(&missing).await.unwrap_err();
        assert_io(&err, &missing, "No such file or directory (os error 2)");
        assert_io(
            &read_recording(&missing).unwrap_err(),
            &missing,
            "No such file or directory (os error 2)",
        );

        let folder = home.path().join("folder.jsonl");
        std::fs::create_dir(&folder).unwrap();
        let err = recorder(home.path()).resume(&folder).await.unwrap_err();
        assert_io(&err, &folder, "Is a directory (os error 21)");
    })
    .await;
}

#[tokio::test]
async fn a_device_or_a_fifo_is_refused_as_not_a_regular_file_without_blocking() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let fifo = home.path().join("fifo.jsonl");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a valid C string and creates a file; nothing else is touched.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // `/dev/zero` would stream zeros for ever; a FIFO would block a reader's open.
        for path in [Path::new("/dev/zero"), &fifo] {
            let err = recorder(home.path()).resume(path).await.unwrap_err();
            assert_io(&err, path, "not a regular file");
            assert_io(
                &read_recording(path).unwrap_err(),
                path,
                "not a regular file",
            );
        }
    })
    .await;
}

#[tokio::test]
async fn starting_where_no_folder_can_be_made_says_why_it_failed() {
    within(async {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        // The sessions folder's name is taken by a file.
        let sessions = home.join("sessions");
        std::fs::write(&sessions, "").unwrap();
        let err = recorder(&home)
            .start(meta("no-folder", "2026-11-25T18:54:22Z", "/w"))
            .await
            .unwrap_err();
        assert_io(&err, &sessions, "File exists (os error 17)");
    })
    .await;
}
