//! Support crate for the workspace integration tests; the tests live in `it/`.
