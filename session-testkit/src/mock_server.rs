//! A loopback HTTP/1.1 server that plays a model provider in tests.
//!
//! Each accepted connection carries one request: it is read (headers and `Content-Length` body),
//! recorded for assertions, and answered by the next scripted [`MockResponse`], which can stream
//! its body in delayed chunks, keep the connection open afterwards, cut the body short, or say
//! nothing at all. It uses only tokio; it must never be compiled into a release build, which is
//! why it lives in this dev-dependency-only crate and not in `session-services`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

mod render;

pub use render::{
    MessagesBlock, sse_chat_text, sse_chat_tool_call, sse_event, sse_messages, sse_messages_text,
    sse_messages_tool_call, sse_responses_text, sse_responses_tool_call,
};

/// Largest request head the server reads.
const MAX_HEAD: usize = 1024 * 1024;

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `POST`, `GET`, …
    pub method: String,
    /// The request target, e.g. `/v1/responses`.
    pub path: String,
    /// Headers in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Bytes(Vec<u8>),
    Delay(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No length: the body ends when the connection closes (how SSE is usually served).
    CloseDelimited,
    /// A `Content-Length` matching the body.
    Length,
    /// A `Content-Length` longer than the body, then close: the body breaks off.
    Truncated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Close,
    Hang,
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockResponse {
    status: u16,
    headers: Vec<(String, String)>,
    parts: Vec<Part>,
    framing: Framing,
    end: End,
    silent: bool,
}

impl MockResponse {
    /// A 200 `text/event-stream` answer with this body, ended by closing the connection.
    pub fn sse(body: impl Into<String>) -> Self {
        let mut response =
            Self::empty(200, Framing::CloseDelimited).header("content-type", "text/event-stream");
        let body: String = body.into();
        if !body.is_empty() {
            response.parts.push(Part::Bytes(body.into_bytes()));
        }
        response
    }

    /// A JSON answer with a `Content-Length`.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        let mut response =
            Self::empty(status, Framing::Length).header("content-type", "application/json");
        response.parts.push(Part::Bytes(body.into().into_bytes()));
        response
    }

    /// An answer with this status and an empty body.
    pub fn status(status: u16) -> Self {
        Self::empty(status, Framing::Length)
    }

    /// Read the request and answer nothing, keeping the connection open.
    pub fn silent() -> Self {
        let mut response = Self::empty(200, Framing::Length);
        response.silent = true;
        response
    }

    fn empty(status: u16, framing: Framing) -> Self {
        Self {
            status,
            headers: Vec::new(),
            parts: Vec::new(),
            framing,
            end: End::Close,
            silent: false,
        }
    }

    /// Add a response header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Append a body chunk, written and flushed on its own.
    pub fn chunk(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.parts.push(Part::Bytes(bytes.into()));
        self
    }

    /// Wait this long before writing the next chunk.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.parts.push(Part::Delay(delay));
        self
    }

    /// Keep the connection open after the body, until the server is dropped.
    pub fn hang_after_body(mut self) -> Self {
        self.end = End::Hang;
        self
    }

    /// Declare a longer `Content-Length` than the body and close after it: the connection drops
    /// mid-body.
    pub fn drop_mid_body(mut self) -> Self {
        self.framing = Framing::Truncated;
        self.end = End::Close;
        self
    }

    fn body_len(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Bytes(b) => b.len(),
                Part::Delay(_) => 0,
            })
            .sum()
    }
}

#[derive(Debug, Default)]
struct Shared {
    responses: Mutex<VecDeque<MockResponse>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// The server; stops (with every open connection) when dropped.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl MockServer {
    /// Listen on `127.0.0.1` (a free port) and answer with `responses` in order; once they run
    /// out, every request gets a 500.
    ///
    /// # Errors
    ///
    /// The I/O error when the port cannot be bound.
    pub async fn start(
        responses: impl IntoIterator<Item = MockResponse>,
    ) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            responses: Mutex::new(responses.into_iter().collect()),
            requests: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(MockServer { addr, shared, task })
    }

    /// The server's root URL, `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Script one more answer.
    pub fn push(&self, response: MockResponse) {
        lock(&self.shared.responses).push_back(response);
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Dropping the accept task drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => {
                    connections.spawn(serve(socket, Arc::clone(&shared)));
                }
                Err(e) => tracing::debug!(error = %e, "mock server accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve(mut socket: TcpStream, shared: Arc<Shared>) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    lock(&shared.requests).push(request);
    let response = lock(&shared.responses).pop_front();
    let response = response.unwrap_or_else(|| {
        MockResponse::json(
            500,
            r#"{"error":{"message":"mock server has no response left"}}"#,
        )
    });
    if response.silent {
        std::future::pending::<()>().await;
    }
    if write_response(&mut socket, &response).await.is_err() {
        return;
    }
    match response.end {
        End::Close => {
            let _ = socket.shutdown().await;
        }
        End::Hang => std::future::pending::<()>().await,
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<RecordedRequest> {
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0_u8; 4096];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf.split_off(head_end + 4);
    while body.len() < length {
        let mut chunk = vec![0_u8; (length - body.len()).min(64 * 1024)];
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(RecordedRequest {
        method,
        path,
        headers,
        body,
    })
}

async fn write_response(socket: &mut TcpStream, response: &MockResponse) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nconnection: close\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match response.framing {
        Framing::CloseDelimited => {}
        Framing::Length => head.push_str(&format!("content-length: {}\r\n", response.body_len())),
        Framing::Truncated => {
            head.push_str(&format!(
                "content-length: {}\r\n",
                response.body_len() + 1024
            ));
        }
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await?;
    socket.flush().await?;
    for part in &response.parts {
        match part {
            Part::Bytes(bytes) => {
                socket.write_all(bytes).await?;
                socket.flush().await?;
            }
            Part::Delay(delay) => tokio::time::sleep(*delay).await,
        }
    }
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests;
