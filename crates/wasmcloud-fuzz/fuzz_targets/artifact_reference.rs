//! libFuzzer entry for [`wasmcloud_fuzz::artifact_reference`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmcloud_fuzz::artifact_reference(data));
