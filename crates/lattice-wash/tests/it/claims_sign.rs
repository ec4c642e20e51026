//! `wash claims sign`: keys on first use, explicit seeds, destinations, and
//! refusing what cannot be signed.

use crate::{ACCOUNT_SEED, MODULE_SEED, hello_component, wash};

#[test]
fn sign_generates_keys_on_first_use_and_reuses_them() {
    let work = tempfile::tempdir().unwrap();
    let keys = work.path().join("keys");
    let wasm = hello_component(work.path());
    let wasm = wasm.to_str().unwrap();

    let first = wash(&keys, &["claims", "sign", wasm, "-o", "json"]);
    assert!(first.success, "{}", first.stderr);
    let first = first.json();
    assert_eq!(first["destination"], work.path().join("hello_s.wasm").to_str().unwrap());
    assert_eq!(first["generated_keys"].as_array().unwrap().len(), 2);
    assert!(keys.join("tester_account.nk").is_file());
    assert!(keys.join("hello_module.nk").is_file());

    let second = wash(&keys, &["claims", "sign", wasm, "-o", "json"]).json();
    assert!(second["generated_keys"].as_array().unwrap().is_empty());
    assert_eq!(first["issuer"], second["issuer"]);
    assert_eq!(first["subject"], second["subject"]);
}

#[test]
fn sign_with_explicit_seeds_and_metadata_round_trips() {
    let work = tempfile::tempdir().unwrap();
    let wasm = hello_component(work.path());
    let dest = work.path().join("out.wasm");
    let run = wash(
        work.path(),
        &[
            "claims",
            "sign",
            wasm.to_str().unwrap(),
            "-d",
            dest.to_str().unwrap(),
            "--name",
            "hello",
            "--ver",
            "1.2.3",
            "--rev",
            "7",
            "--tag",
            "a",
            "--tag",
            "b",
            "--call-alias",
            "greeter",
            "--issuer",
            ACCOUNT_SEED,
            "--subject",
            MODULE_SEED,
            "--expires",
            "30",
        ],
    );
    assert!(run.success, "{}", run.stderr);
    let claims = wash(work.path(), &["inspect", dest.to_str().unwrap(), "-o", "json"]);
    assert!(claims.success, "{}", claims.stderr);
    let claims = claims.json();
    assert_eq!(claims["name"], "hello");
    assert_eq!(claims["version"], "1.2.3");
    assert_eq!(claims["revision"], 7);
    assert_eq!(claims["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(claims["call_alias"], "greeter");
    assert_eq!(claims["wascap_revision"], 3);
    assert!(claims["expires"].as_u64().is_some());
    assert_eq!(claims["account"].as_str().unwrap().len(), 56);
    assert!(claims["account"].as_str().unwrap().starts_with('A'));
    assert!(claims["component"].as_str().unwrap().starts_with('M'));
    assert_eq!(claims["hash"].as_str().unwrap().len(), 64);
}

#[test]
fn sign_refuses_missing_keys_when_keygen_is_disabled() {
    let work = tempfile::tempdir().unwrap();
    let wasm = hello_component(work.path());
    let run = wash(
        &work.path().join("keys"),
        &["claims", "sign", wasm.to_str().unwrap(), "--disable-keygen"],
    );
    run.assert_clean_failure();
    assert!(run.stderr.contains("tester_account.nk"), "{}", run.stderr);
    assert!(run.stderr.contains("wash keys gen"), "{}", run.stderr);
}

#[test]
fn sign_refuses_a_seed_of_the_wrong_type() {
    let work = tempfile::tempdir().unwrap();
    let wasm = hello_component(work.path());
    let run = wash(
        work.path(),
        &["claims", "sign", wasm.to_str().unwrap(), "--issuer", MODULE_SEED],
    );
    run.assert_clean_failure();
    assert!(run.stderr.contains("account key is required"), "{}", run.stderr);
}

#[test]
fn sign_refuses_files_that_are_not_wasm() {
    let work = tempfile::tempdir().unwrap();
    let jpeg = work.path().join("cat.jpg");
    std::fs::write(&jpeg, [0xff, 0xd8, 0xff, 0xe0, 0, 0x10, b'J', b'F', b'I', b'F']).unwrap();
    let run = wash(work.path(), &["claims", "sign", jpeg.to_str().unwrap()]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("JPEG"), "{}", run.stderr);
    assert!(!work.path().join("cat_s.wasm").exists());
}

#[test]
fn sign_and_inspect_a_core_module() {
    let work = tempfile::tempdir().unwrap();
    let module = work.path().join("empty.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let run = wash(work.path(), &["claims", "sign", module.to_str().unwrap()]);
    assert!(run.success, "{}", run.stderr);
    let json = wash(
        work.path(),
        &[
            "inspect",
            work.path().join("empty_s.wasm").to_str().unwrap(),
            "-o",
            "json",
        ],
    )
    .json();
    assert_eq!(json["kind"], "module");
    assert_eq!(json["signed"], true);
}
