//! libFuzzer entry for [`wasmcloud_fuzz::control_message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmcloud_fuzz::control_message(data));
