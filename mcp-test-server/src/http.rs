//! The test server over streamable HTTP on 127.0.0.1, behind an optional bearer-token check.
//!
//! Exists so the client's HTTP transport is tested against a real server over loopback. It must
//! never bind anything but 127.0.0.1, and it stops when its stdin closes (the test's end).

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use tokio::io::AsyncReadExt;

use crate::tools::{Profile, TestServer};

/// Serves `profile`'s tools at `http://127.0.0.1:<port>/mcp` until stdin closes.
pub(crate) async fn serve(profile: Profile) -> ExitCode {
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("mcp-test-server: cannot bind 127.0.0.1: {error}");
            return ExitCode::from(4);
        }
    };
    let port = match listener.local_addr() {
        Ok(addr) => addr.port(),
        Err(error) => {
            eprintln!("mcp-test-server: no local address: {error}");
            return ExitCode::from(4);
        }
    };
    let expected = Arc::new(Gate::from_env());
    let service = Arc::new(StreamableHttpService::new(
        move || Ok(TestServer::new(profile)),
        LocalSessionManager::default().into(),
        Default::default(),
    ));
    println!("listening http://127.0.0.1:{port}/mcp");

    let accept = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let service = Arc::clone(&service);
            let expected = Arc::clone(&expected);
            tokio::spawn(async move {
                let handler = service_fn(move |request: Request<Incoming>| {
                    let service = Arc::clone(&service);
                    let expected = Arc::clone(&expected);
                    async move { Ok::<_, Infallible>(answer(&service, &expected, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), handler)
                    .await;
            });
        }
    };
    // The test holds our stdin; its end (or its death) closes it, and then we stop.
    let stdin_closed = async {
        let mut sink = [0u8; 64];
        let mut stdin = tokio::io::stdin();
        while stdin.read(&mut sink).await.is_ok_and(|n| n > 0) {}
    };
    tokio::select! {
        () = accept => {}
        () = stdin_closed => {}
    }
    ExitCode::SUCCESS
}

/// What every request must carry: `Authorization: Bearer $MCP_TEST_BEARER` and the header
/// `$MCP_TEST_HEADER` (`name: value`), each only when its variable is set.
struct Gate {
    authorization: Option<String>,
    header: Option<(String, String)>,
}

impl Gate {
    fn from_env() -> Self {
        let authorization = std::env::var("MCP_TEST_BEARER")
            .ok()
            .map(|token| format!("Bearer {token}"));
        let header = std::env::var("MCP_TEST_HEADER").ok().and_then(|h| {
            h.split_once(':')
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        });
        Self {
            authorization,
            header,
        }
    }

    fn admits(&self, request: &Request<Incoming>) -> bool {
        let has = |name: &str, value: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == value)
        };
        self.authorization
            .as_deref()
            .is_none_or(|value| has(http::header::AUTHORIZATION.as_str(), value))
            && self
                .header
                .as_ref()
                .is_none_or(|(name, value)| has(name, value))
    }
}

async fn answer(
    service: &StreamableHttpService<TestServer, LocalSessionManager>,
    gate: &Gate,
    request: Request<Incoming>,
) -> Response<BoxBody<Bytes, Infallible>> {
    if !gate.admits(&request) {
        let mut response = Response::new(Full::new(Bytes::from_static(b"unauthorized")).boxed());
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return response;
    }
    service.handle(request).await
}
