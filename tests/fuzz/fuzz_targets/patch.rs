//! Fuzz target: any text as an `apply_patch` envelope, applied to any file, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (patch, file) = text.split_once('\u{0}').unwrap_or((text, ""));
        session_core::fuzzing::patch(patch, file);
    }
});
