//! Describing a wasm file: component or core module, its claims, and the WIT
//! world a component imports and exports.
//!
//! Unsigned components and core modules are described, not rejected; claims
//! that are present are verified strictly (signature, module hash, expiry).

use std::collections::BTreeSet;

use lattice_claims::jwt::{Component, Token};
use wasmparser::{Parser, Payload};

/// What went wrong while inspecting a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The bytes are not WebAssembly at all.
    #[error("not a WebAssembly file: it does not start with the `\\0asm` magic bytes{hint}")]
    NotWasm {
        /// A guess at what the file is instead, e.g. ` (it looks like a JPEG image)`.
        hint: String,
    },
    /// The bytes start like wasm but do not parse.
    #[error("malformed WebAssembly (is the file truncated or corrupt?)")]
    Malformed(#[source] wasmparser::BinaryReaderError),
    /// The embedded claims are present but do not verify.
    #[error(transparent)]
    Claims(#[from] lattice_claims::Error),
    /// The component's type information cannot be turned into WIT.
    #[error("cannot decode the component's WIT world: {0}")]
    Wit(String),
}

/// Whether a file is a component or a core module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WasmKind {
    /// A WebAssembly component (component model).
    Component,
    /// A core WebAssembly module.
    Module,
}

impl WasmKind {
    /// A human-readable name.
    pub fn describe(self) -> &'static str {
        match self {
            WasmKind::Component => "component",
            WasmKind::Module => "core module",
        }
    }
}

/// Everything `wash inspect` reports about a file.
#[derive(Debug)]
pub struct Inspection {
    /// Component or core module.
    pub kind: WasmKind,
    /// Size of the file in bytes.
    pub size: usize,
    /// The verified claims, if the file is signed.
    pub token: Option<Token<Component>>,
}

/// Parses `bytes` fully and verifies embedded claims.
///
/// # Errors
///
/// When the file is not wasm, is truncated or corrupt, or carries claims that
/// fail verification (bad signature, hash mismatch, expired, not yet valid).
pub fn inspect(bytes: &[u8]) -> Result<Inspection, InspectError> {
    let kind = check_structure(bytes)?;
    let token = lattice_claims::wasm::extract_claims(bytes)?;
    Ok(Inspection {
        kind,
        size: bytes.len(),
        token,
    })
}

/// Walks every section (including nested modules and components) so a
/// truncated or corrupt file is reported up front, and tells the kind.
///
/// # Errors
///
/// [`InspectError::NotWasm`] or [`InspectError::Malformed`].
pub fn check_structure(bytes: &[u8]) -> Result<WasmKind, InspectError> {
    if !bytes.starts_with(b"\0asm") {
        return Err(InspectError::NotWasm {
            hint: guess_format(bytes),
        });
    }
    let kind = if Parser::is_component(bytes) {
        WasmKind::Component
    } else {
        WasmKind::Module
    };
    for payload in Parser::new(0).parse_all(bytes) {
        payload.map_err(InspectError::Malformed)?;
    }
    Ok(kind)
}

fn guess_format(bytes: &[u8]) -> String {
    let what = if bytes.is_empty() {
        "the file is empty"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "it looks like a JPEG image"
    } else if bytes.starts_with(b"\x89PNG") {
        "it looks like a PNG image"
    } else if bytes.starts_with(b"\x7fELF") {
        "it looks like a native ELF binary; build for a wasm32 target"
    } else if bytes.starts_with(b"(module") || bytes.starts_with(b"(component") {
        "it looks like WebAssembly text; compile it to a binary first"
    } else {
        return String::new();
    };
    format!(" ({what})")
}

/// The imports and exports of a component's world, and its WIT text.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WitWorld {
    /// The world's name (`root` for a component built by wit-component).
    pub world: String,
    /// Imported interfaces and functions, e.g. `wasi:io/streams@0.2.0`.
    pub imports: Vec<String>,
    /// Exported interfaces and functions, e.g. `wasi:http/incoming-handler@0.2.0`.
    pub exports: Vec<String>,
    /// The world printed as WIT.
    pub wit: String,
}

/// Decodes the WIT world a component imports and exports.
///
/// # Errors
///
/// [`InspectError::Wit`] when `bytes` is not a component with decodable types.
pub fn component_wit(bytes: &[u8]) -> Result<WitWorld, InspectError> {
    // wit-component reports errors as `anyhow::Error`; keep only the text so
    // anyhow stays out of this library's public API.
    let wit_err = |e: anyhow::Error| InspectError::Wit(format!("{e:#}"));
    let decoded = wit_component::decode(bytes).map_err(wit_err)?;
    let resolve = decoded.resolve();
    let wit_component::DecodedWasm::Component(_, world_id) = &decoded else {
        return Err(InspectError::Wit(
            "the file is a WIT package, not a component".to_string(),
        ));
    };
    let world = &resolve.worlds[*world_id];
    let mut printer = wit_component::WitPrinter::default();
    printer.print(resolve, decoded.package(), &[]).map_err(wit_err)?;
    Ok(WitWorld {
        world: world.name.clone(),
        imports: world.imports.keys().map(|key| resolve.name_world_key(key)).collect(),
        exports: world.exports.keys().map(|key| resolve.name_world_key(key)).collect(),
        wit: printer.output.to_string(),
    })
}

/// The imports and exports of a core module, as `module::name` strings.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ModuleInterface {
    /// Imported items, e.g. `wasi_snapshot_preview1::fd_write`.
    pub imports: Vec<String>,
    /// Exported items, e.g. `_start`.
    pub exports: Vec<String>,
}

/// Lists a core module's imports and exports (deduplicated, sorted).
///
/// # Errors
///
/// [`InspectError::Malformed`] when the module does not parse.
pub fn module_interface(bytes: &[u8]) -> Result<ModuleInterface, InspectError> {
    let mut imports = BTreeSet::new();
    let mut exports = BTreeSet::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(InspectError::Malformed)? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(InspectError::Malformed)?;
                    imports.insert(format!("{}::{}", import.module, import.name));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    exports.insert(export.map_err(InspectError::Malformed)?.name.to_string());
                }
            }
            _ => {}
        }
    }
    Ok(ModuleInterface {
        imports: imports.into_iter().collect(),
        exports: exports.into_iter().collect(),
    })
}
