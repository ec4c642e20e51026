//! libFuzzer entry for [`wasmcloud_fuzz::claims_token`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmcloud_fuzz::claims_token(data));
