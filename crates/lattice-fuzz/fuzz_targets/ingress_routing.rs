//! libFuzzer entry for [`lattice_fuzz::ingress_routing`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lattice_fuzz::ingress_routing(data));
