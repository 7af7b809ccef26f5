//! A loopback HTTP/1.1 server playing the OpenAI Responses API for the whole-process benches,
//! with std only (xtask depends on nothing of the workspace, so it cannot borrow the mock of
//! `session-services`).
//!
//! Every reply is rendered to bytes before the server starts, so answering a request is one
//! `write_all`: the server must never be what a bench measures. It serves anything that asks;
//! it must only ever bind to 127.0.0.1.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Picks the pre-rendered reply for a request body.
pub(crate) type Router = Arc<dyn Fn(&[u8]) -> Arc<Vec<u8>> + Send + Sync>;

/// A running mock; stops when dropped.
pub(crate) struct MockServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    accept: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Serve `reply` to every request.
    pub(crate) fn fixed(reply: Arc<Vec<u8>>) -> Result<MockServer> {
        MockServer::start(Arc::new(move |_| Arc::clone(&reply)))
    }

    /// Serve what `router` picks for each request body.
    pub(crate) fn start(router: Router) -> Result<MockServer> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the mock server")?;
        let addr = listener
            .local_addr()
            .context("reading the mock's address")?;
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let accept = {
            let stop = Arc::clone(&stop);
            let requests = Arc::clone(&requests);
            std::thread::Builder::new()
                .name("mock-accept".to_owned())
                .spawn(move || accept_loop(&listener, &stop, &requests, &router))
                .context("starting the mock server")?
        };
        Ok(MockServer {
            addr,
            stop,
            requests,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:PORT/v1`, the provider's base URL.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Requests answered so far.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so it sees the flag.
        drop(TcpStream::connect(self.addr));
        if let Some(handle) = self.accept.take() {
            drop(handle.join());
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    stop: &AtomicBool,
    requests: &Arc<AtomicUsize>,
    router: &Router,
) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let router = Arc::clone(router);
        let requests = Arc::clone(requests);
        // Connection threads end when the client hangs up; nothing waits for them.
        let spawned = std::thread::Builder::new()
            .name("mock-conn".to_owned())
            .spawn(move || {
                drop(serve(stream, &router, &requests));
            });
        drop(spawned);
    }
}

/// Answer every request on one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, router: &Router, requests: &AtomicUsize) -> Result<()> {
    stream.set_nodelay(true).ok();
    let mut writer = stream.try_clone().context("cloning the connection")?;
    let mut reader = BufReader::new(stream);
    while let Some(body) = read_request(&mut reader)? {
        let reply = router(&body);
        requests.fetch_add(1, Ordering::SeqCst);
        writer.write_all(&reply)?;
        writer.flush()?;
    }
    Ok(())
}

/// Read one request; its body, or `None` when the client closed the connection.
pub(crate) fn read_request(reader: &mut impl BufRead) -> Result<Option<Vec<u8>>> {
    let mut content_length = 0usize;
    let mut chunked = false;
    let mut line = String::new();
    let mut first = true;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            if first {
                return Ok(None);
            }
            bail!("connection closed inside a request head");
        }
        first = false;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().context("bad content-length")?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .context("bad chunk size")?;
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
            if size == 0 {
                break;
            }
        }
    } else {
        body.resize(content_length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(body))
}

/// One SSE event named by its data's `type`.
fn sse(data: &Value) -> String {
    let kind = data
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("message");
    format!("event: {kind}\ndata: {data}\n\n")
}

fn created() -> String {
    sse(&json!({
        "type": "response.created",
        "response": {"id": "resp_bench", "status": "in_progress"},
    }))
}

fn completed(output_tokens: usize) -> String {
    sse(&json!({
        "type": "response.completed",
        "response": {
            "id": "resp_bench",
            "status": "completed",
            "usage": {
                "input_tokens": 1200,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 1200 + output_tokens,
            },
        },
    }))
}

/// The SSE body of a text reply streamed in `deltas` pieces: `response.created`, the deltas,
/// the assistant message as `response.output_item.done`, `response.completed` with usage.
pub(crate) fn text_stream(deltas: &[&str]) -> String {
    let mut out = created();
    for delta in deltas {
        out.push_str(&sse(&json!({
            "type": "response.output_text.delta",
            "item_id": "msg_bench",
            "output_index": 0,
            "content_index": 0,
            "delta": delta,
        })));
    }
    out.push_str(&sse(&json!({
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {
            "type": "message",
            "id": "msg_bench",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": deltas.concat(), "annotations": []}],
        },
    })));
    out.push_str(&completed(deltas.len()));
    out
}

/// The SSE body of one `shell` tool call with `argv`.
pub(crate) fn shell_call_stream(call_id: &str, argv: &[&str]) -> String {
    let arguments = json!({ "command": argv }).to_string();
    let mut out = created();
    out.push_str(&sse(&json!({
        "type": "response.output_item.done",
        "output_index": 0,
        "item": {
            "type": "function_call",
            "id": "fc_bench",
            "status": "completed",
            "call_id": call_id,
            "name": "shell",
            "arguments": arguments,
        },
    })));
    out.push_str(&completed(10));
    out
}

/// A whole HTTP response carrying `sse` as an event stream.
pub(crate) fn http_response(sse: &str) -> Arc<Vec<u8>> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         content-length: {}\r\n\r\n",
        sse.len()
    )
    .into_bytes();
    out.extend_from_slice(sse.as_bytes());
    Arc::new(out)
}

/// The reply of `n` text deltas, pre-rendered.
pub(crate) fn text_reply(n: usize) -> Arc<Vec<u8>> {
    let deltas: Vec<&str> = (0..n).map(|_| "tok ").collect();
    http_response(&text_stream(&deltas))
}
