//! Integration tests of the real service implementations: temp dirs, real processes, and a
//! loopback HTTP server started by each test.

mod chat;
mod messages;
mod notifier;
mod recorder;
mod responses;
mod sandbox;
mod shell;
