//! Embedding and extracting claims in modules and components: layout, hashes, times and re-signing.

use expect_test::expect;
use lattice_claims::ErrorKind;
use lattice_claims::jwt::{Claims, Component, validate_token_at};
use lattice_claims::wasm::{
    SECTION_JWT, SignOptions, compute_hash, embed_claims, extract_claims, extract_claims_at, find_token,
    sign_component, strip_claims,
};
use nkeys::KeyPair;

use crate::support::{NOW, account, custom_sections, fixed_claims, layout, module_key, small_module, wat, with_custom};

fn signed_fixed() -> Vec<u8> {
    embed_claims(&small_module(), &fixed_claims(), &account()).unwrap()
}

#[test]
fn fixed_vector() {
    let module = small_module();
    let signed = signed_fixed();

    // The input is canonical, so the signed output is exactly input + one custom section.
    assert!(signed.starts_with(&module));
    let token = extract_claims_at(&signed, NOW).unwrap().unwrap();
    let mut expected_tail = Vec::new();
    wasm_encoder::Section::append_to(
        &wasm_encoder::CustomSection {
            name: SECTION_JWT.into(),
            data: token.jwt.as_bytes().into(),
        },
        &mut expected_tail,
    );
    assert_eq!(&signed[module.len()..], expected_tail.as_slice());

    expect![[r#"
        version Module
        section 1 (5 bytes)
        section 3 (2 bytes)
        section 5 (3 bytes)
        section 7 (10 bytes)
        section 10 (6 bytes)
        section 11 (11 bytes)
        custom "wasmcloud_jwt" (595 bytes)
    "#]]
    .assert_eq(&layout(&signed));
    expect!["8BD2FCA3A61CA51CCB8D94BF20C277BA87BD0440D80E2A7E3D5B1533C20DC374"]
        .assert_eq(&compute_hash(&module).unwrap());
    expect!["eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJqdGkiOiJWOXVLV3NvSDV0QjNiR1lNeEJXWGFXIiwiaWF0IjoxNzAwMDAwMDAwLCJpc3MiOiJBQ0ZJUlk2NU9RRTdERlA1S0xOUzJQRjJMVlpNVVpZSlg0T1pJRVEzNk4ySVFBTlVCNVhWWVlPVSIsInN1YiI6Ik1DQVRTNVlPVkI2Uk9YMldVTktHTlEyTVAzR01YRE1LU0cyTzRONUNMWDNBNlc0UFpHWlpKUFVMIiwid2FzY2FwIjp7Im5hbWUiOiJhbnN3ZXIiLCJoYXNoIjoiOEJEMkZDQTNBNjFDQTUxQ0NCOEQ5NEJGMjBDMjc3QkE4N0JEMDQ0MEQ4MEUyQTdFM0Q1QjE1MzNDMjBEQzM3NCIsInRhZ3MiOlsidGVzdCJdLCJyZXYiOjEsInZlciI6IjAuMS4wIiwicHJvdiI6ZmFsc2V9LCJ3YXNjYXBfcmV2aXNpb24iOjN9.sYho1_BoYlZuzIDlGA9YCXN8MFlu2ePkowPe3eDmzturYDILB2JOe1NaTC2QoTgdFDHxbt5sHFpNAIydkez0Bw"].assert_eq(&token.jwt);

    let mut claims = fixed_claims();
    claims.metadata.as_mut().unwrap().module_hash = compute_hash(&module).unwrap();
    assert_eq!(token.claims, claims);
    assert_eq!(custom_sections(&signed, SECTION_JWT), vec![token.jwt.into_bytes()]);
}

#[test]
fn strip_undoes_embed() {
    let module = small_module();
    let signed = signed_fixed();
    assert_eq!(strip_claims(&signed).unwrap(), module);
    assert_eq!(compute_hash(&signed).unwrap(), compute_hash(&module).unwrap());
}

#[test]
fn unsigned_is_none() {
    assert_eq!(extract_claims(&small_module()).unwrap(), None);
    assert_eq!(find_token(&small_module()).unwrap(), None);
}

#[test]
fn resigning_replaces_the_token() {
    let signed = signed_fixed();
    let mut claims = fixed_claims();
    claims.id = "another".into();
    let resigned = embed_claims(&signed, &claims, &account()).unwrap();
    assert_eq!(custom_sections(&resigned, SECTION_JWT).len(), 1);
    let token = extract_claims_at(&resigned, NOW).unwrap().unwrap();
    assert_eq!(token.claims.id, "another");
    assert_eq!(find_token(&resigned).unwrap(), Some(token.jwt));
}

/// Position of the `i32.const 42` immediate in the code section.
fn answer_immediate(wasm: &[u8]) -> usize {
    wasm.windows(3)
        .position(|w| w == [0x41, 42, 0x0b])
        .map(|p| p + 1)
        .unwrap()
}

#[test]
fn modified_code_is_detected() {
    let mut signed = signed_fixed();
    let original_hash = compute_hash(&signed).unwrap();
    let at = answer_immediate(&signed);
    signed[at] = 43;
    let err = extract_claims_at(&signed, NOW).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::InvalidModuleHash {
            expected: original_hash,
            actual: compute_hash(&signed).unwrap(),
        }
    );
    assert!(
        err.to_string()
            .starts_with("the component was modified after it was signed")
    );
    assert!(err.to_string().ends_with("sign it again with `wash claims sign`"));
}

#[test]
fn modified_data_is_detected() {
    let mut signed = signed_fixed();
    let at = signed.windows(5).position(|w| w == b"hello").unwrap();
    signed[at] = b'j';
    assert!(matches!(
        extract_claims_at(&signed, NOW).unwrap_err().kind(),
        ErrorKind::InvalidModuleHash { .. }
    ));
}

#[test]
fn older_revisions_skip_the_hash_check() {
    let mut claims = fixed_claims();
    claims.wascap_revision = Some(2);
    let mut signed = embed_claims(&small_module(), &claims, &account()).unwrap();
    let at = answer_immediate(&signed);
    signed[at] = 43;
    assert!(extract_claims_at(&signed, NOW).unwrap().is_some());
    claims.wascap_revision = None;
    let mut signed = embed_claims(&small_module(), &claims, &account()).unwrap();
    let at = answer_immediate(&signed);
    signed[at] = 43;
    assert!(extract_claims_at(&signed, NOW).unwrap().is_some());
}

#[test]
fn legacy_jwt_section_is_read() {
    let module = small_module();
    let mut claims = fixed_claims();
    claims.metadata.as_mut().unwrap().module_hash = compute_hash(&module).unwrap();
    let jwt = claims.encode(&account()).unwrap();
    let signed = with_custom(module, "jwt", jwt.as_bytes());
    let token = extract_claims_at(&signed, NOW).unwrap().unwrap();
    assert_eq!(token.jwt, jwt);
}

#[test]
fn token_in_the_middle_is_found() {
    // Upstream appends, but a tool may move sections: only the token's absence matters for
    // the hash, not its position.
    let unsigned = with_custom(small_module(), "producers", b"\0");
    let mut claims = fixed_claims();
    claims.metadata.as_mut().unwrap().module_hash = compute_hash(&unsigned).unwrap();
    let jwt = claims.encode(&account()).unwrap();
    let signed = with_custom(
        with_custom(small_module(), SECTION_JWT, jwt.as_bytes()),
        "producers",
        b"\0",
    );
    assert_eq!(extract_claims_at(&signed, NOW).unwrap().unwrap().jwt, jwt);
}

#[test]
fn expired_token_is_rejected() {
    let mut claims = fixed_claims();
    claims.expires = Some(NOW - 1);
    let signed = embed_claims(&small_module(), &claims, &account()).unwrap();
    let err = extract_claims_at(&signed, NOW).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Expired { at: NOW - 1 });
    assert!(err.to_string().contains("2023-11-14 22:13:19 UTC"), "{err}");
    // Still visible for inspection.
    assert!(find_token(&signed).unwrap().is_some());
    assert!(extract_claims_at(&signed, NOW - 1).unwrap().is_some());
}

