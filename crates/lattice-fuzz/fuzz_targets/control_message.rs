//! libFuzzer entry for [`lattice_fuzz::control_message`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lattice_fuzz::control_message(data));
