//! Reading stdin lines with a bound on their length, so memory does not follow the input.
//!
//! A line is kept until it passes the limit; past it the bytes read are dropped at once until the
//! next newline and the line is reported as too long. The reader must never hold more than the
//! limit (plus the underlying reader's buffer) whatever the input.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest stdin line `session proto` accepts, in bytes, not counting the newline.
pub(crate) const MAX_LINE: usize = 16 * 1024 * 1024;

/// One line of input.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// The bytes of a line, with its newline if it had one.
    Complete(Vec<u8>),
    /// A line longer than the limit; its bytes were dropped.
    TooLong,
}

/// Lines of `reader`, each at most `limit` bytes long.
#[derive(Debug)]
pub(crate) struct BoundedLines<R> {
    reader: R,
    limit: usize,
    line: Vec<u8>,
    /// Whether the current line has passed the limit (its bytes are being dropped).
    too_long: bool,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    /// Lines of `reader` longer than `limit` bytes (newline excluded) come as [`Line::TooLong`].
    pub(crate) fn new(reader: R, limit: usize) -> Self {
        Self {
            reader,
            limit,
            line: Vec::new(),
            too_long: false,
        }
    }

    /// The next line; `None` at the end of input. A last line without a newline counts.
    ///
    /// # Errors
    ///
    /// When the reader fails.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the bytes of a partly read line stay here for the next call.
    pub(crate) async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            // Nothing is consumed across an await: state changes only between `fill_buf` and
            // `consume`, which are synchronous, so dropping this future loses nothing.
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(self.finish());
            }
            let newline = available.iter().position(|&b| b == b'\n');
            let taken = newline.map_or(available.len(), |i| i + 1);
            let content = newline.unwrap_or(available.len());
            if !self.too_long {
                if self.line.len() + content > self.limit {
                    self.too_long = true;
                    self.line = Vec::new();
                } else {
                    self.line.extend_from_slice(&available[..taken]);
                }
            }
            self.reader.consume(taken);
            if newline.is_some() {
                return Ok(self.finish());
            }
        }
    }

    /// The line read so far, ending it; `None` when there is none.
    fn finish(&mut self) -> Option<Line> {
        if std::mem::take(&mut self.too_long) {
            Some(Line::TooLong)
        } else if self.line.is_empty() {
            None
        } else {
            Some(Line::Complete(std::mem::take(&mut self.line)))
        }
    }
}

#[cfg(test)]
mod tests;
