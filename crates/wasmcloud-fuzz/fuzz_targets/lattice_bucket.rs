//! libFuzzer entry for [`wasmcloud_fuzz::lattice_bucket`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmcloud_fuzz::lattice_bucket(data));
