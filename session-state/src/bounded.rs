//! Text that keeps its head and its tail and counts what fell between them.
//!
//! Exists so that a running call's output, kept in case the call is aborted, holds a bounded
//! amount of memory however much the command prints.

use std::fmt;

#[cfg(test)]
mod tests;

/// How many bytes a [`BoundedText`] keeps by default (head and tail together).
pub const BOUNDED_TEXT_LIMIT: usize = 64 * 1024;

/// The first and the last bytes of a growing text, at most `limit` in all.
#[derive(Clone, PartialEq, Eq)]
pub struct BoundedText {
    head: String,
    /// Grows to twice its share, then drops its older half: amortized O(1) per byte.
    tail: String,
    half: usize,
    omitted: u64,
}

impl BoundedText {
    /// Empty, keeping at most `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            head: String::new(),
            tail: String::new(),
            half: limit / 2,
            omitted: 0,
        }
    }

    /// Append text; what no longer fits between head and tail is counted as omitted.
    pub fn push_str(&mut self, text: &str) {
        let mut rest = text;
        if self.tail.is_empty() && self.omitted == 0 {
            let room = self.half.saturating_sub(self.head.len());
            let cut = floor_boundary(rest, room.min(rest.len()));
            self.head.push_str(&rest[..cut]);
            rest = &rest[cut..];
        }
        if rest.is_empty() {
            return;
        }
        // Text that would be dropped before this call returns is never copied.
        if rest.len() > self.half {
            let skip = ceil_boundary(rest, rest.len() - self.half);
            self.omitted += (self.tail.len() + skip) as u64;
            self.tail.clear();
            rest = &rest[skip..];
        }
        self.tail.push_str(rest);
        if self.tail.len() > 2 * self.half {
            let drop = ceil_boundary(&self.tail, self.tail.len() - self.half);
            self.omitted += drop as u64;
            self.tail.drain(..drop);
        }
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty() && self.omitted == 0
    }

    /// Bytes kept (head and tail).
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// Bytes dropped from the middle.
    pub fn omitted(&self) -> u64 {
        self.omitted
    }

    /// The text: the head, a `[... N bytes omitted ...]` line when something was dropped, and
    /// the tail (at most its share).
    pub fn to_text(&self) -> String {
        let tail_from = self
            .tail
            .len()
            .checked_sub(self.half)
            .map_or(0, |from| ceil_boundary(&self.tail, from));
        let omitted = self.omitted + tail_from as u64;
        let tail = &self.tail[tail_from..];
        if omitted == 0 {
            return format!("{}{tail}", self.head);
        }
        let mut out = String::with_capacity(self.head.len() + tail.len() + 40);
        out.push_str(&self.head);
        if !self.head.is_empty() && !self.head.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("[... {omitted} bytes omitted ...]\n"));
        out.push_str(tail);
        out
    }
}

impl Default for BoundedText {
    fn default() -> Self {
        Self::new(BOUNDED_TEXT_LIMIT)
    }
}

impl From<&str> for BoundedText {
    fn from(text: &str) -> Self {
        let mut bounded = Self::default();
        bounded.push_str(text);
        bounded
    }
}

impl fmt::Debug for BoundedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_text(), f)
    }
}

impl PartialEq<&str> for BoundedText {
    fn eq(&self, other: &&str) -> bool {
        self.to_text() == *other
    }
}

fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}
