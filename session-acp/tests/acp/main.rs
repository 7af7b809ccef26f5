//! The ACP host driven by the SDK's client side over in-memory pipes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod pipe;
mod support;

mod basics;
mod races;
mod sessions;
mod tools;
