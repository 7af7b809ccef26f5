//! Tests of the recording lock: one session appends at a time, a second one is refused at once
//! and changes nothing, readers are never refused, and the lock goes with the session.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use session_services::{
    ListFilter, Recorder, RecorderError, RolloutItem, count_recorded_turns, read_recording,
};
use session_state::{EventMsg, ResponseItem};

use super::{item, lines_of, meta, recorder, response, small_recording, within};

/// Asserts that `result` is the refusal of a locked recording at `path`, with a clear message.
fn assert_locked<T: std::fmt::Debug>(result: Result<T, RecorderError>, path: &Path) {
    let err = result.expect_err("resume of a locked recording succeeded");
    assert!(
        matches!(&err, RecorderError::Locked { path: p } if p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "recording {} is in use by another session (locked)",
            path.display()
        )
    );
}

#[tokio::test]
async fn a_second_recorder_resuming_a_recording_in_use_fails_at_once_and_changes_nothing() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();

        let first = recorder(home.path());
        first.resume(&path).await.unwrap();
        let more = item(ResponseItem::assistant_text("from the first"));
        first.record(vec![response(&more)]).await.unwrap();
        first.flush().await.unwrap();
        // Recorded but not yet flushed: the writer may be in the middle of it.
        first
            .record(vec![response(&item(ResponseItem::assistant_text(
                "pending",
            )))])
            .await
            .unwrap();
        let before = std::fs::read(&path).unwrap();

        let second = recorder(home.path());
        assert_locked(second.resume(&path).await, &path);
        // Untouched by the refused recorder: nothing cut, nothing added but the first's own
        // pending line (which its writer may have written meanwhile).
        first.flush().await.unwrap();
        let after = std::fs::read(&path).unwrap();
        assert!(after.starts_with(&before), "the file was cut");
        let added = String::from_utf8_lossy(&after[before.len()..]).into_owned();
        assert!(
            added.is_empty() || (added.matches('\n').count() == 1 && added.contains("pending")),
            "the file changed: {added:?}"
        );
        assert_eq!(
            String::from_utf8_lossy(&after).matches("pending").count(),
            1,
            "the pending line is there once"
        );
        // The refused recorder is not open and can try again.
        assert!(matches!(
            second.record(vec![response(&more)]).await,
            Err(RecorderError::NotOpen)
        ));
        assert_locked(second.resume(&path).await, &path);

        first.shutdown().await.unwrap();
        let resumed = second.resume(&path).await.unwrap();
        assert_eq!(resumed.history.len(), history.len() + 2);
        second.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_recording_locked_by_another_program_keeps_even_its_torn_tail() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(br#"{"timestamp":"2026-11-25T18:54:22.123Z","type":"respo"#);
        std::fs::write(&path, &bytes).unwrap();

        // Another process holding the lock is the same to flock as another open file here.
        let holder = File::open(&path).unwrap();
        holder.try_lock().unwrap();
        assert_locked(recorder(home.path()).resume(&path).await, &path);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "the torn tail may be the holder's write in progress"
        );

        drop(holder);
        let rec = recorder(home.path());
        let resumed = rec.resume(&path).await.unwrap();
        assert_eq!(resumed.history, history);
        assert!(resumed.truncated_tail_bytes > 0);
        rec.shutdown().await.unwrap();
        assert_eq!(read_recording(&path).unwrap().truncated_tail_bytes, 0);
    })
    .await;
}

#[tokio::test]
async fn start_holds_the_lock_until_shutdown() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let path = rec
            .start(meta("locked-start", "2026-11-25T18:54:22Z", "/w"))
            .await
            .unwrap();
        assert_locked(recorder(home.path()).resume(&path).await, &path);
        // A lock taken by hand fails too: the recorder holds it, not just its own bookkeeping.
        assert!(File::open(&path).unwrap().try_lock().is_err());

        rec.shutdown().await.unwrap();
        File::open(&path).unwrap().try_lock().unwrap();
        let again = recorder(home.path());
        again.resume(&path).await.unwrap();
        again.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_dropped_recorder_lets_go_of_its_lock_once_its_writer_is_done() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();

        let first = recorder(home.path());
        first.resume(&path).await.unwrap();
        let more = item(ResponseItem::assistant_text("before the drop"));
        first.record(vec![response(&more)]).await.unwrap();
        drop(first);
        // The writer writes out what it was given, then closes the file, and the lock with it.
        let second = recorder(home.path());
        let resumed = loop {
            match second.resume(&path).await {
                Ok(resumed) => break resumed,
                Err(RecorderError::Locked { .. }) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(resumed.history.len(), history.len() + 1);
        second.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_recording_in_use_can_still_be_listed_found_and_read() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.flush().await.unwrap();

        let other = recorder(home.path());
        let listed = other.list(ListFilter::default()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].path, path);
        assert_eq!(other.find("sess-1").await.unwrap(), path);
        assert_eq!(read_recording(&path).unwrap().history, history);
        assert_eq!(count_recorded_turns(&path).unwrap(), 0);
        assert_locked(other.resume(&path).await, &path);
        rec.shutdown().await.unwrap();
    })
    .await;
}

/// What each of the racing sessions writes: a few hundred KiB, so every writer's buffer goes to
/// the file in several pieces, and pieces of two writers would cut each other's lines.
const RACE_LINES: usize = 300;

fn race_line(racer: usize, n: usize) -> RolloutItem {
    RolloutItem::Event(EventMsg::AgentMessage {
        message: format!("racer {racer} line {n} {}", "x".repeat(1000)),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resumes_of_one_recording_let_one_in_and_never_interleave_lines() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        let lines_before = lines_of(&path).len();

        const RACERS: usize = 6;
        let start = Arc::new(tokio::sync::Barrier::new(RACERS));
        // Everyone has tried before anyone writes, so a winner cannot finish and let a late
        // racer in.
        let tried = Arc::new(tokio::sync::Barrier::new(RACERS));
        let mut tasks = Vec::new();
        for racer in 0..RACERS {
            let rec = recorder(home.path());
            let path = path.clone();
            let (start, tried) = (Arc::clone(&start), Arc::clone(&tried));
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                let resumed = rec.resume(&path).await;
                tried.wait().await;
                if resumed.is_ok() {
                    for chunk in 0..RACE_LINES / 10 {
                        let batch = (0..10).map(|i| race_line(racer, chunk * 10 + i)).collect();
                        rec.record(batch).await.unwrap();
                        tokio::task::yield_now().await;
                    }
                    rec.shutdown().await.unwrap();
                }
                resumed.map(|_| racer)
            }));
        }
        let mut winners = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(racer) => winners.push(racer),
                Err(e) => assert!(matches!(e, RecorderError::Locked { .. }), "{e:?}"),
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "exactly one session may append: {winners:?}"
        );
        let winner = winners[0];

        let lines = lines_of(&path);
        assert_eq!(lines.len(), lines_before + RACE_LINES);
        for line in &lines {
            serde_json::from_str::<serde_json::Value>(line)
                .unwrap_or_else(|e| panic!("corrupt line {line:?}: {e}"));
        }
        let read = read_recording(&path).unwrap();
        assert_eq!(read.history, history);
        let want: Vec<EventMsg> = (0..RACE_LINES)
            .map(|n| match race_line(winner, n) {
                RolloutItem::Event(e) => e,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(read.events[read.events.len() - RACE_LINES..], want[..]);
    })
    .await;
}
