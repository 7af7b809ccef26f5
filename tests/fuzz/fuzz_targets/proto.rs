//! Fuzz target: one `session proto` input line must parse or be rejected, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = session_core::parse_submission(line);
    }
});
