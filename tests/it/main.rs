//! Workspace integration tests: end-to-end scenarios through the `Session` façade with a
//! scripted model, fakes and mocks. Every scenario checks DESIGN.md's invariants on its events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod compaction;
mod failures;
mod faults;
mod mcp;
mod panics;
mod patch;
mod patch_symlinks;
mod processes;
mod providers;
mod recording;
mod registry;
mod resume;
mod sandbox;
mod stateful;
mod support;
mod turns;
