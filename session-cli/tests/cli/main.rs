//! Integration tests of the `session` binary: each test runs the real program in a temporary
//! working directory with its own `SESSION_HOME`, against the offline demo, a JSON script, or a
//! loopback mock of a Responses or Chat Completions server.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod acp;
mod acp_interop;
mod chat;
mod config;
mod crash;
mod exec;
mod json;
mod mcp;
mod proto;
mod pty;
mod resume;
mod sandbox;
mod security;
mod sessions;
mod snapshot;
mod support;