#[test]
fn not_yet_valid_token_is_rejected() {
    let mut claims = fixed_claims();
    claims.not_before = Some(NOW + 60);
    let signed = embed_claims(&small_module(), &claims, &account()).unwrap();
    let err = extract_claims_at(&signed, NOW).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NotYetValid { from: NOW + 60 });
    assert!(err.to_string().contains("2023-11-14 22:14:20 UTC"), "{err}");
    assert!(extract_claims_at(&signed, NOW + 60).unwrap().is_some());
}

#[test]
fn real_clock_extraction() {
    // No exp or nbf: valid whatever the clock says.
    assert!(extract_claims(&signed_fixed()).unwrap().is_some());
}

#[test]
fn token_without_metadata_is_rejected() {
    let module = small_module();
    let mut claims = fixed_claims();
    claims.metadata = None;
    let jwt = claims.encode(&account()).unwrap();
    let signed = with_custom(module, SECTION_JWT, jwt.as_bytes());
    assert_eq!(
        extract_claims_at(&signed, NOW).unwrap_err().kind(),
        &ErrorKind::MissingMetadata
    );
    // embed_claims fills in metadata so the hash is always recorded.
    let signed = embed_claims(&small_module(), &claims, &account()).unwrap();
    let token = extract_claims_at(&signed, NOW).unwrap().unwrap();
    assert_eq!(
        token.claims.metadata.unwrap().module_hash,
        compute_hash(&small_module()).unwrap()
    );
}

