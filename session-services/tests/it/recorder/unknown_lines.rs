//! Tests of complete lines resume does not know: kept where they are and skipped, at the end of
//! the file as in its middle; only the bytes after the last newline are ever cut.

use std::sync::Arc;

use session_services::{Recorder, RolloutItem, count_recorded_turns, read_recording};
use session_state::{EventMsg, ResponseItem};

use super::{item, recorder, response, small_recording, within};

/// Complete lines of kinds this version does not know, as a newer one might write them, or
/// damaged payloads of kinds it does know.
const UNKNOWN: [&str; 6] = [
    r#"{"timestamp":"2026-11-25T18:54:22.123Z","type":"future_kind","payload":{"x":1}}"#,
    r#"{"timestamp":"2026-11-25T18:54:22.123Z","type":"event","payload":{"type":"future_event","n":2}}"#,
    r#"{"timestamp":"2026-11-25T18:54:22.123Z","type":"response_item","payload":{"type":"future_item"}}"#,
    r#"{"timestamp":"2026-11-25T18:54:22.123Z","type":"response_item","payload":{"type":"message"}}"#,
    r#"{"type":"compacted"}"#,
    "   ",
];

#[tokio::test]
async fn resume_keeps_a_complete_last_line_it_does_not_know_and_appends_after_it() {
    within(async {
        for unknown in UNKNOWN {
            let home = tempfile::tempdir().unwrap();
            let rec = recorder(home.path());
            let (path, history) = small_recording(&rec).await;
            rec.shutdown().await.unwrap();
            let mut before = std::fs::read(&path).unwrap();
            before.extend_from_slice(unknown.as_bytes());
            before.push(b'\n');
            std::fs::write(&path, &before).unwrap();

            let read = read_recording(&path).unwrap();
            assert_eq!(read.history, history, "{unknown}");
            assert_eq!(read.skipped_lines, 1, "{unknown}");
            assert_eq!(read.truncated_tail_bytes, 0, "{unknown}");

            let rec = recorder(home.path());
            let resumed = rec.resume(&path).await.unwrap();
            assert_eq!(resumed.history, history, "{unknown}");
            assert_eq!(resumed.skipped_lines, 1, "{unknown}");
            assert_eq!(std::fs::read(&path).unwrap(), before, "{unknown}");
            let appended = item(ResponseItem::assistant_text("after the unknown line"));
            rec.record(vec![response(&appended)]).await.unwrap();
            rec.shutdown().await.unwrap();

            let after = std::fs::read(&path).unwrap();
            assert_eq!(&after[..before.len()], &before[..], "{unknown}");
            let back = read_recording(&path).unwrap();
            let mut want = history.clone();
            want.push(Arc::clone(&appended));
            assert_eq!(back.history, want, "{unknown}");
            assert_eq!(back.skipped_lines, 1, "{unknown}");
            assert_eq!(count_recorded_turns(&path).unwrap(), 0, "{unknown}");
        }
    })
    .await;
}

#[tokio::test]
async fn lines_it_does_not_know_in_the_middle_are_skipped_the_same_way() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        for (i, unknown) in UNKNOWN.iter().enumerate() {
            let at = (1 + 2 * i).min(lines.len() - 1);
            lines.insert(at, unknown);
        }
        let edited = lines.join("\n") + "\n";
        std::fs::write(&path, &edited).unwrap();

        let rec = recorder(home.path());
        let resumed = rec.resume(&path).await.unwrap();
        assert_eq!(resumed.history, history);
        assert_eq!(resumed.skipped_lines, UNKNOWN.len() as u64);
        rec.record(vec![RolloutItem::Event(EventMsg::TaskComplete {
            last_agent_message: None,
        })])
        .await
        .unwrap();
        rec.shutdown().await.unwrap();
        let after = std::fs::read_to_string(&path).unwrap();
        assert!(after.starts_with(&edited), "resume rewrote a line");
        assert_eq!(count_recorded_turns(&path).unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn only_the_torn_bytes_after_the_last_newline_are_cut() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        let mut kept = std::fs::read(&path).unwrap();
        kept.extend_from_slice(UNKNOWN[0].as_bytes());
        kept.push(b'\n');
        let torn = &br#"{"timestamp":"2026-11-25T18:54:22.123Z","type":"event","pay"#[..];
        let mut file = kept.clone();
        file.extend_from_slice(torn);
        std::fs::write(&path, &file).unwrap();

        let rec = recorder(home.path());
        let resumed = rec.resume(&path).await.unwrap();
        assert_eq!(resumed.history, history);
        assert_eq!(resumed.skipped_lines, 1);
        assert_eq!(resumed.truncated_tail_bytes, torn.len() as u64);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            kept,
            "the unknown line stays"
        );
        rec.shutdown().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_whole_item_without_its_newline_is_a_torn_write_and_is_cut() {
    within(async {
        // The writer ends every line with `\n` in the same write, so a line without one did
        // not finish being written, even when what is there parses.
        let home = tempfile::tempdir().unwrap();
        let rec = recorder(home.path());
        let (path, history) = small_recording(&rec).await;
        rec.shutdown().await.unwrap();
        let full = std::fs::read(&path).unwrap();
        let unterminated = &full[..full.len() - 1];
        let last_start = unterminated.iter().rposition(|b| *b == b'\n').unwrap() + 1;
        serde_json::from_slice::<serde_json::Value>(&unterminated[last_start..]).unwrap();
        std::fs::write(&path, unterminated).unwrap();

        let rec = recorder(home.path());
        let resumed = rec.resume(&path).await.unwrap();
        assert_eq!(resumed.history, history[..history.len() - 1]);
        assert_eq!(
            resumed.truncated_tail_bytes,
            (unterminated.len() - last_start) as u64
        );
        assert_eq!(std::fs::read(&path).unwrap(), &full[..last_start]);
        rec.shutdown().await.unwrap();
    })
    .await;
}
