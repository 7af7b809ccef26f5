//! Tests of the SSE parser: chunk boundaries anywhere, line endings, comments, multi-line data,
//! the line limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    event: String,
    data: String,
}

fn ev(event: &str, data: &str) -> Owned {
    Owned {
        event: event.to_owned(),
        data: data.to_owned(),
    }
}

/// Feed `chunks` in order, then finish; collect every event.
fn parse_chunks(parser: &mut SseParser, chunks: &[&[u8]]) -> Result<Vec<Owned>, SseError> {
    let mut out = Vec::new();
    let mut collect = |e: SseEvent<'_>| -> ControlFlow<()> {
        out.push(Owned {
            event: e.event.to_owned(),
            data: e.data.to_owned(),
        });
        ControlFlow::Continue(())
    };
    for chunk in chunks {
        assert_eq!(parser.feed(chunk, &mut collect)?, ControlFlow::Continue(()));
    }
    assert_eq!(parser.finish(&mut collect)?, ControlFlow::Continue(()));
    Ok(out)
}

fn parse(chunks: &[&[u8]]) -> Result<Vec<Owned>, SseError> {
    parse_chunks(&mut SseParser::default(), chunks)
}

const SAMPLE: &str = "event: response.created\r\n\
data: {\"type\":\"response.created\"}\r\n\
\r\n\
: keep-alive comment\n\
event: response.output_text.delta\n\
data: {\"delta\":\"h\u{e9}llo \u{1f600}\"}\n\
\n\
data: first\r\n\
data: second\r\n\
id: 7\r\n\
retry: 100\r\n\
\r\n\
event: lonely\n\
\n\
data:no-space\r\
\r\
data: [DONE]\n\n";

fn sample_events() -> Vec<Owned> {
    vec![
        ev("response.created", "{\"type\":\"response.created\"}"),
        ev(
            "response.output_text.delta",
            "{\"delta\":\"h\u{e9}llo \u{1f600}\"}",
        ),
        ev("message", "first\nsecond"),
        ev("message", "no-space"),
        ev("message", "[DONE]"),
    ]
}

#[test]
fn whole_sample_parses_into_the_expected_events() {
    assert_eq!(parse(&[SAMPLE.as_bytes()]).unwrap(), sample_events());
}

#[test]
fn splitting_at_every_byte_boundary_gives_the_same_events() {
    let bytes = SAMPLE.as_bytes();
    for split in 0..=bytes.len() {
        let (a, b) = bytes.split_at(split);
        assert_eq!(
            parse(&[a, b]).unwrap(),
            sample_events(),
            "split at byte {split}"
        );
    }
}

#[test]
fn one_byte_chunks_give_the_same_events() {
    let chunks: Vec<&[u8]> = SAMPLE.as_bytes().chunks(1).collect();
    assert_eq!(parse(&chunks).unwrap(), sample_events());
}

#[test]
fn crlf_lf_and_cr_line_endings_mean_the_same() {
    let lf = parse(&[b"event: a\ndata: x\ndata: y\n\n"]).unwrap();
    let crlf = parse(&[b"event: a\r\ndata: x\r\ndata: y\r\n\r\n"]).unwrap();
    let cr = parse(&[b"event: a\rdata: x\rdata: y\r\r"]).unwrap();
    assert_eq!(lf, vec![ev("a", "x\ny")]);
    assert_eq!(crlf, lf);
    assert_eq!(cr, lf);
}

