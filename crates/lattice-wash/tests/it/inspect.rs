//! `wash inspect` / `wash claims inspect`: readable claims, WIT worlds, and
//! clear errors for tampered, expired, premature, and non-wasm input.

use expect_test::expect;

use crate::{ACCOUNT_SEED, MODULE_SEED, hello_component, wash};

/// Signs the hello component with the fixed seeds and returns its path.
fn signed_hello(dir: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let wasm = hello_component(dir);
    let mut args = vec![
        "claims",
        "sign",
        wasm.to_str().unwrap(),
        "--issuer",
        ACCOUNT_SEED,
        "--subject",
        MODULE_SEED,
    ];
    args.extend_from_slice(extra);
    let run = wash(dir, &args);
    assert!(run.success, "{}", run.stderr);
    dir.join("hello_s.wasm")
}

/// Replaces the 64-hex module hash, which depends on the compiler, with a marker.
fn redact_hash(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.trim_start().strip_prefix("Hash") {
            Some(_) => "  Hash         <HASH>\n".to_string(),
            None => line.to_string(),
        })
        .collect()
}

#[test]
fn inspect_shows_the_claims_table() {
    let work = tempfile::tempdir().unwrap();
    let signed = signed_hello(work.path(), &["--ver", "0.1.0", "--rev", "2", "--tag", "http"]);
    let run = wash(work.path(), &["claims", "inspect", signed.to_str().unwrap()]);
    assert!(run.success, "{}", run.stderr);
    expect![[r#"
        hello - signed component
          Account      AACIAAVDXOTPRUSQBLCBAYFRHDNTGQPP7FONBLA7GF437W42TA247TEQ
          Component    MBK5U557E4GOREJIDSRFZONF2IE35RRMFTWGL6MDUE4FGLPTSSTF4UO7
          Expires      never
          Can Be Used  immediately
          Version      0.1.0 (rev 2)
          Call Alias   (none)
          Tags         http
          Hash         <HASH>
    "#]]
    .assert_eq(&redact_hash(&run.stdout));
}

#[test]
fn jwt_only_prints_the_token() {
    let work = tempfile::tempdir().unwrap();
    let signed = signed_hello(work.path(), &[]);
    let run = wash(work.path(), &["inspect", "--jwt-only", signed.to_str().unwrap()]);
    assert!(run.success, "{}", run.stderr);
    let token = run.stdout.trim();
    assert_eq!(token.split('.').count(), 3, "{token}");
    assert!(token.starts_with("eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0."), "{token}");
}

#[test]
fn unsigned_components_are_described() {
    let work = tempfile::tempdir().unwrap();
    let wasm = hello_component(work.path());
    let run = wash(work.path(), &["inspect", wasm.to_str().unwrap(), "-o", "json"]);
    assert!(run.success, "{}", run.stderr);
    let json = run.json();
    assert_eq!(json["kind"], "component");
    assert_eq!(json["signed"], false);
}

#[test]
fn wit_shows_the_world() {
    let work = tempfile::tempdir().unwrap();
    let wasm = hello_component(work.path());
    let run = wash(work.path(), &["inspect", "--wit", wasm.to_str().unwrap()]);
    assert!(run.success, "{}", run.stderr);
    assert!(run.stdout.contains("world root"), "{}", run.stdout);
    assert!(
        run.stdout.contains("export wasi:http/incoming-handler@0.2"),
        "{}",
        run.stdout
    );

    let json = wash(work.path(), &["inspect", "--wit", wasm.to_str().unwrap(), "-o", "json"]).json();
    let exports: Vec<&str> = json["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        exports.iter().any(|e| e.starts_with("wasi:http/incoming-handler@0.2")),
        "{exports:?}"
    );
    assert!(
        json["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i.as_str().unwrap().starts_with("wasi:http/types"))
    );
}

#[test]
fn a_flipped_code_byte_is_a_hash_mismatch() {
    let work = tempfile::tempdir().unwrap();
    let signed = signed_hello(work.path(), &[]);
    let mut bytes = std::fs::read(&signed).unwrap();
    // Flip a byte in the middle of the component: code, far from the
    // trailing claims section and the header.
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&signed, bytes).unwrap();
    let run = wash(work.path(), &["inspect", signed.to_str().unwrap()]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("hash"), "{}", run.stderr);
    assert!(run.stderr.contains("wash claims sign"), "{}", run.stderr);
}

#[test]
fn a_token_not_yet_valid_is_reported() {
    let work = tempfile::tempdir().unwrap();
    let signed = signed_hello(work.path(), &["--nbf", "2"]);
    let run = wash(work.path(), &["inspect", signed.to_str().unwrap()]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("before"), "{}", run.stderr);
}

#[test]
fn an_expired_token_is_reported() {
    let work = tempfile::tempdir().unwrap();
    let wasm = std::fs::read(lattice_test_support::guests::HELLO_HTTP).unwrap();
    let account = nkeys::KeyPair::from_seed(ACCOUNT_SEED).unwrap();
    let module = nkeys::KeyPair::from_seed(MODULE_SEED).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = lattice_claims::jwt::Claims {
        expires: Some(now - 3600),
        id: "expired-test".to_string(),
        issued_at: now - 7200,
        issuer: account.public_key(),
        subject: module.public_key(),
        not_before: None,
        metadata: Some(lattice_claims::jwt::Component::default()),
        wascap_revision: Some(lattice_claims::jwt::WASCAP_REVISION),
    };
    let expired = lattice_claims::wasm::embed_claims(&wasm, &claims, &account).unwrap();
    let path = work.path().join("expired.wasm");
    std::fs::write(&path, expired).unwrap();
    let run = wash(work.path(), &["inspect", path.to_str().unwrap()]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
}

#[test]
fn non_wasm_and_truncated_files_get_clear_errors() {
    let work = tempfile::tempdir().unwrap();
    let jpeg = work.path().join("photo.jpg");
    std::fs::write(&jpeg, [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1]).unwrap();
    let run = wash(work.path(), &["inspect", jpeg.to_str().unwrap()]);
    run.assert_clean_failure();
    assert!(
        run.stderr.contains("not a WebAssembly file") && run.stderr.contains("JPEG"),
        "{}",
        run.stderr
    );

    let signed = signed_hello(work.path(), &[]);
    let bytes = std::fs::read(&signed).unwrap();
    let truncated = work.path().join("truncated.wasm");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    for args in [&["inspect"][..], &["inspect", "--wit"], &["claims", "inspect"]] {
        let mut args = args.to_vec();
        args.push(truncated.to_str().unwrap());
        let run = wash(work.path(), &args);
        run.assert_clean_failure();
    }

    let missing = wash(work.path(), &["inspect", "/definitely/not/here.wasm"]);
    missing.assert_clean_failure();
    assert!(missing.stderr.contains("cannot read"), "{}", missing.stderr);

    let json = wash(work.path(), &["inspect", jpeg.to_str().unwrap(), "-o", "json"]);
    assert!(!json.success);
    assert_eq!(json.json()["success"], false);
}
