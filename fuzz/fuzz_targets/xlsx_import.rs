//! Fuzz target: `parceld::fuzzing::xlsx_import`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parceld::fuzzing::xlsx_import(data));