#[test]
fn sign_component_sets_options() {
    let opts = SignOptions {
        name: Some("echo".into()),
        tags: vec!["a".into(), "b".into()],
        rev: Some(7),
        ver: Some("1.2.3".into()),
        call_alias: Some("My-Echo".into()),
        expires_in: Some(std::time::Duration::from_secs(3 * 86_400)),
        not_before: Some(std::time::Duration::from_secs(0)),
    };
    let signed = sign_component(&small_module(), &account(), &module_key(), &opts).unwrap();
    let token = find_token(&signed).unwrap().unwrap();
    let claims = Claims::<Component>::decode(&token).unwrap();
    assert_eq!(claims.issuer, account().public_key());
    assert_eq!(claims.subject, module_key().public_key());
    assert_eq!(claims.wascap_revision, Some(3));
    assert_eq!(claims.id.len(), 22);
    let iat = claims.issued_at;
    assert_eq!(claims.expires, Some(iat + 3 * 86_400));
    assert_eq!(claims.not_before, Some(iat));
    let meta = claims.metadata.unwrap();
    assert_eq!(meta.name.as_deref(), Some("echo"));
    assert_eq!(meta.tags, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!((meta.rev, meta.ver.as_deref()), (Some(7), Some("1.2.3")));
    assert_eq!(meta.call_alias.as_deref(), Some("my_echo"));
    assert!(!meta.provider);

    let v = validate_token_at::<Component>(&token, iat).unwrap();
    assert_eq!(v.expires_human, "in 3 days");
    assert!(extract_claims_at(&signed, iat).unwrap().is_some());
}

#[test]
fn sign_component_rejects_wrong_keys() {
    let op = KeyPair::new_operator();
    let err = sign_component(&small_module(), &op, &module_key(), &SignOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::WrongKeyType { .. }), "{err}");
    let err = sign_component(
        &small_module(),
        &account(),
        &KeyPair::new_service(),
        &SignOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::WrongKeyType { .. }), "{err}");
    // The subject needs no seed.
    let public_subject = KeyPair::from_public_key(&module_key().public_key()).unwrap();
    assert!(sign_component(&small_module(), &account(), &public_subject, &SignOptions::default()).is_ok());
}

#[test]
fn components_are_signed_too() {
    let component = wat(r#"(component
        (core module $m (func (export "f")))
        (core instance (instantiate $m)))"#);
    let signed = sign_component(&component, &account(), &module_key(), &SignOptions::default()).unwrap();
    assert!(signed.starts_with(&component));
    expect![[r#"
        version Component
        nested
          version Module
          section 1 (4 bytes)
          section 3 (2 bytes)
          section 7 (5 bytes)
          section 10 (4 bytes)
          custom "name" (4 bytes)
        section 2 (4 bytes)
        custom "component-name" (8 bytes)
        custom "wasmcloud_jwt" (537 bytes)
    "#]]
    .assert_eq(&layout(&signed));
    let token = extract_claims(&signed).unwrap().unwrap();
    assert_eq!(
        token.claims.metadata.unwrap().module_hash,
        compute_hash(&component).unwrap()
    );
}
