//! A request body in pieces: small buffers written for this request, and runs of history items
//! written from their cached JSON while the body is sent.
//!
//! Building a body copies no history: a request of a long history is never one buffer as long
//! as the history (a fresh 46 MB buffer costs more in page faults than the copy itself). The
//! length is known before sending, so the request carries a `Content-Length`, never chunked
//! transfer encoding. It must not serialize a history item.

use std::convert::Infallible;

use bytes::Bytes;
use session_state::JsonArrayChunks;

/// The body of one model request, with its length known up front.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestBody {
    pieces: Vec<Piece>,
    len: usize,
}

#[derive(Debug, Clone)]
enum Piece {
    Bytes(Bytes),
    Items(JsonArrayChunks),
}

impl RequestBody {
    /// An empty body, to append pieces to.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Append bytes written for this request.
    pub(crate) fn push_bytes(&mut self, bytes: impl Into<Bytes>) {
        let bytes = bytes.into();
        if !bytes.is_empty() {
            self.len += bytes.len();
            self.pieces.push(Piece::Bytes(bytes));
        }
    }

    /// Append a JSON array of history items, written from their cached JSON when sent.
    pub(crate) fn push_items(&mut self, items: JsonArrayChunks) {
        self.len += items.byte_len();
        self.pieces.push(Piece::Items(items));
    }

    /// Length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The body's chunks, in order; each run of items is written as it is reached.
    pub(crate) fn into_chunks(self) -> impl Iterator<Item = Bytes> + Send + 'static {
        self.pieces.into_iter().flat_map(|piece| match piece {
            Piece::Bytes(bytes) => Chunks::One(Some(bytes)),
            Piece::Items(items) => Chunks::Items(items),
        })
    }

    /// The whole body in one buffer (tests, and what a recording mock server sees).
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in self.clone().into_chunks() {
            out.extend_from_slice(&chunk);
        }
        out
    }

    /// The body for reqwest: one buffer as it is, anything else streamed chunk by chunk. The
    /// caller sends [`Self::len`] as the `Content-Length`.
    pub(crate) fn into_reqwest(mut self) -> reqwest::Body {
        if let [Piece::Bytes(_)] = self.pieces.as_slice()
            && let Some(Piece::Bytes(bytes)) = self.pieces.pop()
        {
            return reqwest::Body::from(bytes);
        }
        let chunks = self.into_chunks().map(Ok::<Bytes, Infallible>);
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
    }
}

impl From<Vec<u8>> for RequestBody {
    fn from(bytes: Vec<u8>) -> Self {
        let mut body = Self::new();
        body.push_bytes(bytes);
        body
    }
}

/// The chunks of one piece.
enum Chunks {
    One(Option<Bytes>),
    Items(JsonArrayChunks),
}

impl Iterator for Chunks {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        match self {
            Chunks::One(bytes) => bytes.take(),
            Chunks::Items(items) => items.next().map(Bytes::from),
        }
    }
}

#[cfg(test)]
mod tests;
