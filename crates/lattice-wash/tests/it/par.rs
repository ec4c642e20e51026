//! `wash par create|inspect|insert`: provider archives round trip through wash, gain targets,
//! and what is not an archive is refused with a clear error.

use std::path::Path;

use expect_test::expect;

use crate::{ACCOUNT_SEED, wash};

/// A fixed service seed so the provider's key is stable.
const SERVICE_SEED: &str = "SVAELMGB2NFJL453CBZ37MLQAQRBKMWLDFY66YLT6L4Y2YW6KSYSNHAFJM";

/// A stand-in for a provider executable: hosts never run it in these tests.
fn fake_binary(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("\x7fELF {name}")).unwrap();
    path.to_str().unwrap().to_owned()
}

fn create(dir: &Path, destination: &Path) -> serde_json::Value {
    let binary = fake_binary(dir, "provider");
    let run = wash(
        dir,
        &[
            "par",
            "create",
            "--binary",
            &binary,
            "--arch",
            "x86_64-linux",
            "--vendor",
            "acme",
            "--name",
            "kv store",
            "--version",
            "1.2.3",
            "--revision",
            "4",
            "--issuer",
            ACCOUNT_SEED,
            "--subject",
            SERVICE_SEED,
            "-d",
            destination.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    assert!(run.success, "{}", run.stderr);
    run.json()
}

#[test]
fn create_then_inspect_round_trips() {
    let work = tempfile::tempdir().unwrap();
    let par = work.path().join("kv.par");
    let created = create(work.path(), &par);
    assert_eq!(created["destination"], par.to_str().unwrap());
    assert_eq!(created["generated_keys"], serde_json::json!([]));

    let inspected = wash(work.path(), &["par", "inspect", par.to_str().unwrap(), "-o", "json"]);
    assert!(inspected.success, "{}", inspected.stderr);
    let json = inspected.json();
    assert_eq!(json["name"], "kv store");
    assert_eq!(json["vendor"], "acme");
    assert_eq!(json["version"], "1.2.3");
    assert_eq!(json["revision"], 4);
    assert_eq!(json["issuer"], created["issuer"]);
    assert_eq!(json["subject"], created["subject"]);
    assert_eq!(json["targets"], serde_json::json!(["x86_64-linux"]));
    assert_eq!(json["target_hashes"]["x86_64-linux"].as_str().unwrap().len(), 64);

    let text = wash(work.path(), &["par", "inspect", par.to_str().unwrap()]);
    expect![[r#"
        kv store - provider archive
          Account    AACIAAVDXOTPRUSQBLCBAYFRHDNTGQPP7FONBLA7GF437W42TA247TEQ
          Service    VCTO6GHS5XZ6LC75LCPVYYE3ERMDOSTDLMJF4FQRB2TPA646RYGMFGVF
          Vendor     acme
          Version    1.2.3
          Revision   4
          Targets    x86_64-linux
          WIT world  no
    "#]]
    .assert_eq(&text.stdout);
}

#[test]
fn create_generates_keys_and_compresses() {
    let work = tempfile::tempdir().unwrap();
    let keys = work.path().join("keys");
    let binary = fake_binary(work.path(), "provider");
    let par = work.path().join("p.par.gz");
    let run = wash(
        &keys,
        &[
            "par",
            "create",
            "--binary",
            &binary,
            "--vendor",
            "acme",
            "--name",
            "Blob Store",
            "--compress",
            "-d",
            par.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.json()["generated_keys"].as_array().unwrap().len(), 2);
    assert!(keys.join("tester_account.nk").is_file());
    assert!(keys.join("blob_store_service.nk").is_file());
    assert_eq!(std::fs::read(&par).unwrap()[..2], [0x1f, 0x8b]);
    let inspected = wash(&keys, &["par", "inspect", par.to_str().unwrap(), "-o", "json"]).json();
    assert_eq!(
        inspected["targets"],
        serde_json::json!([lattice_provider_archive::native_target()])
    );
}

#[test]
fn insert_adds_a_target_signed_by_the_same_account() {
    let work = tempfile::tempdir().unwrap();
    let par = work.path().join("kv.par");
    let created = create(work.path(), &par);
    let mac = fake_binary(work.path(), "provider-mac");
    let par_arg = par.to_str().unwrap();

    let insert = |issuer: &str| {
        wash(
            work.path(),
            &[
                "par",
                "insert",
                par_arg,
                "--arch",
                "aarch64-macos",
                "--binary",
                &mac,
                "--issuer",
                issuer,
                "-o",
                "json",
            ],
        )
    };
    let inserted = insert(ACCOUNT_SEED);
    assert!(inserted.success, "{}", inserted.stderr);
    assert_eq!(inserted.json()["replaced"], false);

    let json = wash(work.path(), &["par", "inspect", par_arg, "-o", "json"]).json();
    assert_eq!(json["targets"], serde_json::json!(["aarch64-macos", "x86_64-linux"]));
    assert_eq!(json["subject"], created["subject"]);
    assert_eq!(json["version"], "1.2.3");

    // Another account did not issue the archive: refused, and the archive is untouched.
    let other = wash(work.path(), &["keys", "gen", "account", "-o", "json"]).json();
    let refused = insert(other["seed"].as_str().unwrap());
    assert!(!refused.success);
    let error = refused.json()["error"].as_str().unwrap().to_owned();
    assert!(error.contains("pass that account's seed with --issuer"), "{error}");
    let again = wash(work.path(), &["par", "inspect", par_arg, "-o", "json"]).json();
    assert_eq!(again["issuer"], created["issuer"]);
}

#[test]
fn bad_input_is_refused_with_the_fix() {
    let work = tempfile::tempdir().unwrap();
    let not_par = fake_binary(work.path(), "provider");

    let run = wash(work.path(), &["par", "inspect", &not_par]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("not a provider archive"), "{}", run.stderr);
    assert!(run.stderr.contains("wash par create"), "{}", run.stderr);

    let missing = work.path().join("missing.par");
    let run = wash(work.path(), &["par", "inspect", missing.to_str().unwrap()]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("cannot read"), "{}", run.stderr);

    let args = |arch: &'static str, binary: &str| {
        wash(
            work.path(),
            &[
                "par",
                "create",
                "--binary",
                binary,
                "--arch",
                arch,
                "--vendor",
                "a",
                "--name",
                "n",
                "--issuer",
                ACCOUNT_SEED,
            ],
        )
    };
    let run = args("linux", &not_par);
    run.assert_clean_failure();
    assert!(
        run.stderr.contains("invalid target `linux`: use `<arch>-<os>`"),
        "{}",
        run.stderr
    );

    let wasm = crate::hello_component(work.path());
    let run = args("x86_64-linux", wasm.to_str().unwrap());
    run.assert_clean_failure();
    assert!(
        run.stderr.contains("is WebAssembly, not a native executable"),
        "{}",
        run.stderr
    );
}
