//! Fuzz target: arbitrary text through token decoding and validation for every entity kind must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wascap::jwt::{
    Account, CapabilityProvider, Claims, Cluster, Component, Host, Operator, validate_token,
};

fuzz_target!(|data: &[u8]| {
    // Lossy conversion keeps inputs that are almost text useful to the fuzzer.
    let token = String::from_utf8_lossy(data);

    let decoded = Claims::<Component>::decode(&token);
    let validated = validate_token::<Component>(&token);
    // decode = structural checks + signature; validate = the same checks, signature as a flag.
    match (&decoded, &validated) {
        (Ok(_), Ok(v)) => assert!(v.signature_valid),
        (Ok(_), Err(e)) => panic!("decoded but failed validation: {e}"),
        (Err(_), _) => {}
    }
    if let Ok(claims) = decoded {
        let _ = claims.check_times(1_700_000_000);
    }

    let _ = Claims::<CapabilityProvider>::decode(&token);
    let _ = Claims::<Account>::decode(&token);
    let _ = Claims::<Operator>::decode(&token);
    let _ = Claims::<Cluster>::decode(&token);
    let _ = Claims::<Host>::decode(&token);
});
