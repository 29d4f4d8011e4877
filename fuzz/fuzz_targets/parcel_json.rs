//! Fuzz target: `parceld::fuzzing::parcel_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| parceld::fuzzing::parcel_json(data));
