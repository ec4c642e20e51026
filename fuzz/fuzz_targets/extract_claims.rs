//! Fuzz target: arbitrary bytes through wasm claims extraction, stripping and hashing must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wascap::jwt::{Claims, Component};
use wascap::wasm;

fuzz_target!(|data: &[u8]| {
    let extracted = wasm::extract_claims(data);
    let stripped = wasm::strip_claims(data);

    match &stripped {
        Ok(stripped) => {
            // Stripping is idempotent: its output parses and has nothing left to strip.
            let again = wasm::strip_claims(stripped).expect("stripped output must parse");
            assert_eq!(&again, stripped, "stripping is not idempotent");
            let hash = wasm::compute_hash(data).expect("hash of strippable input");
            assert_eq!(hash.len(), 64);
        }
        // Anything that cannot be stripped cannot yield claims either.
        Err(_) => assert!(extracted.is_err(), "extracted claims from unstrippable input"),
    }

    if let Ok(Some(token)) = extracted {
        // Whatever extraction accepts must be a token that decodes on its own.
        assert!(Claims::<Component>::decode(&token.jwt).is_ok());
    }
});
