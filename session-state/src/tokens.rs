//! Token accounting: running totals, the last response's usage, and how full the context is.
//!
//! Pure arithmetic on numbers the model reported; it never estimates tokens itself.

use serde::{Deserialize, Serialize};

/// Tokens one model response used, or a running total of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens of input, including cached ones.
    pub input_tokens: u64,
    /// Input tokens served from the provider's cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Tokens of output, including reasoning.
    pub output_tokens: u64,
    /// Output tokens spent on reasoning.
    #[serde(default)]
    pub reasoning_output_tokens: u64,
    /// Input plus output.
    pub total_tokens: u64,
}

impl TokenUsage {
    /// Add another usage to this one, saturating rather than wrapping.
    pub fn add(&mut self, other: &TokenUsage) {
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(other.cached_input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.reasoning_output_tokens = self
            .reasoning_output_tokens
            .saturating_add(other.reasoning_output_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
    }

    /// Tokens this response leaves in the context window: everything but the reasoning, which
    /// the model does not see again.
    pub fn tokens_in_context(&self) -> u64 {
        self.total_tokens
            .saturating_sub(self.reasoning_output_tokens)
    }
}

/// The `info` of a `token_count` event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenUsageInfo {
    /// Usage summed over the session.
    pub total_token_usage: TokenUsage,
    /// Usage of the last model response.
    pub last_token_usage: TokenUsage,
    /// The model's context window, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_context_window: Option<u64>,
}

/// One rate-limit window the provider reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimitWindow {
    /// The limit in this window.
    pub limit: u64,
    /// What is left of it.
    pub remaining: u64,
    /// Seconds until the window resets, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resets_in_seconds: Option<u64>,
}

impl RateLimitWindow {
    /// Percent of the limit already used, 0 to 100.
    pub fn used_percent(&self) -> f64 {
        if self.limit == 0 {
            return 0.0;
        }
        let used = self.limit.saturating_sub(self.remaining);
        used as f64 * 100.0 / self.limit as f64
    }
}

/// Rate limits from a provider's response headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimitSnapshot {
    /// The requests window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<RateLimitWindow>,
    /// The tokens window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<RateLimitWindow>,
}

/// Running token accounting of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenAccounting {
    total: TokenUsage,
    last: TokenUsage,
    context_window: Option<u64>,
}

impl TokenAccounting {
    /// Accounting for a model with the given context window, if known.
    pub fn new(context_window: Option<u64>) -> Self {
        Self {
            context_window,
            ..Self::default()
        }
    }

    /// Accounting restored from a recording: the totals and last usage as they were.
    pub fn restored(info: TokenUsageInfo) -> Self {
        Self {
            total: info.total_token_usage,
            last: info.last_token_usage,
            context_window: info.model_context_window,
        }
    }

    /// Record one model response's usage.
    pub fn record(&mut self, usage: &TokenUsage) {
        self.total.add(usage);
        self.last = *usage;
    }

    /// Change the context window (the model changed).
    pub fn set_context_window(&mut self, window: Option<u64>) {
        self.context_window = window;
    }

    /// The context window, when known.
    pub fn context_window(&self) -> Option<u64> {
        self.context_window
    }

    /// The session's total usage.
    pub fn total(&self) -> TokenUsage {
        self.total
    }

    /// The last response's usage.
    pub fn last(&self) -> TokenUsage {
        self.last
    }

    /// The `info` of a `token_count` event.
    pub fn info(&self) -> TokenUsageInfo {
        TokenUsageInfo {
            total_token_usage: self.total,
            last_token_usage: self.last,
            model_context_window: self.context_window,
        }
    }

    /// Tokens the last request left in the context window.
    pub fn tokens_in_context(&self) -> u64 {
        self.last.tokens_in_context()
    }

    /// Percent of the context window the last request used, 0 to 100 (capped), when the window
    /// is known.
    pub fn percent_of_context_used(&self) -> Option<f64> {
        let window = self.context_window.filter(|w| *w > 0)?;
        let used = self.tokens_in_context().min(window);
        Some(used as f64 * 100.0 / window as f64)
    }
}

#[cfg(test)]
mod tests;
