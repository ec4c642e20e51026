//! libFuzzer entry for [`lattice_fuzz::project_config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lattice_fuzz::project_config(data));
