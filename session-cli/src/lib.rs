//! The `session` command-line program: configuration, the front-ends (`exec`, `chat`, `proto`,
//! `resume`, `sessions`, `sandbox`) and their rendering, on top of the `Session` façade of `session-core`.
//!
//! Everything lives in private modules; the binary only calls [`run`]. This is the one crate
//! that writes to the terminal; it must not grow session logic of its own (turns, approvals by
//! policy and recording belong to the core).

mod acp;
mod app;
mod approval;
mod args;
mod chat;
mod config;
mod demo;
mod exec;
mod input;
mod mcp;
mod proto;
mod render;
mod sandbox;
mod services;
mod sessions;
mod spinner;
mod term;

pub use crate::app::run;
