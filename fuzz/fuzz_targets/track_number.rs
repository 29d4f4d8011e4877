//! Fuzz target: `parceld::fuzzing::track_number`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parceld::fuzzing::track_number(data));
