//! Property tests of the `proto` line parser: the in-CI twin of its fuzz target. No input makes
//! it panic, and every valid submission it is given comes back unchanged.

use proptest::prelude::*;

use super::super::{InputItem, Op, ReviewDecision, Submission, parse_submission};

fn op() -> impl Strategy<Value = Op> {
    let text = ".{0,40}";
    prop_oneof![
        proptest::collection::vec(text.prop_map(|text| InputItem::Text { text }), 0..3)
            .prop_map(|items| Op::UserInput { items }),
        Just(Op::Interrupt),
        Just(Op::Compact),
        Just(Op::GetPath),
        Just(Op::Shutdown),
        (
            text,
            prop_oneof![
                Just(ReviewDecision::Approved),
                Just(ReviewDecision::ApprovedForSession),
                Just(ReviewDecision::Denied),
                Just(ReviewDecision::Abort),
            ]
        )
            .prop_map(|(id, decision)| Op::ExecApproval { id, decision }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics_the_parser(line in ".{0,200}") {
        let _ = parse_submission(&line);
    }

    #[test]
    fn arbitrary_json_shapes_never_panic_the_parser(
        id in proptest::option::of(".{0,10}"),
        ty in prop_oneof![Just("user_input"), Just("exec_approval"), Just("nope"), Just("")],
        extra in ".{0,20}",
    ) {
        let line = match id {
            Some(id) => serde_json::json!({"id": id, "op": {"type": ty, "items": extra, "x": 1}}),
            None => serde_json::json!({"op": {"type": ty}}),
        };
        let parsed = parse_submission(&line.to_string());
        if let Err(e) = parsed {
            // The id is reported back whenever it could be read.
            let expected = line.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            prop_assert_eq!(e.id, expected);
        }
    }

    #[test]
    fn valid_submissions_round_trip_through_a_line(id in "[a-z0-9-]{1,12}", op in op()) {
        let sub = Submission { id, op };
        let line = serde_json::to_string(&sub).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = parse_submission(&line).map_err(|e| TestCaseError::fail(e.message))?;
        prop_assert_eq!(back, sub);
    }
}
