//! Tests of `RequestBody`: its chunks join to the bytes it announces, and a streamed body goes
//! over a real loopback connection with a `Content-Length`, not chunked.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use session_state::{ConversationHistory, ResponseItem};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::provider::{Auth, Endpoint, ProviderConfig, WireApi};

/// A body of a head, `n` items of about 2 KiB each and a tail.
fn body_of(n: usize) -> RequestBody {
    let items = (0..n).map(|i| ResponseItem::user_text(format!("{i} {}", "ab\"c\n".repeat(400))));
    let history = ConversationHistory::from_items(items);
    let mut body = RequestBody::new();
    body.push_bytes(b"{\"input\":".to_vec());
    body.push_items(history.snapshot().json_chunks());
    body.push_bytes(Bytes::from_static(b"}"));
    body
}

#[test]
fn the_chunks_join_to_the_length_announced() {
    for n in [0, 1, 100] {
        let body = body_of(n);
        let len = body.len();
        let joined: Vec<u8> = body
            .clone()
            .into_chunks()
            .flat_map(|c| c.to_vec())
            .collect();
        assert_eq!(joined.len(), len);
        assert_eq!(joined, body.to_vec());
        let value: serde_json::Value = serde_json::from_slice(&joined).unwrap();
        assert_eq!(value["input"].as_array().unwrap().len(), n);
    }
}

#[test]
fn a_body_of_one_buffer_is_that_buffer() {
    let body = RequestBody::from(b"{\"a\":1}".to_vec());
    assert_eq!(body.len(), 7);
    assert_eq!(body.to_vec(), b"{\"a\":1}");
    assert_eq!(RequestBody::from(Vec::new()).into_chunks().count(), 0);
}

/// Read one request from `socket`: its head (lowercased) and its `Content-Length` body.
async fn read_request(socket: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before the head ended");
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8(data[..head_end].to_vec())
        .unwrap()
        .to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .expect("a content-length header")
        .trim()
        .parse()
        .unwrap();
    let mut body = data[head_end..].to_vec();
    while body.len() < len {
        let n = socket.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed before the body ended");
        body.extend_from_slice(&buf[..n]);
    }
    (head, body)
}

#[tokio::test]
async fn a_streamed_body_is_sent_with_its_content_length_not_chunked() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let request = read_request(&mut socket).await;
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 0\r\n\r\n",
            )
            .await
            .unwrap();
        request
    });

    let config = ProviderConfig::new("test", format!("http://{addr}"), WireApi::Responses);
    let endpoint = Endpoint::new(&config, "responses", Auth::Bearer, &[]).unwrap();
    // About 400 KiB: several chunks.
    let body = body_of(200);
    let expected = body.to_vec();
    assert!(expected.len() > 4 * JsonArrayChunks::CHUNK_BYTES);
    let response = endpoint.post(body).await.unwrap();
    assert_eq!(response.status(), 200);

    let (head, received) = server.await.unwrap();
    assert!(
        head.contains(&format!("\r\ncontent-length: {}\r\n", expected.len())),
        "{head}"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert_eq!(received, expected);
}
