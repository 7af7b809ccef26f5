//! Conversation history: items stored once, shared by `Arc`, serialized once.
//!
//! Each item's JSON is rendered when it is appended, and that JSON is the one form history
//! keeps (with a small header of facts about the item, see [`HistoryItem`]): building a model
//! request or a recording line is a copy of bytes, never a re-serialization, and a long history
//! costs about its JSON in memory, not its JSON plus its parsed form. Whoever needs the parsed
//! item parses it then, one item at a time. A snapshot is an `Arc` clone of the item list;
//! appending after a snapshot copies pointers, never items.
//! [`JsonArrayChunks`] writes items out as one JSON array in bounded chunks, so a request of a
//! long history is never one buffer as large as the history.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use crate::error::StateError;
use crate::items::ResponseItem;

mod item;

pub use item::{HistoryItem, ItemKind};

/// The list of history items at one moment; cheap to clone and to hold.
#[derive(Debug, Clone, Default)]
pub struct HistorySnapshot {
    items: Arc<Vec<Arc<HistoryItem>>>,
}

impl HistorySnapshot {
    /// The items, oldest first.
    pub fn items(&self) -> &[Arc<HistoryItem>] {
        &self.items
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, oldest first, each parsed from its JSON as the iterator reaches it.
    pub fn parsed(&self) -> impl DoubleEndedIterator<Item = ResponseItem> + ExactSizeIterator {
        self.items.iter().map(|h| h.item())
    }

    /// The items as a JSON array in one string, by concatenating each item's cached JSON (a
    /// request writes [`Self::json_chunks`] instead).
    pub fn to_json_array(&self) -> String {
        let len: usize = self.items.iter().map(|h| h.json().len() + 1).sum();
        let mut out = String::with_capacity(len + 2);
        out.push('[');
        for (i, h) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(h.json());
        }
        out.push(']');
        out
    }

    /// The items as a JSON array written in chunks; see [`JsonArrayChunks`].
    pub fn json_chunks(&self) -> JsonArrayChunks {
        JsonArrayChunks::new(&self.items, |_| true)
    }

    /// The items `keep` accepts, in order, as a JSON array written in chunks; `keep` is asked
    /// about each item once, now.
    pub fn json_chunks_where(&self, keep: impl FnMut(&HistoryItem) -> bool) -> JsonArrayChunks {
        JsonArrayChunks::new(&self.items, keep)
    }

    /// Whether this list is well formed; see [`ConversationHistory::check_well_formed`].
    ///
    /// # Errors
    ///
    /// [`StateError::MalformedHistory`] naming the first problem found.
    pub fn check_well_formed(&self) -> Result<(), StateError> {
        check_pairs(&self.items)
    }
}

/// Some of a snapshot's items as one JSON array (`[a,b,…]`), written from each item's cached
/// JSON in chunks of about [`CHUNK_BYTES`](Self::CHUNK_BYTES).
///
/// It holds the snapshot, not a copy of it: making one costs a look at each item, and the
/// array's length is known before any chunk is made, so it can be sent with a
/// `Content-Length`. A chunk holds whole items: it is larger than `CHUNK_BYTES` only by the
/// last item it holds. Nothing is serialized again; each chunk is one copy of cached bytes
/// into memory of its own size.
#[derive(Debug, Clone)]
pub struct JsonArrayChunks {
    items: Arc<Vec<Arc<HistoryItem>>>,
    /// Indices of the items left out, ascending.
    left_out: Vec<usize>,
    /// The first item not looked at yet.
    next: usize,
    /// The first entry of `left_out` not passed yet.
    next_left_out: usize,
    /// Items written so far.
    written: usize,
    opened: bool,
    closed: bool,
    len: usize,
}

impl JsonArrayChunks {
    /// Bytes after which a chunk takes no further item.
    pub const CHUNK_BYTES: usize = 64 * 1024;

    fn new(items: &Arc<Vec<Arc<HistoryItem>>>, mut keep: impl FnMut(&HistoryItem) -> bool) -> Self {
        let mut left_out = Vec::new();
        let mut json_len = 0usize;
        for (i, h) in items.iter().enumerate() {
            if keep(h) {
                json_len += h.json().len();
            } else {
                left_out.push(i);
            }
        }
        let count = items.len() - left_out.len();
        Self {
            items: Arc::clone(items),
            left_out,
            next: 0,
            next_left_out: 0,
            written: 0,
            opened: false,
            closed: false,
            len: 2 + count.saturating_sub(1) + json_len,
        }
    }

    /// Length in bytes of the whole array, whatever has been written of it.
    pub fn byte_len(&self) -> usize {
        self.len
    }

    /// Number of items in the array.
    pub fn item_count(&self) -> usize {
        self.items.len() - self.left_out.len()
    }

    /// Whether item `i` is left out, given the cursor `left_out` into `self.left_out` (moved on
    /// past `i` when it is).
    fn skips(&self, i: usize, left_out: &mut usize) -> bool {
        let skip = self.left_out.get(*left_out) == Some(&i);
        *left_out += usize::from(skip);
        skip
    }
}

impl Iterator for JsonArrayChunks {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if self.closed {
            return None;
        }
        // Measure first, so the chunk is allocated once at its exact size.
        let n = self.items.len();
        let (mut end, mut left_out, mut count) = (self.next, self.next_left_out, self.written);
        let mut size = usize::from(!self.opened);
        while end < n && size < Self::CHUNK_BYTES {
            if !self.skips(end, &mut left_out) {
                size += self.items[end].json().len() + usize::from(count > 0);
                count += 1;
            }
            end += 1;
        }
        // Items left out at the end belong to this chunk, so it can close the array.
        while end < n && self.skips(end, &mut left_out) {
            end += 1;
        }
        let closes = end == n;
        size += usize::from(closes);

