//! Writes starting inputs for both fuzz targets, built from text: `cargo run --example seed_corpus`.

use std::fs;
use std::path::Path;

use nkeys::{KeyPair, KeyPairType};
use wascap::jwt::{Account, Claims};
use wascap::wasm::{SignOptions, sign_component};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let account = KeyPair::new_from_raw(KeyPairType::Account, [1; 32]).unwrap();
    let module = KeyPair::new_from_raw(KeyPairType::Module, [2; 32]).unwrap();
    let operator = KeyPair::new_from_raw(KeyPairType::Operator, [3; 32]).unwrap();

    let inputs = [
        (
            "module",
            r#"(module (memory 1) (func (export "answer") (result i32) i32.const 42) (data (i32.const 0) "hello"))"#,
        ),
        (
            "component",
            r#"(component (core module $m (func (export "f"))) (core instance (instantiate $m)))"#,
        ),
        (
            "nested",
            r#"(component (core module (@custom "jwt" "x") (func)) (component (core module (@custom "wasmcloud_jwt" "y"))))"#,
        ),
    ];
    let opts = SignOptions {
        name: Some("seed".into()),
        tags: vec!["fuzz".into()],
        rev: Some(1),
        ver: Some("0.1.0".into()),
        ..SignOptions::default()
    };
    for (name, text) in inputs {
        let wasm = wat::parse_str(text).unwrap();
        write(&root.join("extract_claims"), &format!("{name}.wasm"), &wasm);
        let signed = sign_component(&wasm, &account, &module, &opts).unwrap();
        write(&root.join("extract_claims"), &format!("{name}_s.wasm"), &signed);
        let jwt = wascap::wasm::find_token(&signed).unwrap().unwrap();
        write(&root.join("decode_token"), &format!("{name}.jwt"), jwt.as_bytes());
    }

    let claims = Claims::new(operator.public_key(), account.public_key(), Account::default());
    let jwt = claims.encode(&operator).unwrap();
    write(&root.join("decode_token"), "account.jwt", jwt.as_bytes());
}
