//! Tokens produced by upstream wascap (wasmCloud, waSCC) decode, verify and re-encode identically.
//!
//! The tokens are public test data from wasmCloud and waSCC repositories; they carry
//! no secrets.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lattice_claims::jwt::{Account, CapabilityProvider, Claims, Component, validate_token};

/// A revision-3 component token written by wascap 0.1x (wasmCloud secrets tests).
const COMPONENT_V3: &str = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJqdGkiOiJxdmVOakZjcW51dWhQaVJUMkU1YWJXIiwiaWF0IjoxNzIxODM0ODg5LCJpc3MiOiJBQk9HQjRXNURPWDNVTzNSVldXUUdZU01WWEhSUFFZWFZaUDVVNFZGTUpEQ1lDV0FSN1M1Q1lNTyIsInN1YiI6Ik1DNUNDNFVENUxQRFo0QzdaTkFFQTRPWlEzQkVGTFNWUTc0MlczVEVUM09OS1M0RFJCVk5NNUlDIiwid2FzY2FwIjp7Im5hbWUiOiJodHRwLWhlbGxvLXdvcmxkIiwiaGFzaCI6IkNFOTAxOTJDOTlDMEIyQzYwOEIyRTJDQjYxOUE5MjUxRkI2ODE4NTZDMTU2ODFCMUJDRDYyRUVEQTJENTEyOEUiLCJ0YWdzIjpbIndhc21jbG91ZC5jb20vZXhwZXJpbWVudGFsIl0sInJldiI6MCwidmVyIjoiMC4xLjAiLCJwcm92IjpmYWxzZX0sIndhc2NhcF9yZXZpc2lvbiI6M30.8awbkvrBnRKLpz88s7GXYCW0onpKf_nNfsj7pXhCyvq8pm4y2IotrIPCdBvWqDvDouX4VAM6DQQUHuI-VdKYAA";

/// Another revision-3 token from the same tests whose signature does not verify (checked
/// independently of this crate): the fixture was evidently edited after signing.
const COMPONENT_V3_BAD_SIGNATURE: &str = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJqdGkiOiJsbmNvcG9zdkd0eE5mYWptOFpxQklIIiwiaWF0IjoxNzE0NTA2NTA5LCJpc3MiOiJBRFZJV0Y2WjNCRlpOV1VYSllUNU5FQVpaMllYNFQ2TlJLSTNZT1IzSEtPU1FRTjdJVkRHV1NOTyIsInN1YiI6Ik1CRkZWTkdGSzNJQTJaWFhHNURRWFFOWU02VE5HNDVQSEpNSklKRlZGSTZZS1MzWFRYTDNEUlJLIiwid2FzY2FwIjp7Im5hbWUiOiJodHRwLWhlbGxvLXdvcmxkIiwiaGFzaCI6IjI4NERDMDU3MEFCREVBODk2NjFFMzc5MjFEQ0Y4NkJDQ0RFQzk5RDQwNTBBRTEzMzUyNDNCQUNCODM0NTk3QkIiLCJ0YWdzIjpbIndhc21jbG91ZC5jb20vZXhwZXJpbWVudGFsIl0sInJldiI6MCwidmVyIjoiMC4xLjAiLCJwcm92IjpmYWxzZX0sIndhc2NhcF9yZXZpc2lvbiI6M30.SadmUTbEWISlEiITqIWPVdefBz3BdWq8WerXxW8LwaLBpbQ9eP6nykaEBPAzWYhsLaALoFTGNtxg_MjoLiL4Cg";

/// A pre-revision actor token with the legacy `caps` field (wasmCloud wascap's own tests).
const ACTOR_WITH_CAPS: &str = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJqdGkiOiJTakI1Zm05NzRTanU5V01nVFVjaHNiIiwiaWF0IjoxNjQ0ODQzNzQzLCJpc3MiOiJBQ09KSk42V1VQNE9ERDc1WEVCS0tUQ0NVSkpDWTVaS1E1NlhWS1lLNEJFSldHVkFPT1FIWk1DVyIsInN1YiI6Ik1CQ0ZPUE02SlcyQVBKTFhKRDNaNU80Q043Q1BZSjJCNEZUS0xKVVI1WVI1TUlUSVU3SEQzV0Q1Iiwid2FzY2FwIjp7Im5hbWUiOiJFY2hvIiwiaGFzaCI6IjRDRUM2NzNBN0RDQ0VBNkE0MTY1QkIxOTU4MzJDNzkzNjQ3MUNGN0FCNDUwMUY4MzdGOEQ2NzlGNDQwMEJDOTciLCJ0YWdzIjpbXSwiY2FwcyI6WyJ3YXNtY2xvdWQ6aHR0cHNlcnZlciJdLCJyZXYiOjQsInZlciI6IjAuMy40IiwicHJvdiI6ZmFsc2V9fQ.ZWyD6VQqzaYM1beD2x9Fdw4o_Bavy3ZG703Eg4cjhyJwUKLDUiVPVhqHFE6IXdV4cW6j93YbMT6VGq5iBDWmAg";

/// An account token issued by an operator (waSCC).
const ACCOUNT: &str = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJqdGkiOiJtdmJ0eDZsU2RpRm9CQjNnWmU3UmR1IiwiaWF0IjoxNTg0OTkyMDAzLCJpc3MiOiJPQVdFVFBCNFE2N01PT0ZNUDVZTlhZQlEzUE0zSzJWWFlEVVZLVUcyQU9MUlI1RTc0SjNDSVhBSiIsInN1YiI6IkFDT0pKTjZXVVA0T0RENzVYRUJLS1RDQ1VKSkNZNVpLUTU2WFZLWUs0QkVKV0dWQU9PUUhaTUNXIiwid2FzY2FwIjp7Im5hbWUiOiJ3YVNDQyBPZmZpY2lhbCIsInZhbGlkX3NpZ25lcnMiOltdfX0.wFQ6_t6wGQ9NmE-uRRgOUAo2b18MlDHUAquHpoXyT5WKDdPNct5uRYhD-1zV4q7Is5bjGjYPRhnf7NCEsmCtBA";

