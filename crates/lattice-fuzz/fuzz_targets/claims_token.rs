//! libFuzzer entry for [`lattice_fuzz::claims_token`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lattice_fuzz::claims_token(data));
