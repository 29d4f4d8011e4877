//! Fuzz target: `parceld::fuzzing::track17`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parceld::fuzzing::track17(data));
