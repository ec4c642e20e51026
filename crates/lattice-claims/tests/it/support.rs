//! Shared fixtures: fixed keys, text-built wasm inputs and a readable section listing.

use lattice_claims::jwt::{Claims, Component, WASCAP_REVISION};
use nkeys::{KeyPair, KeyPairType};
use wasm_encoder::Section as _;
use wasmparser::{Parser, Payload};

/// A fixed account seed (raw seed bytes all `1`), so signatures are reproducible.
pub const ACCOUNT_SEED: &str = "SAAACAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAKM5I";
pub const ACCOUNT_PUBLIC: &str = "ACFIRY65OQE7DFP5KLNS2PF2LVZMUZYJX4OZIEQ36N2IQANUB5XVYYOU";
/// A fixed module seed (raw seed bytes all `2`).
pub const MODULE_SEED: &str = "SMAAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAQCAIBAEAWDLE";
pub const MODULE_PUBLIC: &str = "MCATS5YOVB6ROX2WUNKGNQ2MP3GMXDMKSG2O4N5CLX3A6W4PZGZZJPUL";
/// A fixed operator seed (raw seed bytes all `3`).
pub const OPERATOR_SEED: &str = "SOAAGAYDAMBQGAYDAMBQGAYDAMBQGAYDAMBQGAYDAMBQGAYDAMBQGA36TU";

/// "Now" for the `*_at` functions: 2023-11-14 22:13:20 UTC.
pub const NOW: u64 = 1_700_000_000;

pub fn account() -> KeyPair {
    KeyPair::from_seed(ACCOUNT_SEED).unwrap()
}

pub fn module_key() -> KeyPair {
    KeyPair::from_seed(MODULE_SEED).unwrap()
}

pub fn operator() -> KeyPair {
    KeyPair::from_seed(OPERATOR_SEED).unwrap()
}

pub fn key(kind: KeyPairType) -> KeyPair {
    KeyPair::new(kind)
}

/// Assembles WebAssembly text.
pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

/// A small core module with a function, an export and a data segment.
pub fn small_module() -> Vec<u8> {
    wat(r#"(module
        (memory 1)
        (func (export "answer") (result i32) i32.const 42)
        (data (i32.const 0) "hello"))"#)
}

/// Appends a custom section to a binary (module or component alike: both use id 0).
pub fn with_custom(mut wasm: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    wasm_encoder::CustomSection {
        name: name.into(),
        data: data.into(),
    }
    .append_to(&mut wasm);
    wasm
}

/// Fixed component claims: fixed `jti` and `iat`, no times.
pub fn fixed_claims() -> Claims<Component> {
    Claims {
        expires: None,
        id: "V9uKWsoH5tB3bGYMxBWXaW".to_string(),
        issued_at: NOW,
        issuer: ACCOUNT_PUBLIC.to_string(),
        subject: MODULE_PUBLIC.to_string(),
        not_before: None,
        metadata: Some(Component {
            name: Some("answer".to_string()),
            module_hash: String::new(),
            tags: Some(vec!["test".to_string()]),
            rev: Some(1),
            ver: Some("0.1.0".to_string()),
            call_alias: None,
            provider: false,
        }),
        wascap_revision: Some(WASCAP_REVISION),
    }
}

/// One line per top-level section (custom sections with their name and length); nested
/// modules and components are listed indented under their section.
pub fn layout(wasm: &[u8]) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.unwrap();
        let indent = "  ".repeat(depth);
        match &payload {
            Payload::Version { encoding, .. } => {
                out.push_str(&format!("{indent}version {encoding:?}\n"));
            }
            Payload::CustomSection(c) => {
                out.push_str(&format!("{indent}custom {:?} ({} bytes)\n", c.name(), c.data().len()));
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => {
                out.push_str(&format!("{indent}nested\n"));
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::CodeSectionEntry(_) => {}
            other => {
                if let Some((id, range)) = other.as_section() {
                    out.push_str(&format!("{indent}section {id} ({} bytes)\n", range.len()));
                }
            }
        }
    }
    out
}

/// Contents of every custom section called `name`, at any depth.
pub fn custom_sections(wasm: &[u8], name: &str) -> Vec<Vec<u8>> {
    Parser::new(0)
        .parse_all(wasm)
        .filter_map(|p| match p.unwrap() {
            Payload::CustomSection(c) if c.name() == name => Some(c.data().to_vec()),
            _ => None,
        })
        .collect()
}
