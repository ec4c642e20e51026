//! libFuzzer entry for [`wasmcloud_fuzz::wasm_claims`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmcloud_fuzz::wasm_claims(data));
