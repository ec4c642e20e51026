//! Claims verification on load: signed components run and expose their
//! claims; tampered, expired and not-yet-valid ones are refused with their
//! own error kind; unsigned ones only when signatures are not required;
//! legacy (pre-hash) claims only when allowed; and only listed issuers when
//! issuers are listed.

use std::time::Duration;

use lattice_claims::jwt::{Claims, Component as ComponentMeta};
use lattice_claims::wasm::{SignOptions, embed_claims, find_token, sign_component};
use lattice_runtime::{ErrorKind, Runtime};
use lattice_test_support::guests::{HELLO_HTTP, HTTP_TRAP};

use crate::{body_text, get, guest, runtime, test_limits};

struct Keys {
    account: nkeys::KeyPair,
    module: nkeys::KeyPair,
}

fn keys() -> Keys {
    Keys {
        account: nkeys::KeyPair::new_account(),
        module: nkeys::KeyPair::new_module(),
    }
}

fn signed(opts: &SignOptions) -> (Vec<u8>, Keys) {
    let keys = keys();
    let wasm = sign_component(&guest(HELLO_HTTP), &keys.account, &keys.module, opts).unwrap();
    (wasm, keys)
}

#[tokio::test]
async fn signed_component_is_accepted_with_its_claims() {
    let (wasm, keys) = signed(&SignOptions {
        name: Some("hello".into()),
        ..SignOptions::default()
    });
    let runtime = Runtime::builder()
        .limits(test_limits())
        .require_signed(true)
        .build()
        .unwrap();
    let component = runtime.load("hello", &wasm).unwrap();
    let claims = component.claims().expect("claims recorded");
    assert_eq!(claims.claims.subject, keys.module.public_key());
    assert_eq!(claims.claims.issuer, keys.account.public_key());
    assert_eq!(claims.claims.metadata.as_ref().unwrap().name.as_deref(), Some("hello"));
    let response = component.handle_http(get("/signed")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /signed\n");
}

#[test]
fn modified_bytes_are_a_hash_mismatch() {
    let (mut wasm, _) = signed(&SignOptions::default());
    // Append an empty custom section named `x`: valid wasm, different hash.
    wasm.extend_from_slice(&[0, 2, 1, b'x']);
    let err = runtime().load("tampered", &wasm).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ClaimsHashMismatch, "{err:?}");
}

#[test]
fn altered_signature_is_rejected() {
    let (wasm, _) = signed(&SignOptions::default());
    let token = find_token(&wasm).unwrap().expect("signed");
    let at = wasm
        .windows(token.len())
        .position(|w| w == token.as_bytes())
        .expect("token in bytes");
    // Change one character in the middle of the signature segment, keeping
    // the length so the section stays well-formed.
    let index = at + token.len() - 20;
    let mut tampered = wasm;
    tampered[index] = if tampered[index] == b'A' { b'B' } else { b'A' };
    let err = runtime().load("forged", &tampered).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ClaimsInvalidSignature, "{err:?}");
}

#[test]
fn expired_claims_are_rejected() {
    let keys = keys();
    let mut claims = Claims::new(
        keys.account.public_key(),
        keys.module.public_key(),
        ComponentMeta::default(),
    );
    claims.expires = Some(1);
    let wasm = embed_claims(&guest(HELLO_HTTP), &claims, &keys.account).unwrap();
    let err = runtime().load("expired", &wasm).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ClaimsExpired, "{err:?}");
    assert!(err.to_string().contains("expired"), "{err}");
}

#[test]
fn not_yet_valid_claims_are_rejected() {
    let (wasm, _) = signed(&SignOptions {
        not_before: Some(Duration::from_secs(86_400)),
        ..SignOptions::default()
    });
    let err = runtime().load("early", &wasm).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ClaimsNotYetValid, "{err:?}");
}

#[test]
fn unsigned_is_refused_when_signatures_are_required() {
    let runtime = Runtime::builder()
        .limits(test_limits())
        .require_signed(true)
        .build()
        .unwrap();
    let err = runtime.load("unsigned", &guest(HELLO_HTTP)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unsigned);
}

/// Claims of `wascap_revision` 2 (what wascap wrote before module hashes).
fn legacy_claims(keys: &Keys) -> Claims<ComponentMeta> {
    let mut claims = Claims::new(
        keys.account.public_key(),
        keys.module.public_key(),
        ComponentMeta {
            name: Some("hello".into()),
            ..ComponentMeta::default()
        },
    );
    claims.wascap_revision = Some(2);
    claims
}

/// Appends a custom section `name` holding `payload` to a component.
fn with_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::new();
    leb128(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut out = wasm.to_vec();
    out.push(0);
    leb128(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

/// Legacy claims carry no module hash, so they can be lifted from a signed
/// component onto any other binary: the runtime refuses them by default, and
/// says how to fix it.
#[test]
fn legacy_claims_are_refused_unless_allowed() {
    let keys = keys();
    let signed = embed_claims(&guest(HELLO_HTTP), &legacy_claims(&keys), &keys.account).unwrap();
    let token = find_token(&signed).unwrap().expect("signed");
    // Someone else's binary carrying the victim's claims.
    let impostor = with_custom_section(&guest(HTTP_TRAP), "wasmcloud_jwt", token.as_bytes());

    for wasm in [&signed, &impostor] {
        let err = runtime().load("legacy", wasm).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::ClaimsLegacyRevision { revision: 2 }, "{err:?}");
        assert!(err.to_string().contains("wash claims sign"), "{err}");
    }

    let lenient = Runtime::builder()
        .limits(test_limits())
        .allow_legacy_claims(true)
        .build()
        .unwrap();
    let loaded = lenient.load("legacy", &signed).unwrap();
    assert_eq!(loaded.claims().unwrap().claims.wascap_revision, Some(2));
}

#[tokio::test]
async fn only_listed_issuers_run_when_issuers_are_listed() {
    let (trusted_wasm, trusted) = signed(&SignOptions::default());
    let (stranger_wasm, stranger) = signed(&SignOptions::default());
    let runtime = Runtime::builder()
        .limits(test_limits())
        .cache_dir(crate::shared_cache_dir())
        .allowed_issuers([trusted.account.public_key()])
        .build()
        .unwrap();

    let component = runtime.load("trusted", &trusted_wasm).unwrap();
    let response = component.handle_http(get("/trusted")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /trusted\n");

    let err = runtime.load("stranger", &stranger_wasm).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::IssuerNotAllowed {
            issuer: stranger.account.public_key()
        },
        "{err:?}"
    );
    assert!(err.to_string().contains(&stranger.account.public_key()), "{err}");
    let err = runtime.load("unsigned", &guest(HELLO_HTTP)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Unsigned, "{err:?}");
}
