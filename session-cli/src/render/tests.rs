//! Tests of the human rendering, on plain (uncoloured) output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use session_core::{EventMsg, ExecOutputStream, TokenUsage, TokenUsageInfo, TurnAbortReason};

use super::Renderer;
use crate::term::Style;

fn render(events: &[EventMsg]) -> (String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    {
        let mut renderer = Renderer::new(&mut out, &mut err, Style::plain(), Style::plain());
        for event in events {
            renderer.event(event).unwrap();
        }
        renderer.token_summary().unwrap();
    }
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn delta(text: &str) -> EventMsg {
    EventMsg::AgentMessageDelta {
        delta: text.to_owned(),
    }
}

fn message(text: &str) -> EventMsg {
    EventMsg::AgentMessage {
        message: text.to_owned(),
    }
}

fn usage(input: u64, output: u64) -> EventMsg {
    let usage = TokenUsage {
        input_tokens: input,
        output_tokens: output,
        total_tokens: input + output,
        ..TokenUsage::default()
    };
    EventMsg::TokenCount {
        info: TokenUsageInfo {
            total_token_usage: usage,
            last_token_usage: usage,
            model_context_window: None,
        },
        rate_limits: None,
    }
}

#[test]
fn a_turn_renders_text_commands_diffs_and_the_token_summary() {
    let events = [
        EventMsg::TaskStarted {
            model_context_window: None,
        },
        delta("Let me "),
        delta("look."),
        message("Let me look."),
        usage(100, 10),
        EventMsg::ExecCommandBegin {
            call_id: "c1".to_owned(),
            command: vec!["ls".to_owned(), "my dir".to_owned()],
            cwd: PathBuf::from("/w"),
        },
        EventMsg::ExecCommandOutputDelta {
            call_id: "c1".to_owned(),
            stream: ExecOutputStream::Stdout,
            chunk: b"a.txt\nb.txt".to_vec(),
        },
        EventMsg::ExecCommandEnd {
            call_id: "c1".to_owned(),
            stdout: String::new(),
            stderr: String::new(),
            aggregated_output: "a.txt\nb.txt".to_owned(),
            exit_code: 2,
            duration_ms: 1,
            formatted_output: String::new(),
        },
        EventMsg::TurnDiff {
            unified_diff: "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n".to_owned(),
        },
        message("Done."),
        usage(150, 5),
        EventMsg::TaskComplete {
            last_agent_message: Some("Done.".to_owned()),
        },
    ];
    let (out, err) = render(&events);
    assert_eq!(
        out,
        "Let me look.\n\n$ ls 'my dir'\na.txt\nb.txt\nexit code 2\n\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n\
         -old\n+new\n\nDone.\n\ntokens: 250 in, 15 out\n"
    );
    assert_eq!(err, "");
}

#[test]
fn two_messages_streamed_in_one_response_are_shown_once() {
    let events = [
        delta("First."),
        delta("\n\nSecond."),
        message("First."),
        message("\n\nSecond."),
    ];
    let (out, _) = render(&events);
    assert_eq!(out, "First.\n\nSecond.\n");
}

#[test]
fn output_of_a_command_that_streamed_nothing_comes_from_its_end() {
    let events = [EventMsg::ExecCommandEnd {
        call_id: "c1".to_owned(),
        stdout: String::new(),
        stderr: String::new(),
        aggregated_output: "late\n".to_owned(),
        exit_code: 0,
        duration_ms: 1,
        formatted_output: String::new(),
    }];
    assert_eq!(render(&events).0, "late\n");
}

#[test]
fn errors_and_interrupts_go_to_stderr() {
    let events = [
        delta("half"),
        EventMsg::Error {
            message: "model server answered 400".to_owned(),
        },
        EventMsg::TurnAborted {
            reason: TurnAbortReason::Interrupted,
        },
    ];
    let (out, err) = render(&events);
    assert_eq!(out, "half\n");
    assert_eq!(err, "error: model server answered 400\nturn interrupted\n");
}

#[test]
fn output_cut_after_the_streamed_part_shows_its_end_too() {
    let end = |aggregated: &str| EventMsg::ExecCommandEnd {
        call_id: "c1".to_owned(),
        stdout: String::new(),
        stderr: String::new(),
        aggregated_output: aggregated.to_owned(),
        exit_code: 0,
        duration_ms: 1,
        formatted_output: String::new(),
    };
    let streamed = EventMsg::ExecCommandOutputDelta {
        call_id: "c1".to_owned(),
        stream: ExecOutputStream::Stdout,
        chunk: b"head\n".to_vec(),
    };
    let (out, _) = render(&[
        streamed.clone(),
        end("head\n[... 99 bytes omitted ...]\nlast line\n"),
    ]);
    assert_eq!(out, "head\n\n[... output not shown ...]\nlast line\n");
    let (out, _) = render(&[streamed, end("head\n")]);
    assert_eq!(out, "head\n", "a whole output is not repeated");
}

#[test]
fn a_plan_renders_its_steps_with_their_status_and_mcp_failures_go_to_stderr() {
    use session_core::{McpStartupStatus, PlanItem, StepStatus};
    let step = |s: &str, status| PlanItem {
        step: s.to_owned(),
        status,
    };
    let (out, err) = render(&[
        EventMsg::PlanUpdate {
            explanation: Some("found the cause".to_owned()),
            plan: vec![
                step("reproduce", StepStatus::Completed),
                step("fix", StepStatus::InProgress),
                step("test", StepStatus::Pending),
            ],
        },
        EventMsg::McpStartupUpdate {
            server: "docs".to_owned(),
            status: McpStartupStatus::Failed {
                error: "exited with status 1".to_owned(),
            },
        },
    ]);
    assert!(out.contains("plan\n  found the cause\n"), "{out}");
    assert!(
        out.contains("  [x] reproduce\n  [>] fix\n  [ ] test\n"),
        "{out}"
    );
    assert!(
        err.contains("mcp server docs failed to start: exited with status 1"),
        "{err}"
    );
}
