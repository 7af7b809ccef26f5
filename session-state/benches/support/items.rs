//! Realistic history items for the workspace's benches (included with `#[path]` by the benches
//! of `session-state`, `session-services` and `session-core`), so every figure that speaks of
//! "a history of N items" means the same mix.
//!
//! The mix repeats every five items: a user message, a reasoning summary, a shell call with
//! JSON arguments, its output of about 1 KiB, an assistant message. It must stay deterministic.

#![allow(dead_code)]

use session_state::{ReasoningSummaryPart, ResponseItem};

/// The output of every shell call: 24 `ls -l` lines, about 1.3 KiB with JSON escapes.
fn output() -> String {
    (0..24)
        .map(|i| format!("drwxr-xr-x  5 user staff  160 Nov 25 18:54 dir-{i:03}/\t\"ok\"\n"))
        .collect()
}

/// The `n` items, oldest first.
pub(crate) fn realistic_items(n: usize) -> Vec<ResponseItem> {
    let output = output();
    (0..n).map(|i| realistic_item(i, &output)).collect()
}

fn realistic_item(i: usize, output: &str) -> ResponseItem {
    let call_id = format!("call_{:08}", i / 5);
    match i % 5 {
        0 => ResponseItem::user_text(format!(
            "Please look at src/module_{i}.rs and fix the failing test; keep the API as it is."
        )),
        1 => ResponseItem::Reasoning {
            id: format!("rs_{i}"),
            summary: vec![ReasoningSummaryPart::SummaryText {
                text: "**Inspecting files** I should list the folder first, then read the test."
                    .to_owned(),
            }],
            encrypted_content: None,
        },
        2 => ResponseItem::FunctionCall {
            id: None,
            name: "shell".to_owned(),
            arguments: format!(
                r#"{{"command":["bash","-lc","ls -la src/ && grep -rn \"fn test_{i}\" ."],"workdir":"/home/user/project","timeout_ms":10000}}"#
            ),
            call_id,
        },
        3 => ResponseItem::FunctionCallOutput {
            call_id,
            output: output.to_owned(),
        },
        _ => ResponseItem::assistant_text(
            "I listed the folder and found the test. The failure comes from an off-by-one in the \
             loop bound; I will change `<=` to `<` and run the tests again.",
        ),
    }
}
