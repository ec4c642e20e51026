//! Each entity's issuer and subject key types are enforced when encoding and decoding.

use lattice_claims::jwt::{Account, CapabilityProvider, Claims, Cluster, Component, Host, Operator, WascapEntity};
use lattice_claims::{ErrorKind, KeyRole};
use nkeys::{KeyPair, KeyPairType};

use crate::jwt_format::sign_raw;
use crate::support::key;

const HEADER: &str = r#"{"typ":"jwt","alg":"Ed25519"}"#;

/// Signs and decodes claims of `T` with keys of the kinds its trait names.
fn roundtrip<T: WascapEntity + Default + PartialEq + std::fmt::Debug>() {
    let issuer = key(T::issuer_kind());
    let subject = key(T::subject_kind());
    let claims = Claims::new(issuer.public_key(), subject.public_key(), T::default());
    let jwt = claims.encode(&issuer).unwrap();
    assert_eq!(Claims::<T>::decode(&jwt).unwrap(), claims);
}

#[test]
fn the_kind_table() {
    use KeyPairType as K;
    let table = [
        ("component", Component::issuer_kind(), Component::subject_kind()),
        (
            "provider",
            CapabilityProvider::issuer_kind(),
            CapabilityProvider::subject_kind(),
        ),
        ("account", Account::issuer_kind(), Account::subject_kind()),
        ("operator", Operator::issuer_kind(), Operator::subject_kind()),
        ("cluster", Cluster::issuer_kind(), Cluster::subject_kind()),
        ("host", Host::issuer_kind(), Host::subject_kind()),
    ];
    assert_eq!(
        table,
        [
            ("component", K::Account, K::Module),
            ("provider", K::Account, K::Service),
            ("account", K::Operator, K::Account),
            ("operator", K::Operator, K::Operator),
            ("cluster", K::Cluster, K::Cluster),
            ("host", K::Account, K::Server),
        ]
    );
}

#[test]
fn every_entity_roundtrips_with_its_keys() {
    roundtrip::<Component>();
    roundtrip::<CapabilityProvider>();
    roundtrip::<Account>();
    roundtrip::<Operator>();
    roundtrip::<Cluster>();
    roundtrip::<Host>();
}

#[test]
fn operator_may_sign_itself() {
    let op = KeyPair::new_operator();
    let claims = Claims::new(op.public_key(), op.public_key(), Operator::default());
    let jwt = claims.encode(&op).unwrap();
    assert!(Claims::<Operator>::decode(&jwt).is_ok());
}

#[test]
fn encode_rejects_wrong_issuer_kind() {
    let module = KeyPair::new_module();
    let claims = Claims::new(module.public_key(), module.public_key(), Component::default());
    let err = claims.encode(&module).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::WrongKeyType {
            role: KeyRole::Issuer,
            expected: KeyPairType::Account,
            found: KeyPairType::Module,
        }
    );
    assert_eq!(
        err.to_string(),
        "the issuer is a module (M…) key, but these claims need a account (A…) key"
    );
}

#[test]
fn encode_rejects_wrong_subject_kind() {
    let account = KeyPair::new_account();
    let service = KeyPair::new_service();
    let claims = Claims::new(account.public_key(), service.public_key(), Component::default());
    assert_eq!(
        claims.encode(&account).unwrap_err().kind(),
        &ErrorKind::WrongKeyType {
            role: KeyRole::Subject,
            expected: KeyPairType::Module,
            found: KeyPairType::Service,
        }
    );
    // The same keys are right for a provider.
    let claims = Claims::new(
        account.public_key(),
        service.public_key(),
        CapabilityProvider::default(),
    );
    assert!(claims.encode(&account).is_ok());
}

#[test]
fn encode_rejects_a_signer_that_is_not_the_issuer() {
    let named = KeyPair::new_account();
    let signer = KeyPair::new_account();
    let claims = Claims::new(
        named.public_key(),
        KeyPair::new_module().public_key(),
        Component::default(),
    );
    let err = claims.encode(&signer).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::IssuerMismatch {
            issuer: named.public_key(),
            signer: signer.public_key(),
        }
    );
}

#[test]
fn encode_rejects_invalid_keys() {
    let account = KeyPair::new_account();
    let claims = Claims::new(account.public_key(), "test.wasm".into(), Component::default());
    assert_eq!(
        claims.encode(&account).unwrap_err().kind(),
        &ErrorKind::InvalidKey {
            role: KeyRole::Subject,
            key: "test.wasm".into(),
        }
    );
}

fn raw_claims(iss: &str, sub: &str) -> String {
    format!(r#"{{"jti":"x","iat":1,"iss":"{iss}","sub":"{sub}","wascap":{{"hash":""}}}}"#)
}

#[test]
fn decode_rejects_wrong_issuer_kind() {
    // Validly signed, but by an operator where an account must sign.
    let op = KeyPair::new_operator();
    let module = KeyPair::new_module();
    let jwt = sign_raw(HEADER, &raw_claims(&op.public_key(), &module.public_key()), &op);
    assert_eq!(
        Claims::<Component>::decode(&jwt).unwrap_err().kind(),
        &ErrorKind::WrongKeyType {
            role: KeyRole::Issuer,
            expected: KeyPairType::Account,
            found: KeyPairType::Operator,
        }
    );
    assert!(lattice_claims::jwt::validate_token::<Component>(&jwt).is_err());
}

#[test]
fn decode_rejects_wrong_subject_kind() {
    let account = KeyPair::new_account();
    for subject in [
        KeyPair::new_service(),
        KeyPair::new_server(),
        KeyPair::new_account(),
        KeyPair::new_user(),
    ] {
        let jwt = sign_raw(
            HEADER,
            &raw_claims(&account.public_key(), &subject.public_key()),
            &account,
        );
        let err = Claims::<Component>::decode(&jwt).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::WrongKeyType {
                    role: KeyRole::Subject,
                    expected: KeyPairType::Module,
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn decode_rejects_keys_that_are_not_keys() {
    let account = KeyPair::new_account();
    let module = KeyPair::new_module().public_key();
    // A seed is not a public key, and neither is a key with a broken checksum.
    let seed = account.seed().unwrap();
    let mut broken = account.public_key();
    broken.replace_range(10..11, if &broken[10..11] == "A" { "B" } else { "A" });
    for iss in [seed.as_str(), broken.as_str(), "ACCOUNT", "A"] {
        let jwt = sign_raw(HEADER, &raw_claims(iss, &module), &account);
        assert!(
            matches!(
                Claims::<Component>::decode(&jwt).unwrap_err().kind(),
                ErrorKind::InvalidKey {
                    role: KeyRole::Issuer,
                    ..
                }
            ),
            "{iss}"
        );
    }
}
