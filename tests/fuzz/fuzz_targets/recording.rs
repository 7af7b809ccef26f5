//! Fuzz target: any bytes read as a recording replay or give an error, never panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    session_services::fuzzing::recording(data);
});
