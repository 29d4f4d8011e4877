//! Fuzz target: `parceld::fuzzing::russian_post`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parceld::fuzzing::russian_post(data));
