//! Tests of the event translation.