#[test]
fn a_crlf_split_between_chunks_is_one_line_ending() {
    let events = parse(&[b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"]).unwrap();
    assert_eq!(events, vec![ev("message", "a"), ev("message", "b")]);
}

#[test]
fn comments_are_skipped_and_dispatch_nothing() {
    let events = parse(&[b": hello\n\n:another\ndata: x\n\n"]).unwrap();
    assert_eq!(events, vec![ev("message", "x")]);
}

#[test]
fn an_event_without_data_is_not_dispatched_and_its_name_is_forgotten() {
    let events = parse(&[b"event: nothing\n\ndata: x\n\n"]).unwrap();
    assert_eq!(events, vec![ev("message", "x")]);
}

#[test]
fn an_empty_data_line_dispatches_an_empty_event() {
    let events = parse(&[b"data:\n\n"]).unwrap();
    assert_eq!(events, vec![ev("message", "")]);
}

#[test]
fn only_one_leading_space_is_stripped_from_a_value() {
    let events = parse(&[b"data:  two spaces \n\n"]).unwrap();
    assert_eq!(events, vec![ev("message", " two spaces ")]);
}

#[test]
fn an_unterminated_last_event_is_dispatched_at_the_end() {
    let events = parse(&[b"data: [DONE]"]).unwrap();
    assert_eq!(events, vec![ev("message", "[DONE]")]);
}

#[test]
fn an_over_long_line_is_an_error() {
    let mut parser = SseParser::with_max_line(16);
    let err = parse_chunks(&mut parser, &[b"data: 0123456789abcdef\n\n"]).unwrap_err();
    assert_eq!(err, SseError::LineTooLong(16));
}

#[test]
fn an_over_long_line_split_across_chunks_is_an_error_before_its_end() {
    let mut parser = SseParser::with_max_line(16);
    let mut noop = |_: SseEvent<'_>| ControlFlow::<()>::Continue(());
    assert_eq!(
        parser.feed(b"data: 01234", &mut noop).unwrap(),
        ControlFlow::Continue(())
    );
    let err = parser.feed(b"56789abcdef", &mut noop).unwrap_err();
    assert_eq!(err, SseError::LineTooLong(16));
}

#[test]
fn data_lines_adding_up_past_the_limit_are_an_error() {
    let mut parser = SseParser::with_max_line(16);
    let err =
        parse_chunks(&mut parser, &[b"data: 0123456\ndata: 0123456\ndata: x\n\n"]).unwrap_err();
    assert_eq!(err, SseError::LineTooLong(16));
}

#[test]
fn invalid_utf8_is_an_error() {
    let err = parse(&[b"data: \xff\xfe\n\n"]).unwrap_err();
    assert_eq!(err, SseError::InvalidUtf8);
}

#[test]
fn breaking_stops_at_once_and_returns_the_value() {
    let mut parser = SseParser::default();
    let mut seen = Vec::new();
    let flow = parser
        .feed(b"data: 1\n\ndata: 2\n\ndata: 3\n\n", &mut |e| {
            seen.push(e.data.to_owned());
            if e.data == "2" {
                ControlFlow::Break("stopped")
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(flow, ControlFlow::Break("stopped"));
    assert_eq!(seen, vec!["1", "2"]);
}

mod properties {
    //! Property tests: the in-CI twin of the SSE fuzz target.

    use proptest::prelude::*;

    use super::*;

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        // Mostly SSE-looking text with arbitrary bytes mixed in.
        proptest::collection::vec(
            prop_oneof![
                4 => prop::sample::select(b"data: event:id\r\n{}\":x ".to_vec()),
                1 => any::<u8>(),
            ],
            0..400,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic_the_parser(input in bytes(), max in 1usize..64) {
            let mut parser = SseParser::with_max_line(max);
            let mut sink = |_e: SseEvent<'_>| -> ControlFlow<()> { ControlFlow::Continue(()) };
            if parser.feed(&input, &mut sink).is_ok() {
                let _ = parser.finish(&mut sink);
            }
        }

        #[test]
        fn how_the_bytes_are_split_never_changes_the_events(input in bytes(), cut in any::<prop::sample::Index>()) {
            let whole = parse(&[&input]);
            let at = cut.index(input.len() + 1);
            let split = parse(&[&input[..at], &input[at..]]);
            prop_assert_eq!(whole, split);
        }
    }
}
