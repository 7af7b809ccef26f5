//! An incremental server-sent-events parser over byte chunks, and the stream that drives it.
//!
//! The parser is pure: it takes whatever byte chunks the network hands over (split anywhere, even
//! inside a `\r\n` or a multi-byte character), and calls back with each complete event, borrowed
//! from its own reusable buffers so no allocation happens per event. It bounds memory: a line or
//! an event longer than the limit is an error, never an unbounded buffer. It must not know about
//! any wire API; the decoders in `responses` and `chat` give the events meaning.

use std::ops::ControlFlow;

pub(crate) mod driver;

/// Longest line (and longest event data) the parser accepts by default.
pub(crate) const DEFAULT_MAX_LINE: usize = 8 * 1024 * 1024;

/// Why the byte stream is not a valid event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SseError {
    /// A line or the data of one event grew past the limit.
    #[error("server-sent event line longer than {0} bytes")]
    LineTooLong(usize),
    /// A field was not UTF-8.
    #[error("server-sent event is not valid utf-8")]
    InvalidUtf8,
}

/// One dispatched event, borrowed from the parser's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SseEvent<'a> {
    /// The `event:` field, or `message` when there was none.
    pub(crate) event: &'a str,
    /// The `data:` lines joined by `\n`.
    pub(crate) data: &'a str,
}

/// The incremental parser; feed it chunks in order.
#[derive(Debug)]
pub(crate) struct SseParser {
    /// The unfinished line carried over from the previous chunk.
    line: Vec<u8>,
    event: String,
    data: String,
    /// The last chunk ended in `\r`: a `\n` opening the next chunk belongs to it.
    after_cr: bool,
    max_line: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::with_max_line(DEFAULT_MAX_LINE)
    }
}

impl SseParser {
    /// A parser that rejects lines (and event data) longer than `max_line` bytes.
    pub(crate) fn with_max_line(max_line: usize) -> Self {
        Self {
            line: Vec::new(),
            event: String::new(),
            data: String::new(),
            after_cr: false,
            max_line,
        }
    }

    /// Parse one chunk, calling `on_event` for each complete event in it.
    ///
    /// Stops at once when `on_event` breaks, returning its value; the rest of the chunk is then
    /// dropped (the caller is done with the stream).
    ///
    /// # Errors
    ///
    /// [`SseError`] when a line is too long or not UTF-8; the parser is then unusable.
    pub(crate) fn feed<B>(
        &mut self,
        mut chunk: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> ControlFlow<B>,
    ) -> Result<ControlFlow<B>, SseError> {
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
        }
        while let Some(end) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') {
            let flow = if self.line.is_empty() {
                self.check_len(end)?;
                self.process_line(&chunk[..end], on_event)?
            } else {
                self.check_len(self.line.len() + end)?;
                self.line.extend_from_slice(&chunk[..end]);
                let line = std::mem::take(&mut self.line);
                let flow = self.process_line(&line, on_event);
                self.line = line;
                self.line.clear();
                flow?
            };
            let cr = chunk[end] == b'\r';
            chunk = &chunk[end + 1..];
            if cr {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            if flow.is_break() {
                return Ok(flow);
            }
        }
        if !chunk.is_empty() {
            self.check_len(self.line.len() + chunk.len())?;
            self.line.extend_from_slice(chunk);
        }
        Ok(ControlFlow::Continue(()))
    }

    /// The byte stream ended: treat an unterminated last line and an event missing its blank
    /// line as complete (lenient with servers that close without the final `\n\n`).
    ///
    /// # Errors
    ///
    /// [`SseError::InvalidUtf8`] when the last line is not UTF-8.
    pub(crate) fn finish<B>(
        &mut self,
        on_event: &mut impl FnMut(SseEvent<'_>) -> ControlFlow<B>,
    ) -> Result<ControlFlow<B>, SseError> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            if let ControlFlow::Break(b) = self.process_line(&line, on_event)? {
                return Ok(ControlFlow::Break(b));
            }
        }
        self.process_line(b"", on_event)
    }

    fn check_len(&self, len: usize) -> Result<(), SseError> {
        if len > self.max_line {
            Err(SseError::LineTooLong(self.max_line))
        } else {
            Ok(())
        }
    }

    fn process_line<B>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> ControlFlow<B>,
    ) -> Result<ControlFlow<B>, SseError> {
        if line.is_empty() {
            return Ok(self.dispatch(on_event));
        }
        if line[0] == b':' {
            return Ok(ControlFlow::Continue(()));
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                self.check_len(self.data.len() + value.len() + 1)?;
                self.data.push_str(utf8(value)?);
                self.data.push('\n');
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(utf8(value)?);
            }
            // `id`, `retry` and unknown fields mean nothing to a model stream.
            _ => {}
        }
        Ok(ControlFlow::Continue(()))
    }

    fn dispatch<B>(
        &mut self,
        on_event: &mut impl FnMut(SseEvent<'_>) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        if self.data.is_empty() {
            self.event.clear();
            return ControlFlow::Continue(());
        }
        let data = self.data.strip_suffix('\n').unwrap_or(&self.data);
        let event = if self.event.is_empty() {
            "message"
        } else {
            &self.event
        };
        let flow = on_event(SseEvent { event, data });
        self.data.clear();
        self.event.clear();
        flow
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, SseError> {
    std::str::from_utf8(bytes).map_err(|_| SseError::InvalidUtf8)
}

#[cfg(test)]
mod tests;
