//! Unit tests of the recorder's time arithmetic and line format, and of its writer on a full
//! disk (`/dev/full`, which a recorder can be pointed at only from inside).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use session_state::{EventMsg, HistoryItem, ResponseItem};

use super::JsonlRecorder;
use super::line::{self, LineRecord};
use super::listing::id_from_file_name;
use super::time::{self, Civil};
use crate::recorder::{Recorder, RecorderError, RolloutItem, SessionMeta};

#[test]
fn known_instants_format_as_rfc3339_with_millis() {
    let cases: [(u64, u32, &str); 8] = [
        (0, 0, "1970-01-01T00:00:00.000Z"),
        (951_782_400, 5, "2000-02-29T00:00:00.005Z"),
        (1_709_164_800 + 45_296, 789, "2024-02-29T12:34:56.789Z"),
        (1_735_689_599, 999, "2024-12-31T23:59:59.999Z"),
        (946_598_400, 0, "1999-12-31T00:00:00.000Z"),
        (1_795_632_862, 123, "2026-11-25T18:54:22.123Z"),
        (4_107_456_000, 0, "2100-02-28T00:00:00.000Z"),
        (4_107_456_000 + 86_400, 0, "2100-03-01T00:00:00.000Z"),
    ];
    for (secs, millis, want) in cases {
        let t = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis.into());
        assert_eq!(time::rfc3339_millis(t), want, "secs {secs}");
    }
}

#[test]
fn times_before_the_epoch_format_as_the_epoch() {
    let t = UNIX_EPOCH - Duration::from_secs(10);
    assert_eq!(time::rfc3339_millis(t), "1970-01-01T00:00:00.000Z");
}

#[test]
fn file_stamp_has_no_colons_and_a_fixed_width() {
    let civil = Civil::from_unix(1_795_632_862, 0);
    assert_eq!(civil.file_stamp(), "2026-11-25T18-54-22");
    assert_eq!(civil.file_stamp().len(), time::FILE_STAMP_LEN);
}

#[test]
fn civil_dates_round_trip_through_day_numbers_across_leap_years() {
    // Every day from 1600 to 2400 covers all leap-year rules (every 4, not 100, but 400).
    let start = time::days_from_civil(1600, 1, 1);
    let end = time::days_from_civil(2400, 12, 31);
    let mut previous = time::civil_from_days(start - 1);
    for days in start..=end {
        let (y, m, d) = time::civil_from_days(days);
        assert_eq!(
            time::days_from_civil(y, m.into(), d.into()),
            days,
            "{y}-{m}-{d}"
        );
        let next_day = (previous.0, previous.1, previous.2 + 1) == (y, m, d);
        let next_month =
            previous.1 != m && d == 1 && (m == previous.1 + 1 || (m == 1 && y == previous.0 + 1));
        assert!(next_day || next_month, "{previous:?} then {y}-{m}-{d}");
        previous = (y, m, d);
    }
}

#[test]
fn february_has_29_days_exactly_in_leap_years() {
    for (year, leap) in [
        (1900, false),
        (2000, true),
        (2023, false),
        (2024, true),
        (2100, false),
    ] {
        let march_first = time::days_from_civil(year, 3, 1);
        assert_eq!(
            time::civil_from_days(march_first - 1).2,
            if leap { 29 } else { 28 },
            "{year}"
        );
        let parsed = time::parse_rfc3339(&format!("{year}-02-29T00:00:00Z"));
        assert_eq!(parsed.is_some(), leap, "{year}");
    }
}

#[test]
fn rfc3339_parses_utc_offsets_and_fractions() {
    let want = Some(1_795_632_862);
    assert_eq!(time::parse_rfc3339("2026-11-25T18:54:22Z"), want);
    assert_eq!(time::parse_rfc3339("2026-11-25T18:54:22.123456Z"), want);
    assert_eq!(time::parse_rfc3339("2026-11-25T20:54:22+02:00"), want);
    assert_eq!(time::parse_rfc3339("2026-11-25T16:24:22.5-02:30"), want);
    assert_eq!(time::parse_rfc3339("2026-11-26T00:24:22+05:30"), want);
}

#[test]
fn rfc3339_rejects_what_is_not_a_timestamp() {
    for bad in [
        "",
        "2026-11-25",
        "2026-11-25T18:54:22",
        "2026-13-25T18:54:22Z",
        "2026-11-31T18:54:22Z",
        "2026-11-25T24:00:00Z",
        "2026-11-25T18:54:22.Z",
        "2026-11-25T18:54:22+0200",
        "2026-11-25T18:54:22Zjunk",
        "20x6-11-25T18:54:22Z",
    ] {
        assert_eq!(time::parse_rfc3339(bad), None, "{bad:?}");
    }
}

#[test]
fn a_response_item_line_carries_the_cached_json_verbatim() {
    let item = Arc::new(HistoryItem::new(ResponseItem::user_text("hi \"there\"")));
    let mut out = Vec::new();
    line::encode(
        "2026-11-25T18:54:22.123Z",
        &RolloutItem::ResponseItem(Arc::clone(&item)),
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        format!(
            "{{\"timestamp\":\"2026-11-25T18:54:22.123Z\",\"type\":\"response_item\",\"payload\":{}}}\n",
            item.json()
        )
    );
    match line::decode(text.as_bytes()).unwrap() {
        LineRecord::ResponseItem(back) => assert_eq!(back, item.item()),
        other => panic!("decoded {other:?}"),
    }
}

