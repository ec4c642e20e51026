//! libFuzzer entry for [`lattice_fuzz::wasm_claims`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lattice_fuzz::wasm_claims(data));
