//! Tests of the mock server's own behaviour over a raw socket: requests recorded as sent,
//! answers given in order, and a 500 once the script runs out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{MockResponse, MockServer};

async fn post(server: &MockServer, path: &str, body: &str) -> String {
    let addr = server.url().trim_start_matches("http://").to_owned();
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: mock\r\nX-Test: yes\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn requests_are_recorded_and_answered_in_order_then_with_500() {
    let server = MockServer::start([MockResponse::json(200, r#"{"ok":1}"#)])
        .await
        .unwrap();
    server.push(MockResponse::sse("data: x\n\n").chunk("data: y\n\n"));
    let first = post(&server, "/v1/one", r#"{"n":1}"#).await;
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{first}");
    assert!(first.ends_with(r#"{"ok":1}"#), "{first}");
    let second = post(&server, "/v1/two", "").await;
    assert!(second.contains("text/event-stream"), "{second}");
    assert!(second.ends_with("data: x\n\ndata: y\n\n"), "{second}");
    let third = post(&server, "/v1/three", "").await;
    assert!(third.starts_with("HTTP/1.1 500 "), "{third}");

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("POST", "/v1/one")
    );
    assert_eq!(requests[0].header("x-TEST"), Some("yes"));
    assert_eq!(requests[0].body_json()["n"], 1);
    assert_eq!(requests[1].body_json(), serde_json::Value::Null);
}
