//! Tests of the bench report's plumbing: argument parsing, reading the bench binaries' figure
//! lines, judging targets, rendering, the loopback mock model and `/proc` parsing. No speed is
//! asserted anywhere here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::mock::{self, MockServer};
use super::report::{self, Row, RunInfo, format_value, percentile};
use super::{Mode, interrupt, parse_args, parse_figures};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn quick_is_the_default_and_full_and_groups_are_asked_for() {
    let parsed = |list: &[&str]| parse_args(&args(list)).unwrap();
    assert_eq!(parsed(&[]).unwrap().mode, Mode::Quick);
    assert_eq!(parsed(&["--full"]).unwrap().mode, Mode::Full);
    let only = parsed(&["--only", "recorder", "--full"]).unwrap();
    assert_eq!(
        (only.mode, only.only.as_deref()),
        (Mode::Full, Some("recorder"))
    );
    assert!(only.wants("recorder") && !only.wants("process"));
    assert!(parsed(&[]).unwrap().wants("process"));
    assert_eq!(parsed(&["--help"]), None);
    let err = parse_args(&args(&["--fast"])).unwrap_err().to_string();
    assert!(err.contains("--fast"), "{err}");
    assert!(parse_args(&args(&["--only"])).is_err());
}

#[test]
fn figure_lines_are_read_and_other_output_is_ignored() {
    let stdout = "\
running 0 tests\n\
{\"id\":\"session.throughput\",\"label\":\"deltas/s\",\"max\":1.3e6,\"median\":1.2e6,\"min\":1.1e6,\"note\":\"n\",\"samples\":7,\"size\":\"10k deltas\",\"unit\":\"per_s\"}\n\
test result: ok\n\
{\"id\":\"recorder.read.peak\",\"label\":\"\",\"max\":null,\"median\":2.1,\"min\":2.1,\"note\":\"\",\"samples\":1,\"size\":\"100k items\",\"unit\":\"number\"}\n\
{not json\n";
    let (rows, bad) = parse_figures(stdout);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].id, "session.throughput");
    assert_eq!(rows[0].median, Some(1.2e6));
    assert_eq!(rows[0].samples, 7);
    assert_eq!(rows[1].max, None);
    assert_eq!(bad.as_deref(), Some("{not json"));
}

fn row(id: &str, size: &str, unit: &str, median: f64) -> Row {
    Row::from_values(id, size, unit, &[median])
}

#[test]
fn targets_are_judged_on_the_median_or_the_p99() {
    let mut rows = vec![
        row("session.throughput", "10k deltas", "per_s", 1.2e6),
        row("session.idle_bytes", "1k sessions", "B", 22_000.0),
        row("request.build.cached", "100k items", "s", 0.035),
        row("request.build.cached", "1k items", "s", 0.035),
        row("recorder.read.peak", "100k items", "number", 2.0),
        Row::not_measured("exec.wall", "100k deltas", "no binary"),
        row("protocol.parse", "all", "s", 1e-5),
    ];
    let mut latency = row("interrupt.latency", "50 runs", "s", 0.002);
    latency.p99 = Some(0.011);
    rows.push(latency);
    report::judge(&mut rows);
    let verdicts: Vec<Option<bool>> = rows.iter().map(|r| r.met).collect();
    assert_eq!(
        verdicts,
        [
            Some(false),
            Some(true),
            Some(false),
            None,
            Some(true),
            None,
            None,
            Some(false)
        ]
    );
    assert_eq!(rows[5].target.as_deref(), Some("≤ 0.15 s"));
    assert_eq!(
        rows[3].target, None,
        "the build target is for 100k items only"
    );
    assert_eq!(rows[0].figure, "in-process throughput, recorder on");
}

#[test]
fn the_output_memory_target_holds_the_excess_of_the_1_gb_run_to_16_mib() {
    let mib = 1024.0 * 1024.0;
    let mut rows = vec![
        row("output.rss.delta", "1 GB − 1 MB output", "B", 3.0 * mib),
        row("output.rss.delta", "1 GB − 1 MB output", "B", 1300.0 * mib),
        row("output.rss", "1 GB output", "B", 1300.0 * mib),
    ];
    report::judge(&mut rows);
    let verdicts: Vec<Option<bool>> = rows.iter().map(|r| r.met).collect();
    assert_eq!(verdicts, [Some(true), Some(false), None]);
    assert_eq!(
        rows[0].target.as_deref(),
        Some("≤ 16 MiB over the 1 MB run")
    );
    assert_eq!(report::format_value("B", "", rows[1].median), "1300.0 MiB");
}

