//! Bounded capture of a command's output: the head and the tail are kept, the middle is counted.
//!
//! Exists so that a command printing gigabytes cannot exhaust memory. It must never hold more
//! than its limit per buffer, and must not interpret the bytes until the very end.

use session_state::ExecOutputStream;

#[cfg(test)]
mod tests;

/// How many bytes each capture buffer keeps at most (head and tail together).
pub(crate) const CAPTURE_LIMIT: usize = 1024 * 1024;

/// The first and the last bytes of a stream, at most `limit` in all.
#[derive(Debug)]
pub(crate) struct HeadTail {
    head: Vec<u8>,
    head_cap: usize,
    /// A ring buffer once full: the oldest byte sits at `pos`.
    tail: Vec<u8>,
    tail_cap: usize,
    pos: usize,
    omitted: u64,
}

impl HeadTail {
    /// An empty buffer keeping at most `limit` bytes: half for the head, half for the tail.
    pub(crate) fn new(limit: usize) -> Self {
        let head_cap = limit / 2;
        Self {
            head: Vec::new(),
            head_cap,
            tail: Vec::new(),
            tail_cap: limit - head_cap,
            pos: 0,
            omitted: 0,
        }
    }

    /// Append bytes; what no longer fits between head and tail is counted as omitted.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        let room = self.head_cap - self.head.len();
        let take = room.min(bytes.len());
        self.head.extend_from_slice(&bytes[..take]);
        self.push_tail(&bytes[take..]);
    }

    fn push_tail(&mut self, bytes: &[u8]) {
        let cap = self.tail_cap;
        if bytes.is_empty() {
            return;
        }
        if cap == 0 {
            self.omitted += bytes.len() as u64;
            return;
        }
        // Bytes that would be evicted before the call returns are never copied.
        let mut bytes = match bytes.len().checked_sub(cap) {
            Some(skip) if skip > 0 => {
                self.omitted += skip as u64;
                &bytes[skip..]
            }
            _ => bytes,
        };
        if self.tail.len() < cap {
            let take = (cap - self.tail.len()).min(bytes.len());
            self.tail.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if bytes.is_empty() {
                return;
            }
        }
        // Full: every byte written evicts the oldest one.
        self.omitted += bytes.len() as u64;
        let first = (cap - self.pos).min(bytes.len());
        self.tail[self.pos..self.pos + first].copy_from_slice(&bytes[..first]);
        let rest = &bytes[first..];
        self.tail[..rest.len()].copy_from_slice(rest);
        self.pos = (self.pos + bytes.len()) % cap;
    }

    /// How many bytes were dropped from the middle.
    #[cfg(test)]
    pub(crate) fn omitted(&self) -> u64 {
        self.omitted
    }

    /// The kept bytes, decoded as UTF-8 lossily, with a marker line where bytes were dropped.
    pub(crate) fn into_string(self) -> String {
        let mut out = Vec::with_capacity(self.head.len() + self.tail.len() + 48);
        out.extend_from_slice(&self.head);
        if self.omitted > 0 {
            out.extend_from_slice(omitted_marker(self.omitted).as_bytes());
        }
        out.extend_from_slice(&self.tail[self.pos..]);
        out.extend_from_slice(&self.tail[..self.pos]);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The line put where `omitted` bytes were dropped.
pub(crate) fn omitted_marker(omitted: u64) -> String {
    format!("\n[... {omitted} bytes omitted ...]\n")
}

/// Everything kept of one command: each stream, and both in arrival order.
#[derive(Debug)]
pub(crate) struct Captured {
    stdout: HeadTail,
    stderr: HeadTail,
    aggregated: HeadTail,
}

impl Captured {
    /// Empty buffers of `limit` bytes each.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            stdout: HeadTail::new(limit),
            stderr: HeadTail::new(limit),
            aggregated: HeadTail::new(limit),
        }
    }

    /// Record a chunk that arrived on `stream`.
    pub(crate) fn push(&mut self, stream: ExecOutputStream, bytes: &[u8]) {
        match stream {
            ExecOutputStream::Stdout => self.stdout.push(bytes),
            ExecOutputStream::Stderr => self.stderr.push(bytes),
        }
        self.aggregated.push(bytes);
    }

    /// Stdout, stderr and the aggregated output, decoded.
    pub(crate) fn into_strings(self) -> (String, String, String) {
        (
            self.stdout.into_string(),
            self.stderr.into_string(),
            self.aggregated.into_string(),
        )
    }
}
