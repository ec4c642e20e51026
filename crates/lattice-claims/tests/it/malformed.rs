//! Malformed input of every kind is an error, never a panic.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lattice_claims::ErrorKind;
use lattice_claims::jwt::{Claims, Component, validate_token};
use lattice_claims::wasm::{
    SECTION_JWT, SECTION_LEGACY_JWT, SignOptions, compute_hash, embed_claims, extract_claims_at, find_token,
    sign_component, strip_claims,
};

use crate::support::{NOW, account, fixed_claims, module_key, small_module, wat, with_custom};

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

/// Runs every entry point on `token`; all must fail.
fn token_fails(token: &str) -> ErrorKind {
    let err = Claims::<Component>::decode(token).unwrap_err();
    assert!(validate_token::<Component>(token).is_err(), "{token}");
    err.into_kind()
}

#[test]
fn tokens_without_three_segments() {
    for token in ["", ".", "abc", "a.b", "a.b.c.d", "....", "a..b.c"] {
        assert!(
            matches!(token_fails(token), ErrorKind::InvalidTokenFormat { .. }),
            "{token:?}"
        );
    }
}

#[test]
fn segments_that_are_not_base64_or_json() {
    let header = b64(r#"{"typ":"jwt","alg":"Ed25519"}"#);
    let claims = b64(&serde_json::to_string(&fixed_claims()).unwrap());
    let good = fixed_claims().encode(&account()).unwrap();
    let sig = good.split('.').nth(2).unwrap().to_string();
    let cases = [
        format!("!!!.{claims}.{sig}"),
        format!("{header}=.{claims}.{sig}"),
        format!("{header}.{claims}=.{sig}"),
        format!("{header}.{claims}.{sig}="),
        format!("{header}.{claims}.*"),
        format!("{header}.{claims}.é"),
        format!("{}.{claims}.{sig}", b64("not json")),
        format!("{}.{claims}.{sig}", b64("[1,2]")),
        format!("{}.{claims}.{sig}", b64(r#"{"alg":7}"#)),
        format!("{header}.{}.{sig}", b64("{")),
        format!("{header}.{}.{sig}", b64("null")),
        format!("{header}.{}.{sig}", b64(r#"{"jti":"x","iat":"yesterday"}"#)),
        format!("{header}.{}.{sig}", b64(r#"{"jti":"x","iat":-1}"#)),
        format!("{header}.{}.{sig}", b64(r#"{"jti":"x","iat":1,"wascap":7}"#)),
        format!("{header}.{}.{sig}", b64("\u{fffd}")),
        format!("{header}.{}.{sig}", URL_SAFE_NO_PAD.encode([0xff, 0xfe])),
    ];
    for token in &cases {
        assert!(
            matches!(token_fails(token), ErrorKind::InvalidTokenFormat { .. }),
            "{token}"
        );
    }
}

#[test]
fn signatures_of_the_wrong_length() {
    let good = fixed_claims().encode(&account()).unwrap();
    let (input, _) = good.rsplit_once('.').unwrap();
    for sig in ["", "AAAA", &URL_SAFE_NO_PAD.encode([0u8; 65])] {
        let token = format!("{input}.{sig}");
        assert_eq!(
            Claims::<Component>::decode(&token).unwrap_err().kind(),
            &ErrorKind::InvalidSignature
        );
        assert!(!validate_token::<Component>(&token).unwrap().signature_valid);
    }
}

#[test]
fn huge_and_odd_tokens() {
    let long = "a".repeat(1 << 20);
    token_fails(&long);
    token_fails(&format!("{long}.{long}.{long}"));
    token_fails("\0.\0.\0");
    token_fails("🦀.🦀.🦀");
}

/// A JPEG/JFIF file header.
const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
    0x00, 0xFF, 0xDB,
];

fn wasm_fails(wasm: &[u8]) -> ErrorKind {
    let err = extract_claims_at(wasm, NOW).unwrap_err();
    assert!(strip_claims(wasm).is_err() || find_token(wasm).is_err());
    err.into_kind()
}

#[test]
fn not_wasm() {
    for input in [&b""[..], JPEG, b"(module)", b"\0as", b"asm\0\x01\0\0\0"] {
        assert_eq!(wasm_fails(input), ErrorKind::NotWasm, "{input:?}");
        assert_eq!(compute_hash(input).unwrap_err().kind(), &ErrorKind::NotWasm);
        assert!(sign_component(input, &account(), &module_key(), &SignOptions::default()).is_err());
    }
}

#[test]
fn broken_wasm() {
    let module = small_module();
    let mut trailing = module.clone();
    trailing.push(0x00);
    // A custom section claiming 4 GiB of content.
    let mut oversized = module.clone();
    oversized.extend_from_slice(&[0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, b'x']);
    let mut bad_version = module.clone();
    bad_version[4] = 2;
    // Two modules glued together.
    let mut doubled = module.clone();
    doubled.extend_from_slice(&module);
    for input in [
        &b"\0asm"[..],
        b"\0asm\x01\0\0",
        &trailing,
        &oversized,
        &bad_version,
        &doubled,
    ] {
        assert!(matches!(wasm_fails(input), ErrorKind::InvalidWasm { .. }), "{input:?}");
    }
}

/// Every proper prefix of `signed` is an error, or unsigned at a section boundary.
fn check_prefixes(signed: &[u8]) {
    let mut unsigned_prefixes = 0;
    for len in 0..signed.len() {
        let prefix = &signed[..len];
        match extract_claims_at(prefix, NOW) {
            Err(_) => {}
            Ok(None) => unsigned_prefixes += 1,
            Ok(Some(_)) => panic!("prefix of {len} bytes extracted claims"),
        }
        let _ = strip_claims(prefix);
        let _ = find_token(prefix);
    }
    assert!(unsigned_prefixes > 0, "the unsigned original is a prefix");
    assert!(extract_claims_at(signed, NOW).unwrap().is_some());
}

#[test]
fn truncated_signed_module_at_every_length() {
    check_prefixes(&embed_claims(&small_module(), &fixed_claims(), &account()).unwrap());
}

#[test]
fn truncated_signed_component_at_every_length() {
    let component = wat(r#"(component
        (core module $m (func (export "f") (result i32) i32.const 1))
        (core instance (instantiate $m)))"#);
    check_prefixes(&embed_claims(&component, &fixed_claims(), &account()).unwrap());
}

#[test]
fn every_single_byte_corruption() {
    let signed = embed_claims(&small_module(), &fixed_claims(), &account()).unwrap();
    for at in 0..signed.len() {
        for mask in [0x01, 0x80, 0xff] {
            let mut corrupt = signed.clone();
            corrupt[at] ^= mask;
            // Anything may come out but a panic; a valid token must still verify.
            if let Ok(Some(token)) = extract_claims_at(&corrupt, NOW) {
                assert!(Claims::<Component>::decode(&token.jwt).is_ok());
            }
        }
    }
}

#[test]
fn duplicate_claims_sections() {
    let signed = embed_claims(&small_module(), &fixed_claims(), &account()).unwrap();
    let jwt = find_token(&signed).unwrap().unwrap();
    for second in [SECTION_JWT, SECTION_LEGACY_JWT] {
        let doubled = with_custom(signed.clone(), second, jwt.as_bytes());
        assert_eq!(wasm_fails_extract(&doubled), ErrorKind::DuplicateClaimsSection);
        assert_eq!(
            find_token(&doubled).unwrap_err().kind(),
            &ErrorKind::DuplicateClaimsSection
        );
        // Re-signing cleans it up.
        let resigned = embed_claims(&doubled, &fixed_claims(), &account()).unwrap();
        assert!(extract_claims_at(&resigned, NOW).unwrap().is_some());
    }
    let two_legacy = with_custom(
        with_custom(small_module(), SECTION_LEGACY_JWT, jwt.as_bytes()),
        SECTION_LEGACY_JWT,
        jwt.as_bytes(),
    );
    assert_eq!(wasm_fails_extract(&two_legacy), ErrorKind::DuplicateClaimsSection);
}

fn wasm_fails_extract(wasm: &[u8]) -> ErrorKind {
    extract_claims_at(wasm, NOW).unwrap_err().into_kind()
}

#[test]
fn claims_sections_with_bad_content() {
    for data in [&b"\xff\xfe"[..], b"", b"not a token", b"a.b.c"] {
        let wasm = with_custom(small_module(), SECTION_JWT, data);
        assert!(
            matches!(wasm_fails_extract(&wasm), ErrorKind::InvalidTokenFormat { .. }),
            "{data:?}"
        );
    }
    // A valid token of the wrong entity kind.
    let op = nkeys::KeyPair::new_operator();
    let account_claims = Claims::new(
        op.public_key(),
        account().public_key(),
        lattice_claims::jwt::Account::default(),
    );
    let wasm = with_custom(
        small_module(),
        SECTION_JWT,
        account_claims.encode(&op).unwrap().as_bytes(),
    );
    assert!(matches!(wasm_fails_extract(&wasm), ErrorKind::WrongKeyType { .. }));
}
