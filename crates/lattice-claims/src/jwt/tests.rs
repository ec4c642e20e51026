//! Unit tests of token encoding and decoding internals; wire-level cases live in `tests/it`.

use super::*;

fn component_claims(issuer: &KeyPair, subject: &KeyPair) -> Claims<Component> {
    Claims::new(
        issuer.public_key(),
        subject.public_key(),
        Component {
            name: Some("test".into()),
            ..Component::default()
        },
    )
}

#[test]
fn roundtrip() {
    let account = KeyPair::new_account();
    let module = KeyPair::new_module();
    let claims = component_claims(&account, &module);
    let jwt = claims.encode(&account).unwrap();
    assert!(jwt.starts_with("eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0."));
    assert_eq!(Claims::<Component>::decode(&jwt).unwrap(), claims);
    assert_eq!(claims.name(), "test");
}

#[test]
fn new_sets_revision_and_fresh_id() {
    let a = Claims::new("A".into(), "M".into(), Component::default());
    let b = Claims::new("A".into(), "M".into(), Component::default());
    assert_eq!(a.wascap_revision, Some(WASCAP_REVISION));
    assert_ne!(a.id, b.id);
    assert_eq!(a.id.len(), 22);
}

#[test]
fn check_times_boundaries() {
    let mut c = Claims::new("A".into(), "M".into(), Component::default());
    c.expires = Some(100);
    c.not_before = Some(50);
    assert!(c.check_times(100).is_ok());
    assert!(c.check_times(50).is_ok());
    assert_eq!(c.check_times(101).unwrap_err().kind(), &ErrorKind::Expired { at: 100 });
    assert_eq!(
        c.check_times(49).unwrap_err().kind(),
        &ErrorKind::NotYetValid { from: 50 }
    );
}

#[test]
fn public_only_issuer_cannot_sign() {
    let account = KeyPair::new_account();
    let public = KeyPair::from_public_key(&account.public_key()).unwrap();
    let claims = component_claims(&account, &KeyPair::new_module());
    assert_eq!(claims.encode(&public).unwrap_err().kind(), &ErrorKind::MissingSeed);
}

#[test]
fn validation_defaults() {
    let v = TokenValidation::default();
    assert_eq!(v.expires_human, "never");
    assert_eq!(v.not_before_human, "immediately");
}
