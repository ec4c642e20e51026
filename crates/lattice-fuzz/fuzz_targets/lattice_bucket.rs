//! libFuzzer entry for [`lattice_fuzz::lattice_bucket`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lattice_fuzz::lattice_bucket(data));
