//! Tests of `tokens`: totals, last usage, context percentage and saturating arithmetic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn usage(input: u64, cached: u64, output: u64, reasoning: u64) -> TokenUsage {
    TokenUsage {
        input_tokens: input,
        cached_input_tokens: cached,
        output_tokens: output,
        reasoning_output_tokens: reasoning,
        total_tokens: input + output,
    }
}

#[test]
fn totals_add_up_field_by_field_and_last_usage_is_replaced() {
    let responses = [
        usage(100, 10, 20, 5),
        usage(300, 100, 40, 0),
        usage(50, 0, 7, 7),
    ];
    let mut acc = TokenAccounting::new(Some(1000));
    for (i, u) in responses.iter().enumerate() {
        acc.record(u);
        assert_eq!(acc.last(), *u, "after response {i}");
    }
    assert_eq!(
        acc.total(),
        TokenUsage {
            input_tokens: 450,
            cached_input_tokens: 110,
            output_tokens: 67,
            reasoning_output_tokens: 12,
            total_tokens: 517,
        }
    );
    assert_eq!(
        acc.info(),
        TokenUsageInfo {
            total_token_usage: acc.total(),
            last_token_usage: usage(50, 0, 7, 7),
            model_context_window: Some(1000),
        }
    );
}

#[test]
fn a_fresh_accounting_is_all_zero() {
    let acc = TokenAccounting::new(None);
    assert_eq!(acc.total(), TokenUsage::default());
    assert_eq!(acc.last(), TokenUsage::default());
    assert_eq!(acc.context_window(), None);
    assert_eq!(acc.tokens_in_context(), 0);
    assert_eq!(acc.percent_of_context_used(), None);
}

#[test]
fn tokens_in_context_exclude_reasoning() {
    let cases = [
        (usage(100, 0, 50, 20), 130),
        (usage(100, 90, 50, 0), 150),
        (usage(0, 0, 10, 10), 0),
        // Inconsistent numbers from a provider must not underflow.
        (
            TokenUsage {
                reasoning_output_tokens: 500,
                total_tokens: 10,
                ..TokenUsage::default()
            },
            0,
        ),
    ];
    for (u, want) in cases {
        assert_eq!(u.tokens_in_context(), want, "{u:?}");
        let mut acc = TokenAccounting::new(None);
        acc.record(&u);
        assert_eq!(acc.tokens_in_context(), want, "{u:?}");
    }
}

#[test]
fn percent_of_context_used_follows_the_last_request_and_the_window() {
    // (window, last usage, expected percent)
    let cases = [
        (None, usage(100, 0, 0, 0), None),
        (Some(0), usage(100, 0, 0, 0), None),
        (Some(1000), usage(0, 0, 0, 0), Some(0.0)),
        (Some(1000), usage(200, 0, 50, 0), Some(25.0)),
        (Some(1000), usage(200, 0, 100, 50), Some(25.0)),
        (Some(1000), usage(1000, 0, 0, 0), Some(100.0)),
        (Some(1000), usage(5000, 0, 0, 0), Some(100.0)),
    ];
    for (window, last, want) in cases {
        let mut acc = TokenAccounting::new(window);
        // An earlier, bigger response must not count: only the last request fills the context.
        acc.record(&usage(900, 0, 0, 0));
        acc.record(&last);
        assert_eq!(acc.percent_of_context_used(), want, "{window:?} {last:?}");
    }
}

#[test]
fn changing_the_context_window_changes_the_percentage() {
    let mut acc = TokenAccounting::new(None);
    acc.record(&usage(500, 0, 0, 0));
    assert_eq!(acc.percent_of_context_used(), None);
    acc.set_context_window(Some(2000));
    assert_eq!(acc.context_window(), Some(2000));
    assert_eq!(acc.percent_of_context_used(), Some(25.0));
    acc.set_context_window(None);
    assert_eq!(acc.percent_of_context_used(), None);
}

#[test]
fn adding_usage_saturates_instead_of_wrapping() {
    let mut total = TokenUsage {
        input_tokens: u64::MAX - 1,
        cached_input_tokens: u64::MAX,
        output_tokens: 1,
        reasoning_output_tokens: u64::MAX - 5,
        total_tokens: u64::MAX,
    };
    total.add(&TokenUsage {
        input_tokens: 10,
        cached_input_tokens: 1,
        output_tokens: 2,
        reasoning_output_tokens: 3,
        total_tokens: 12,
    });
    assert_eq!(
        total,
        TokenUsage {
            input_tokens: u64::MAX,
            cached_input_tokens: u64::MAX,
            output_tokens: 3,
            reasoning_output_tokens: u64::MAX - 2,
            total_tokens: u64::MAX,
        }
    );
}

#[test]
fn restored_accounting_continues_from_the_recorded_totals() {
    let info = TokenUsageInfo {
        total_token_usage: usage(1000, 0, 100, 0),
        last_token_usage: usage(400, 0, 40, 0),
        model_context_window: Some(4000),
    };
    let mut acc = TokenAccounting::restored(info);
    assert_eq!(acc.info(), info);
    assert_eq!(acc.percent_of_context_used(), Some(11.0));
    acc.record(&usage(10, 0, 1, 0));
    assert_eq!(acc.total(), usage(1010, 0, 101, 0));
    assert_eq!(acc.last(), usage(10, 0, 1, 0));
}

#[test]
fn rate_limit_used_percent_handles_edges() {
    let cases = [
        (100, 100, 0.0),
        (100, 25, 75.0),
        (100, 0, 100.0),
        (0, 0, 0.0),
        // More remaining than the limit (a provider glitch) counts as nothing used.
        (10, 50, 0.0),
    ];
    for (limit, remaining, want) in cases {
        let w = RateLimitWindow {
            limit,
            remaining,
            resets_in_seconds: None,
        };
        assert_eq!(w.used_percent(), want, "{limit} {remaining}");
    }
}

#[test]
fn usage_json_fills_optional_counters_with_zero() {
    let u: TokenUsage =
        serde_json::from_str(r#"{"input_tokens":5,"output_tokens":2,"total_tokens":7}"#).unwrap();
    assert_eq!(u, usage(5, 0, 2, 0));
    let info: TokenUsageInfo = serde_json::from_str(
        r#"{"total_token_usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7},"last_token_usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}"#,
    )
    .unwrap();
    assert_eq!(info.model_context_window, None);
}