        let mut chunk = Vec::with_capacity(size);
        if !self.opened {
            chunk.push(b'[');
        }
        let mut cursor = self.next_left_out;
        for i in self.next..end {
            if self.skips(i, &mut cursor) {
                continue;
            }
            if self.written > 0 {
                chunk.push(b',');
            }
            chunk.extend_from_slice(self.items[i].json().as_bytes());
            self.written += 1;
        }
        if closes {
            chunk.push(b']');
        }
        debug_assert_eq!(chunk.len(), size);
        self.opened = true;
        self.closed = closes;
        self.next = end;
        self.next_left_out = left_out;
        Some(chunk)
    }
}

/// The conversation so far.
#[derive(Debug, Clone, Default)]
pub struct ConversationHistory {
    items: Arc<Vec<Arc<HistoryItem>>>,
}

impl ConversationHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// A history holding these items, in order.
    pub fn from_items(items: impl IntoIterator<Item = ResponseItem>) -> Self {
        let mut history = Self::new();
        history.record_items(items);
        history
    }

    /// Append items, in order; returns the stored items so the caller can record the same
    /// bytes without serializing again.
    pub fn record_items(
        &mut self,
        items: impl IntoIterator<Item = ResponseItem>,
    ) -> Vec<Arc<HistoryItem>> {
        let added: Vec<Arc<HistoryItem>> = items
            .into_iter()
            .map(|i| Arc::new(HistoryItem::new(i)))
            .collect();
        self.record_shared(added.iter().cloned());
        added
    }

    /// Append items that are already wrapped (for example replayed from a recording).
    pub fn record_shared(&mut self, items: impl IntoIterator<Item = Arc<HistoryItem>>) {
        Arc::make_mut(&mut self.items).extend(items);
    }

    /// Replace the whole history (compaction).
    pub fn replace(&mut self, items: impl IntoIterator<Item = ResponseItem>) {
        self.items = Arc::new(Vec::new());
        self.record_items(items);
    }

    /// A snapshot of the items; O(1), shares every item.
    pub fn snapshot(&self) -> HistorySnapshot {
        HistorySnapshot {
            items: Arc::clone(&self.items),
        }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, oldest first, each parsed from its JSON as the iterator reaches it.
    pub fn parsed(&self) -> impl DoubleEndedIterator<Item = ResponseItem> + ExactSizeIterator {
        self.items.iter().map(|h| h.item())
    }

    /// Check that every tool call has exactly one output, after it, and every output answers a
    /// call.
    ///
    /// # Errors
    ///
    /// [`StateError::MalformedHistory`] naming the first problem found.
    pub fn check_well_formed(&self) -> Result<(), StateError> {
        check_pairs(&self.items)
    }

    /// The calls that have no output yet, in call order.
    pub fn open_calls(&self) -> Vec<String> {
        let mut open: Vec<String> = Vec::new();
        for item in self.items.iter() {
            if let Some(id) = item.call_id() {
                open.push(id.into_owned());
            } else if let Some(id) = item.output_call_id() {
                open.retain(|c| *c != *id);
            }
        }
        open
    }

    /// Close every open call with the output `output(call_id)` gives it (for example
    /// [`aborted_output`] with what the tool printed). Returns the outputs appended, in call
    /// order.
    pub fn close_open_calls(&mut self, output: impl Fn(&str) -> String) -> Vec<Arc<HistoryItem>> {
        let outputs: Vec<ResponseItem> = self
            .open_calls()
            .into_iter()
            .map(|call_id| ResponseItem::FunctionCallOutput {
                output: output(&call_id),
                call_id,
            })
            .collect();
        self.record_items(outputs)
    }
}

/// The model-visible output of a tool call cut short by an interrupt.
///
/// Keeps whatever the tool printed before it was stopped, and how long it had run when known.
pub fn aborted_output(partial: Option<&str>, elapsed_ms: Option<u64>) -> String {
    let mut out = match elapsed_ms {
        Some(ms) => format!("aborted by user after {:.1}s", ms as f64 / 1000.0),
        None => String::from("aborted by user"),
    };
    if let Some(p) = partial.filter(|p| !p.is_empty()) {
        out.push_str("\noutput before it was aborted:\n");
        out.push_str(p);
    }
    out
}

/// Read from each item's header: no item is parsed.
fn check_pairs(items: &[Arc<HistoryItem>]) -> Result<(), StateError> {
    let mut seen_calls: HashSet<Cow<'_, str>> = HashSet::new();
    // Call order, so a missing output is reported for the first open call, not a random one.
    let mut call_order: Vec<Cow<'_, str>> = Vec::new();
    let mut answered: HashSet<Cow<'_, str>> = HashSet::new();
    for item in items {
        if let Some(id) = item.call_id() {
            if seen_calls.contains(&*id) {
                return Err(malformed(format!("tool call {id} appears twice")));
            }
            seen_calls.insert(id.clone());
            call_order.push(id);
        } else if let Some(id) = item.output_call_id() {
            if !seen_calls.contains(&*id) {
                return Err(malformed(format!("output for {id} has no call before it")));
            }
            if answered.contains(&*id) {
                return Err(malformed(format!(
                    "tool call {id} has more than one output"
                )));
            }
            answered.insert(id);
        }
    }
    if let Some(open) = call_order.iter().find(|c| !answered.contains(&**c)) {
        return Err(malformed(format!("tool call {open} has no output")));
    }
    Ok(())
}

fn malformed(reason: String) -> StateError {
    StateError::MalformedHistory { reason }
}

#[cfg(test)]
mod tests;
