//! Token wire format: header, claims JSON, signatures and time validation.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use expect_test::expect;
use lattice_claims::ErrorKind;
use lattice_claims::jwt::{Account, Claims, Component, Host, validate_token, validate_token_at};
use nkeys::KeyPair;

use crate::support::{NOW, account, fixed_claims, operator};

/// `base64url({"typ":"jwt","alg":"Ed25519"})`, the same for every wascap token.
const HEADER_SEGMENT: &str = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0";

/// Builds a token from raw JSON, signed by `kp`, bypassing [`Claims::encode`]'s checks.
pub fn sign_raw(header_json: &str, claims_json: &str, kp: &KeyPair) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(claims_json)
    );
    let sig = kp.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn segment_json(jwt: &str, index: usize) -> String {
    let seg = jwt.split('.').nth(index).unwrap();
    String::from_utf8(URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
}

#[test]
fn header_is_fixed() {
    let jwt = fixed_claims().encode(&account()).unwrap();
    assert_eq!(jwt.split('.').next().unwrap(), HEADER_SEGMENT);
    assert_eq!(segment_json(&jwt, 0), r#"{"typ":"jwt","alg":"Ed25519"}"#);
    assert!(!jwt.contains('='), "segments are unpadded");
}

#[test]
fn claims_json_snapshot() {
    let json = serde_json::to_string_pretty(&fixed_claims()).unwrap();
    expect![[r#"
        {
          "jti": "V9uKWsoH5tB3bGYMxBWXaW",
          "iat": 1700000000,
          "iss": "ACFIRY65OQE7DFP5KLNS2PF2LVZMUZYJX4OZIEQ36N2IQANUB5XVYYOU",
          "sub": "MCATS5YOVB6ROX2WUNKGNQ2MP3GMXDMKSG2O4N5CLX3A6W4PZGZZJPUL",
          "wascap": {
            "name": "answer",
            "hash": "",
            "tags": [
              "test"
            ],
            "rev": 1,
            "ver": "0.1.0",
            "prov": false
          },
          "wascap_revision": 3
        }"#]]
    .assert_eq(&json);
}

#[test]
fn claims_segment_is_compact_json_with_times() {
    let mut claims = fixed_claims();
    claims.expires = Some(NOW + 86_400);
    claims.not_before = Some(NOW - 60);
    let jwt = claims.encode(&account()).unwrap();
    expect![[r#"{"exp":1700086400,"jti":"V9uKWsoH5tB3bGYMxBWXaW","iat":1700000000,"iss":"ACFIRY65OQE7DFP5KLNS2PF2LVZMUZYJX4OZIEQ36N2IQANUB5XVYYOU","sub":"MCATS5YOVB6ROX2WUNKGNQ2MP3GMXDMKSG2O4N5CLX3A6W4PZGZZJPUL","nbf":1699999940,"wascap":{"name":"answer","hash":"","tags":["test"],"rev":1,"ver":"0.1.0","prov":false},"wascap_revision":3}"#]]
    .assert_eq(&segment_json(&jwt, 1));
}

#[test]
fn fixed_component_token_vector() {
    // Ed25519 is deterministic: fixed keys and claims give a fixed token.
    let jwt = fixed_claims().encode(&account()).unwrap();
    expect!["eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJqdGkiOiJWOXVLV3NvSDV0QjNiR1lNeEJXWGFXIiwiaWF0IjoxNzAwMDAwMDAwLCJpc3MiOiJBQ0ZJUlk2NU9RRTdERlA1S0xOUzJQRjJMVlpNVVpZSlg0T1pJRVEzNk4ySVFBTlVCNVhWWVlPVSIsInN1YiI6Ik1DQVRTNVlPVkI2Uk9YMldVTktHTlEyTVAzR01YRE1LU0cyTzRONUNMWDNBNlc0UFpHWlpKUFVMIiwid2FzY2FwIjp7Im5hbWUiOiJhbnN3ZXIiLCJoYXNoIjoiIiwidGFncyI6WyJ0ZXN0Il0sInJldiI6MSwidmVyIjoiMC4xLjAiLCJwcm92IjpmYWxzZX0sIndhc2NhcF9yZXZpc2lvbiI6M30.qQlukQFbEYZpYTddrdVcyPC-uX5Yt_UdNWqVJhUpCSRbsd2CQT9m1Fa5eHvefkYWet6ew-NQfrVdoq2rpKNPDA"].assert_eq(&jwt);
    assert_eq!(Claims::<Component>::decode(&jwt).unwrap(), fixed_claims());
}

#[test]
fn fixed_account_token_vector() {
    let op = operator();
    let claims = Claims {
        expires: None,
        id: "S1HlDgeWT4QHMiq3r8wDN4".to_string(),
        issued_at: NOW,
        issuer: op.public_key(),
        subject: account().public_key(),
        not_before: None,
        metadata: Some(Account {
            name: Some("acme".to_string()),
            valid_signers: Some(vec![]),
        }),
        wascap_revision: Some(3),
    };
    let jwt = claims.encode(&op).unwrap();
    expect!["eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJqdGkiOiJTMUhsRGdlV1Q0UUhNaXEzcjh3RE40IiwiaWF0IjoxNzAwMDAwMDAwLCJpc3MiOiJPRFdVU0tHR0ZESTRGUlhLNUVCVFJFQ1pTVlFTU1dKSEhKT0dINkpXRzNBVU1GRk1RNDM1RElMRiIsInN1YiI6IkFDRklSWTY1T1FFN0RGUDVLTE5TMlBGMkxWWk1VWllKWDRPWklFUTM2TjJJUUFOVUI1WFZZWU9VIiwid2FzY2FwIjp7Im5hbWUiOiJhY21lIiwidmFsaWRfc2lnbmVycyI6W119LCJ3YXNjYXBfcmV2aXNpb24iOjN9.7H-a5zkbl8eoVymGLibMoT_ytmegeRSPsj2Q9q5zxmAKlHgFg0tcUd9ASU4omiJZW-unGWh7fOvKLwqptkLgCA"].assert_eq(&jwt);
    assert_eq!(Claims::<Account>::decode(&jwt).unwrap(), claims);
}

#[test]
fn none_fields_are_omitted() {
    let kp = account();
    let host = KeyPair::new_server();
    let claims = Claims::new(kp.public_key(), host.public_key(), Host::default());
    let jwt = claims.encode(&kp).unwrap();
    let json = segment_json(&jwt, 1);
    assert!(!json.contains("exp"), "{json}");
    assert!(!json.contains("nbf"), "{json}");
    assert!(json.contains(r#""wascap":{}"#), "{json}");
    let mut bare = claims;
    bare.metadata = None;
    bare.wascap_revision = None;
    let json = segment_json(&bare.encode(&kp).unwrap(), 1);
    assert!(!json.contains("wascap"), "{json}");
}

#[test]
fn tampered_claims_fail_signature() {
    let jwt = fixed_claims().encode(&account()).unwrap();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    let json = segment_json(&jwt, 1).replace("answer", "ANSWER");
    parts[1] = URL_SAFE_NO_PAD.encode(json);
    let forged = parts.join(".");
    let err = Claims::<Component>::decode(&forged).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidSignature);
    let v = validate_token::<Component>(&forged).unwrap();
    assert!(!v.signature_valid);
}

#[test]
fn signature_by_another_account_is_rejected() {
    let claims = fixed_claims();
    let other = KeyPair::new_account();
    let claims_json = serde_json::to_string(&claims).unwrap();
    let jwt = sign_raw(r#"{"typ":"jwt","alg":"Ed25519"}"#, &claims_json, &other);
    assert_eq!(
        Claims::<Component>::decode(&jwt).unwrap_err().kind(),
        &ErrorKind::InvalidSignature
    );
}

#[test]
fn header_fields_are_checked() {
    let kp = account();
    let claims_json = serde_json::to_string(&fixed_claims()).unwrap();
    let cases = [
        (
            r#"{"typ":"jwt","alg":"HS256"}"#,
            ErrorKind::InvalidAlgorithm { found: "HS256".into() },
        ),
        (
            r#"{"typ":"jwt","alg":"ed25519"}"#,
            ErrorKind::InvalidAlgorithm {
                found: "ed25519".into(),
            },
        ),
        (r#"{"typ":"jwt"}"#, ErrorKind::InvalidAlgorithm { found: "".into() }),
        (
            r#"{"typ":"JWT","alg":"Ed25519"}"#,
            ErrorKind::InvalidTokenType { found: "JWT".into() },
        ),
    ];
    for (header, expected) in cases {
        let jwt = sign_raw(header, &claims_json, &kp);
        let err = Claims::<Component>::decode(&jwt).unwrap_err();
        assert_eq!(err.kind(), &expected, "{header}");
        let err = validate_token::<Component>(&jwt).unwrap_err();
        assert_eq!(err.kind(), &expected, "{header}");
    }
    // Extra header fields are tolerated.
    let jwt = sign_raw(r#"{"typ":"jwt","alg":"Ed25519","kid":"x"}"#, &claims_json, &kp);
    assert!(Claims::<Component>::decode(&jwt).is_ok());
}

#[test]
fn missing_issuer_and_subject() {
    let kp = account();
    for (json, expected) in [
        (
            r#"{"jti":"x","iat":1,"sub":"MCATS5YOVB6ROX2WUNKGNQ2MP3GMXDMKSG2O4N5CLX3A6W4PZGZZJPUL"}"#,
            ErrorKind::MissingIssuer,
        ),
        (r#"{"jti":"x","iat":1,"iss":"","sub":"M"}"#, ErrorKind::MissingIssuer),
        (
            r#"{"jti":"x","iat":1,"iss":"ACFIRY65OQE7DFP5KLNS2PF2LVZMUZYJX4OZIEQ36N2IQANUB5XVYYOU"}"#,
            ErrorKind::MissingSubject,
        ),
    ] {
        let jwt = sign_raw(r#"{"typ":"jwt","alg":"Ed25519"}"#, json, &kp);
        assert_eq!(Claims::<Component>::decode(&jwt).unwrap_err().kind(), &expected);
    }
    let mut claims = fixed_claims();
    claims.subject.clear();
    assert_eq!(claims.encode(&kp).unwrap_err().kind(), &ErrorKind::MissingSubject);
}

#[test]
fn validation_reports_times() {
    let kp = account();
    let mut claims = fixed_claims();
    let jwt = claims.encode(&kp).unwrap();
    let v = validate_token_at::<Component>(&jwt, NOW).unwrap();
    assert!(v.signature_valid && !v.expired && !v.cannot_use_yet);
    assert_eq!(v.expires_human, "never");
    assert_eq!(v.not_before_human, "immediately");

    claims.expires = Some(NOW - 30_000);
    claims.not_before = Some(NOW - 3 * 86_400);
    let v = validate_token_at::<Component>(&claims.encode(&kp).unwrap(), NOW).unwrap();
    assert!(v.signature_valid && v.expired && !v.cannot_use_yet);
    assert_eq!(v.expires_human, "8 hours ago");
    assert_eq!(v.not_before_human, "3 days ago");

    claims.expires = Some(NOW + 2 * 86_400);
    claims.not_before = Some(NOW + 1_000);
    let v = validate_token_at::<Component>(&claims.encode(&kp).unwrap(), NOW).unwrap();
    assert!(!v.expired && v.cannot_use_yet);
    assert_eq!(v.expires_human, "in 2 days");
    assert_eq!(v.not_before_human, "in 16 minutes");
}

#[test]
fn decode_does_not_check_times() {
    let mut claims = fixed_claims();
    claims.expires = Some(1);
    claims.not_before = Some(u64::MAX);
    let jwt = claims.encode(&account()).unwrap();
    let decoded = Claims::<Component>::decode(&jwt).unwrap();
    assert_eq!(
        decoded.check_times(NOW).unwrap_err().kind(),
        &ErrorKind::Expired { at: 1 }
    );
}

#[test]
fn error_messages() {
    let mut claims = fixed_claims();
    claims.expires = Some(NOW);
    expect!["the token expired at 2023-11-14 22:13:20 UTC; sign it again with a later expiry"]
        .assert_eq(&claims.check_times(NOW + 1).unwrap_err().to_string());
    claims.expires = None;
    claims.not_before = Some(NOW);
    expect!["the token cannot be used before 2023-11-14 22:13:20 UTC"]
        .assert_eq(&claims.check_times(NOW - 1).unwrap_err().to_string());
    let err = Claims::<Component>::decode("abc").unwrap_err();
    expect!["invalid token format: expected 3 segments, found 1; a wascap token is three base64url (unpadded) segments separated by dots"]
        .assert_eq(&err.to_string());
}