#[test]
fn the_markdown_table_shows_units_verdicts_and_reasons() {
    let mut rows = vec![
        row("session.throughput", "10k deltas", "per_s", 1.25e6),
        Row::not_measured("exec.wall", "100k deltas", "binary | missing"),
    ];
    rows[0].label = "deltas/s".to_owned();
    report::judge(&mut rows);
    let info = RunInfo {
        mode: "quick",
        only: None,
        cpus: 2,
        finished_unix: 0,
    };
    let md = report::markdown(&info, &rows);
    assert!(md.contains("| figure | size | median | min | max | target | met | note |"));
    assert!(md.contains(
        "| in-process throughput, recorder on | 10k deltas | 1.25 M deltas/s | 1.25 M deltas/s"
    ));
    assert!(md.contains("| **no** |"), "{md}");
    assert!(md.contains("not measured"), "{md}");
    assert!(md.contains("binary \\| missing"), "pipes are escaped: {md}");
    let json = report::json(&info, &rows);
    assert_eq!(json["rows"][1]["not_measured"], "binary | missing");
}

#[test]
fn values_are_formatted_in_their_unit() {
    assert_eq!(format_value("s", "", Some(0.0123)), "12.30 ms");
    assert_eq!(format_value("s", "", Some(4.2e-6)), "4.20 µs");
    assert_eq!(format_value("s", "", Some(2.0)), "2.00 s");
    assert_eq!(format_value("B", "", Some(22_528.0)), "22.0 KiB");
    assert_eq!(
        format_value("B", "", Some(20.0 * 1024.0 * 1024.0)),
        "20.0 MiB"
    );
    assert_eq!(format_value("B/s", "", Some(5.5e8)), "550 MB/s");
    assert_eq!(format_value("number", "", Some(0.0)), "0");
    assert_eq!(format_value("number", "", Some(2.145)), "2.15");
    assert_eq!(format_value("s", "", None), "—");
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let sorted: Vec<f64> = (1..=100).map(f64::from).collect();
    assert_eq!(percentile(&sorted, 99.0), Some(99.0));
    assert_eq!(percentile(&sorted, 50.0), Some(50.0));
    assert_eq!(percentile(&[1.0, 2.0, 3.0], 50.0), Some(2.0));
    assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
    assert_eq!(percentile(&[], 50.0), None);
}

/// Send one request on `stream` and read the whole response (it has a content-length).
fn round_trip(stream: &mut TcpStream, request: &[u8]) -> (String, String) {
    stream.write_all(request).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        reader.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).unwrap();
    (head, String::from_utf8(body).unwrap())
}

#[test]
fn the_mock_answers_each_request_of_a_keep_alive_connection_by_its_body() {
    let router: mock::Router = std::sync::Arc::new(|body: &[u8]| {
        let text = if body.windows(6).any(|w| w == b"second") {
            "two"
        } else {
            "one"
        };
        mock::http_response(&mock::text_stream(&[text]))
    });
    let server = MockServer::start(router).unwrap();
    let addr = server.base_url();
    let addr = addr
        .strip_prefix("http://")
        .unwrap()
        .strip_suffix("/v1")
        .unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = "{\"input\":\"first\"}";
    let request = format!(
        "POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let (head, sse) = round_trip(&mut stream, request.as_bytes());
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(sse.contains("\"delta\":\"one\""), "{sse}");
    // A chunked body on the same connection.
    let chunked = b"POST /v1/responses HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n";
    let (_, sse) = round_trip(&mut stream, chunked);
    assert!(sse.contains("\"delta\":\"two\""), "{sse}");
    assert_eq!(server.requests(), 2);
}

/// The `data:` payloads of an SSE body.
fn events(sse: &str) -> Vec<serde_json::Value> {
    sse.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect()
}

#[test]
fn a_text_stream_carries_created_each_delta_the_message_and_completed() {
    let sse = mock::text_stream(&["He", "llo"]);
    let events = events(&sse);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert_eq!(events[3]["item"]["content"][0]["text"], "Hello");
    assert_eq!(events[4]["response"]["usage"]["output_tokens"], 2);
    for block in sse.split_terminator("\n\n") {
        let event = block.lines().next().unwrap();
        assert!(event.starts_with("event: response."), "{block}");
    }
}

#[test]
fn a_shell_call_stream_carries_the_argv_as_json_arguments() {
    let events = events(&mock::shell_call_stream("call_1", &["sleep", "30"]));
    let item = &events[1]["item"];
    assert_eq!(item["type"], "function_call");
    assert_eq!(item["name"], "shell");
    assert_eq!(item["call_id"], "call_1");
    let arguments: serde_json::Value =
        serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(arguments["command"], serde_json::json!(["sleep", "30"]));
}

#[test]
fn proc_stat_is_read_after_the_last_parenthesis() {
    assert_eq!(
        interrupt::parse_stat("4242 (sleep) S 4200 4242 4200 0 -1"),
        Some(('S', 4200))
    );
    assert_eq!(
        interrupt::parse_stat("7 (a) b) (c) Z 1 7 7 0"),
        Some(('Z', 1))
    );
    assert_eq!(interrupt::parse_stat("garbage"), None);
}

#[test]
fn this_process_stat_names_its_parent() {
    let (state, ppid) = interrupt::stat(std::process::id()).unwrap();
    assert!(matches!(state, 'R' | 'S' | 'D'), "{state}");
    assert!(ppid > 0);
}
