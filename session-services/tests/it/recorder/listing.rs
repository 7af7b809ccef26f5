//! Tests of listing and finding recordings: newest first, by cwd, limited, heads only.

use std::path::PathBuf;

use session_services::{ListFilter, Recorder, RecorderError, RolloutItem, read_recording};
use session_state::{EventMsg, ResponseItem};

use super::{item, meta, recorder, response, within};

#[tokio::test]
async fn listing_is_newest_first_by_cwd_and_limited() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let sessions = [
            ("aaa-oldest", "2025-12-31T23:59:59Z", "/a"),
            ("bbb-new-year", "2026-01-01T00:00:00Z", "/b"),
            ("ccc-new-year", "2026-01-01T00:00:00Z", "/a"),
            ("ddd-newest", "2026-11-25T18:54:22Z", "/a"),
            ("eee-mid", "2026-02-01T10:00:00-05:00", "/b"),
        ];
        for (id, ts, cwd) in sessions {
            let rec = recorder(home.path());
            rec.start(meta(id, ts, cwd)).await.unwrap();
            rec.record(vec![RolloutItem::Event(EventMsg::UserMessage {
                message: format!("hello from {id}"),
            })])
            .await
            .unwrap();
            rec.shutdown().await.unwrap();
        }
        // Neither of these is a recording to list.
        let day = home.path().join("sessions/2026/11/25");
        std::fs::write(day.join("notes.txt"), "not a recording").unwrap();
        std::fs::write(
            day.join("rollout-2026-11-25T23-00-00-broken.jsonl"),
            "{\"not\":\"meta\"}\n",
        )
        .unwrap();

        let rec = recorder(home.path());
        let all = rec.list(ListFilter::default()).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ddd-newest",
                "eee-mid",
                "ccc-new-year",
                "bbb-new-year",
                "aaa-oldest"
            ]
        );
        assert_eq!(all[0].started_at, "2026-11-25T18:54:22Z");
        assert_eq!(all[0].cwd, PathBuf::from("/a"));
        assert_eq!(
            all[0].first_user_message.as_deref(),
            Some("hello from ddd-newest")
        );
        assert!(
            all[1]
                .path
                .ends_with("2026/02/01/rollout-2026-02-01T15-00-00-eee-mid.jsonl")
        );

        let in_a = rec
            .list(ListFilter {
                cwd: Some(PathBuf::from("/a")),
                limit: None,
            })
            .await
            .unwrap();
        let ids: Vec<&str> = in_a.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["ddd-newest", "ccc-new-year", "aaa-oldest"]);

        let limited = rec
            .list(ListFilter {
                cwd: Some(PathBuf::from("/a")),
                limit: Some(2),
            })
            .await
            .unwrap();
        assert_eq!(limited, in_a[..2]);
        assert!(
            rec.list(ListFilter {
                cwd: None,
                limit: Some(0)
            })
            .await
            .unwrap()
            .is_empty()
        );

        let empty = tempfile::tempdir().unwrap();
        assert!(
            recorder(empty.path())
                .list(ListFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn listing_reads_only_heads_so_a_garbage_tail_still_lists() {
    within(async {
        let home = tempfile::tempdir().unwrap();

        // A preamble, then the user's message as a history item, then a huge garbage tail.
        let rec = recorder(home.path());
        let garbage = rec
            .start(meta("garbage-tail", "2026-01-02T00:00:00Z", "/w"))
            .await
            .unwrap();
        rec.record(vec![
            response(&item(ResponseItem::user_text(
                "<environment_context>cwd /w</environment_context>",
            ))),
            response(&item(ResponseItem::assistant_text("hi"))),
            response(&item(ResponseItem::user_text("fix the bug"))),
        ])
        .await
        .unwrap();
        rec.shutdown().await.unwrap();
        let mut tail = std::fs::read(&garbage).unwrap();
        for _ in 0..20_000 {
            tail.extend_from_slice(b"\xff\xfe not json at all {{{\n");
        }
        std::fs::write(&garbage, tail).unwrap();

        // The user's first message comes after the head: it is not looked for.
        let rec = recorder(home.path());
        let late = rec
            .start(meta("late-message", "2026-01-01T00:00:00Z", "/w"))
            .await
            .unwrap();
        let filler: Vec<RolloutItem> = (0..20)
            .map(|i| response(&item(ResponseItem::assistant_text(format!("filler {i}")))))
            .collect();
        rec.record(filler).await.unwrap();
        rec.record(vec![RolloutItem::Event(EventMsg::UserMessage {
            message: "too late".to_owned(),
        })])
        .await
        .unwrap();
        rec.shutdown().await.unwrap();

        let all = recorder(home.path())
            .list(ListFilter::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].path, garbage);
        assert_eq!(all[0].first_user_message.as_deref(), Some("fix the bug"));
        assert_eq!(all[1].path, late);
        assert_eq!(all[1].first_user_message, None);
        // The whole file is not a valid recording, which listing never noticed.
        assert!(matches!(
            read_recording(&garbage),
            Err(RecorderError::Malformed { line: 5, .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn find_takes_an_exact_id_or_a_unique_prefix() {
    within(async {
        let home = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (id, ts) in [
            ("0199aaaa-1111", "2026-03-01T00:00:00Z"),
            ("0199aaab-2222", "2026-03-02T00:00:00Z"),
            ("0200cccc-3333", "2026-03-03T00:00:00Z"),
            ("0200cccc-3333-more", "2026-03-04T00:00:00Z"),
        ] {
            let rec = recorder(home.path());
            paths.push(rec.start(meta(id, ts, "/w")).await.unwrap());
            rec.shutdown().await.unwrap();
        }
        let rec = recorder(home.path());
        assert_eq!(rec.find("0199aaaa-1111").await.unwrap(), paths[0]);
        assert_eq!(rec.find("0199aaab").await.unwrap(), paths[1]);
        assert_eq!(
            rec.find("0200cccc-3333").await.unwrap(),
            paths[2],
            "exact beats prefix"
        );
        assert_eq!(rec.find("0200cccc-3333-m").await.unwrap(), paths[3]);
        for missing in ["0199aaa", "0200", "zzz", ""] {
            assert!(
                matches!(rec.find(missing).await, Err(RecorderError::NotFound(_))),
                "{missing:?}"
            );
        }
    })
    .await;
}