/// A capability provider token with the legacy `capid` field (waSCC).
const PROVIDER: &str = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.eyJqdGkiOiJwblFiaWN2b2tmaU5kTllrTHZQYVAzIiwiaWF0IjoxNjAyODczNDg2LCJpc3MiOiJBQ09KSk42V1VQNE9ERDc1WEVCS0tUQ0NVSkpDWTVaS1E1NlhWS1lLNEJFSldHVkFPT1FIWk1DVyIsInN1YiI6IlZESFBLR0ZLREkzNFk0Uk40UFdXWkhSWVo2MzczSFlSU05ORU00VVRETExPR081QjM3VFNWUkVQIiwid2FzY2FwIjp7Im5hbWUiOiJ3YVNDQyBFeHRyYXMiLCJjYXBpZCI6Indhc2NjOmV4dHJhcyIsInZlbmRvciI6IkV4dHJhcyIsInRhcmdldF9oYXNoZXMiOnt9fX0.LLXkiH6-8xIH42yR9ACXDFaTlpVPLZdr6tzRjLJiNQafPY3bTTazwlFJpPlYpDk6hJxwuV9-OsPvZ1ZcxVyZDQ";

fn claims_segment(jwt: &str) -> &str {
    jwt.split('.').nth(1).unwrap()
}

#[test]
fn component_v3_decodes_and_reencodes_byte_for_byte() {
    let claims = Claims::<Component>::decode(COMPONENT_V3).unwrap();
    assert_eq!(claims.id, "qveNjFcqnuuhPiRT2E5abW");
    assert_eq!(claims.issued_at, 1_721_834_889);
    assert_eq!(
        claims.issuer,
        "ABOGB4W5DOX3UO3RVWWQGYSMVXHRPQYXVZP5U4VFMJDCYCWAR7S5CYMO"
    );
    assert_eq!(
        claims.subject,
        "MC5CC4UD5LPDZ4C7ZNAEA4OZQ3BEFLSVQ742W3TET3ONKS4DRBVNM5IC"
    );
    assert_eq!(claims.wascap_revision, Some(3));
    let meta = claims.metadata.as_ref().unwrap();
    assert_eq!(meta.name.as_deref(), Some("http-hello-world"));
    assert_eq!(
        meta.module_hash,
        "CE90192C99C0B2C608B2E2CB619A9251FB681856C15681B1BCD62EEDA2D5128E"
    );
    assert_eq!(meta.tags, Some(vec!["wasmcloud.com/experimental".to_string()]));
    assert_eq!((meta.rev, meta.ver.as_deref()), (Some(0), Some("0.1.0")));
    assert!(!meta.provider);

    // Our serialization of the same claims is exactly upstream's.
    let ours = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    assert_eq!(ours, claims_segment(COMPONENT_V3));

    let v = validate_token::<Component>(COMPONENT_V3).unwrap();
    assert!(v.signature_valid && !v.expired && !v.cannot_use_yet);
}

#[test]
fn legacy_caps_field_is_ignored() {
    let claims = Claims::<Component>::decode(ACTOR_WITH_CAPS).unwrap();
    let meta = claims.metadata.unwrap();
    assert_eq!(meta.name.as_deref(), Some("Echo"));
    assert_eq!(meta.rev, Some(4));
    assert_eq!(meta.tags, Some(vec![]));
    assert_eq!(claims.wascap_revision, None);
}

#[test]
fn account_decodes_and_reencodes_byte_for_byte() {
    let claims = Claims::<Account>::decode(ACCOUNT).unwrap();
    assert_eq!(
        claims.issuer,
        "OAWETPB4Q67MOOFMP5YNXYBQ3PM3K2VXYDUVKUG2AOLRR5E74J3CIXAJ"
    );
    let meta = claims.metadata.as_ref().unwrap();
    assert_eq!(meta.name.as_deref(), Some("waSCC Official"));
    assert_eq!(meta.valid_signers, Some(vec![]));
    let ours = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    assert_eq!(ours, claims_segment(ACCOUNT));
}

#[test]
fn provider_decodes() {
    let claims = Claims::<CapabilityProvider>::decode(PROVIDER).unwrap();
    let meta = claims.metadata.unwrap();
    assert_eq!(meta.name.as_deref(), Some("waSCC Extras"));
    assert_eq!(meta.vendor, "Extras");
    assert!(meta.target_hashes.is_empty());
    assert!(validate_token::<CapabilityProvider>(PROVIDER).unwrap().signature_valid);
}

#[test]
fn upstream_tokens_are_typed() {
    // An account token is not a component token, and vice versa.
    assert!(Claims::<Component>::decode(ACCOUNT).is_err());
    assert!(Claims::<Account>::decode(COMPONENT_V3).is_err());
    assert!(Claims::<Component>::decode(PROVIDER).is_err());
}

#[test]
fn upstream_token_with_a_bad_signature_is_rejected() {
    let err = Claims::<Component>::decode(COMPONENT_V3_BAD_SIGNATURE).unwrap_err();
    assert_eq!(err.kind(), &lattice_claims::ErrorKind::InvalidSignature);
    let v = validate_token::<Component>(COMPONENT_V3_BAD_SIGNATURE).unwrap();
    assert!(!v.signature_valid);
}
