//! Fuzz target: `parceld::fuzzing::csv_import`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parceld::fuzzing::csv_import(data));
