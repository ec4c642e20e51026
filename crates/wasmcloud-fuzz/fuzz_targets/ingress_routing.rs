//! libFuzzer entry for [`wasmcloud_fuzz::ingress_routing`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wasmcloud_fuzz::ingress_routing(data));
