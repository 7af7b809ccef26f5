//! Integration tests of the real service implementations: temp dirs, real processes, and a
//! loopback HTTP server started by each test.

#[cfg(feature = "http")]
mod chat;
#[cfg(feature = "mcp")]
mod mcp;
#[cfg(feature = "http")]
mod messages;
mod notifier;
mod recorder;
#[cfg(feature = "http")]
mod responses;
mod sandbox;
mod shell;
