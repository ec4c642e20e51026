//! libFuzzer entry for [`lattice_fuzz::artifact_reference`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lattice_fuzz::artifact_reference(data));