#[test]
fn every_kind_of_line_decodes_back() {
    let meta = SessionMeta {
        id: "abc".into(),
        timestamp: "2026-11-25T18:54:22Z".into(),
        cwd: "/w".into(),
        model: "m".into(),
        model_provider: "p".into(),
        cli_version: "1".into(),
    };
    let items = vec![
        RolloutItem::SessionMeta(meta.clone()),
        RolloutItem::Event(EventMsg::UserMessage {
            message: "go".into(),
        }),
        RolloutItem::ApprovedCommand(vec!["ls".into(), "-l".into()]),
    ];
    let mut out = Vec::new();
    for item in &items {
        line::encode("t", item, &mut out).unwrap();
    }
    let lines: Vec<&[u8]> = out.split_inclusive(|b| *b == b'\n').collect();
    assert_eq!(lines.len(), 3);
    assert!(matches!(line::decode(lines[0]).unwrap(), LineRecord::SessionMeta(m) if m == meta));
    assert!(matches!(
        line::decode(lines[1]).unwrap(),
        LineRecord::Event(EventMsg::UserMessage { message }) if message == "go"
    ));
    assert!(matches!(
        line::decode(lines[2]).unwrap(),
        LineRecord::ApprovedCommand(c) if c.command == ["ls", "-l"]
    ));
}

#[test]
fn file_names_give_back_the_session_id() {
    assert_eq!(
        id_from_file_name("rollout-2026-11-25T18-54-22-0199-abc.jsonl"),
        Some("0199-abc")
    );
    assert_eq!(
        id_from_file_name("rollout-2026-11-25T18-54-22-.jsonl"),
        None
    );
    assert_eq!(id_from_file_name("rollout-2026-11-25T18-54-22.jsonl"), None);
    assert_eq!(id_from_file_name("notes.jsonl"), None);
}

/// A recorder open on `/dev/full`, where every write fails with ENOSPC.
fn recorder_on_a_full_disk(home: &std::path::Path) -> (JsonlRecorder, std::path::PathBuf) {
    let rec = JsonlRecorder::new(home.to_path_buf());
    let path = std::path::PathBuf::from("/dev/full");
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    rec.begin_open().unwrap().opened(path.clone(), file);
    (rec, path)
}

fn assert_full_disk(err: &RecorderError) {
    let text = err.to_string();
    assert!(
        matches!(err, RecorderError::Io { path, .. } if path.as_os_str() == "/dev/full"),
        "{err:?}"
    );
    assert_eq!(
        text,
        "recording i/o failed on /dev/full: No space left on device (os error 28)"
    );
}

#[tokio::test]
async fn a_full_disk_is_reported_with_its_cause_by_every_flush_and_by_shutdown() {
    let home = tempfile::tempdir().unwrap();
    let (rec, _) = recorder_on_a_full_disk(home.path());
    let line = RolloutItem::Event(EventMsg::UserMessage {
        message: "hello".into(),
    });
    // Buffered: the disk is not touched yet.
    rec.record(vec![line.clone()]).await.unwrap();
    assert_full_disk(&rec.flush().await.unwrap_err());
    rec.record(vec![line]).await.unwrap();
    assert_full_disk(&rec.flush().await.unwrap_err());
    assert_full_disk(&rec.shutdown().await.unwrap_err());
}

#[tokio::test]
async fn a_full_disk_is_reported_with_its_cause_by_shutdown_without_a_flush() {
    let home = tempfile::tempdir().unwrap();
    let (rec, _) = recorder_on_a_full_disk(home.path());
    let big = RolloutItem::Event(EventMsg::AgentMessage {
        message: "x".repeat(200 * 1024),
    });
    // Larger than the buffer, so it goes to the device before shutdown asks.
    rec.record(vec![big]).await.unwrap();
    assert_full_disk(&rec.shutdown().await.unwrap_err());
}

mod properties {
    //! Property tests: the in-CI twin of the recording-reader fuzz target. Any bytes either
    //! replay or give an error; nothing panics, and a valid recording with garbage appended
    //! after its last newline loses nothing.

    use std::path::Path;

    use proptest::prelude::*;

    use super::super::reader::replay;

    const HEAD: &str = "{\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"type\":\"session_meta\",\"payload\":{\"id\":\"s\",\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"cwd\":\"/\",\"model\":\"m\"}}\n{\"timestamp\":\"2026-01-01T00:00:00.000Z\",\"type\":\"response_item\",\"payload\":{\"type\":\"message\",\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"hi\"}]}}\n";

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                4 => prop::sample::select(b"{}[]\":,typeload_response_item\n ".to_vec()),
                1 => any::<u8>(),
            ],
            0..300,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic_the_reader(input in bytes()) {
            let _ = replay(&input[..], Path::new("fuzz.jsonl"));
        }

        #[test]
        fn a_replay_ends_its_good_lines_exactly_at_the_last_newline(input in bytes()) {
            let mut file = HEAD.as_bytes().to_vec();
            file.extend_from_slice(&input);
            if let Ok((_, scan)) = replay(&file[..], Path::new("any.jsonl")) {
                let last_newline = file.iter().rposition(|b| *b == b'\n').unwrap();
                prop_assert_eq!(scan.good_end, last_newline as u64 + 1);
                prop_assert_eq!(scan.total, file.len() as u64);
            }
        }

        #[test]
        fn a_torn_tail_never_loses_a_complete_line(tail in bytes()) {
            let tail: Vec<u8> = tail.into_iter().filter(|b| *b != b'\n').collect();
            let mut file = HEAD.as_bytes().to_vec();
            file.extend_from_slice(&tail);
            let (session, _) = replay(&file[..], Path::new("torn.jsonl"))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(session.history.len(), 1);
            prop_assert_eq!(session.truncated_tail_bytes, tail.len() as u64);
        }
    }
}
