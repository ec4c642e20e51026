//! libFuzzer entry for [`wasmcloud_fuzz::project_config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmcloud_fuzz::project_config(data));
