//! Fuzz target: any bytes, split into chunks of any size, never panic the SSE parser.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((&chunk, rest)) = data.split_first() {
        session_services::fuzzing::sse(rest, usize::from(chunk));
    }
});
