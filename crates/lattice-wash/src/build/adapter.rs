//! Turning a core module (WASI preview 1 or none) into a component with
//! `wit-component` and the `wasi_snapshot_preview1` adapter.
//!
//! The adapter bytes come from `wasi-preview1-component-adapter-provider`, the
//! crate wasmtime publishes them in. A module that exports `_start` is a
//! command and gets the command adapter (exporting `wasi:cli/run`); anything
//! else is a reactor, a library of exports.

use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wasmparser::{Parser, Payload};

/// Which built-in adapter a module needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterKind {
    /// The module exports `_start`: a program with a `main`.
    Command,
    /// A library of exports (the usual component).
    Reactor,
}

impl AdapterKind {
    /// The adapter's bytes.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            AdapterKind::Command => WASI_SNAPSHOT_PREVIEW1_COMMAND_ADAPTER,
            AdapterKind::Reactor => WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        }
    }
}

/// Why a module could not be made a component.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The input is not a valid core module.
    #[error("not a valid core wasm module")]
    InvalidModule(#[source] wasmparser::BinaryReaderError),
    /// `wit-component` refused the module or the adapter.
    #[error(
        "cannot turn the module into a component: {0}; check that it was built with WIT bindings \
         (wit-bindgen) for the world it implements"
    )]
    Encode(String),
}

/// What the module imports and exports that decides the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleShape {
    /// The module is already a component.
    pub is_component: bool,
    /// It imports `wasi_snapshot_preview1` functions.
    pub imports_preview1: bool,
    /// The adapter it needs.
    pub adapter: AdapterKind,
}

/// Looks at a wasm binary's header, imports and exports.
///
/// # Errors
///
/// [`AdapterError::InvalidModule`] when the binary cannot be parsed.
pub fn shape(wasm: &[u8]) -> Result<ModuleShape, AdapterError> {
    let mut shape = ModuleShape {
        is_component: false,
        imports_preview1: false,
        adapter: AdapterKind::Reactor,
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(AdapterError::InvalidModule)? {
            Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => {
                shape.is_component = true;
                return Ok(shape);
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if import.map_err(AdapterError::InvalidModule)?.module == WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME {
                        shape.imports_preview1 = true;
                    }
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    if export.map_err(AdapterError::InvalidModule)?.name == "_start" {
                        shape.adapter = AdapterKind::Command;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(shape)
}

/// Encodes `module` as a component, adapting its `wasi_snapshot_preview1`
/// imports with `custom_adapter` or the built-in adapter its exports call for.
/// A component is returned unchanged.
///
/// # Errors
///
/// [`AdapterError`] when the module is invalid or `wit-component` refuses it
/// (e.g. an export without WIT metadata).
pub fn adapt(module: &[u8], custom_adapter: Option<&[u8]>) -> Result<Vec<u8>, AdapterError> {
    let shape = shape(module)?;
    if shape.is_component {
        return Ok(module.to_vec());
    }
    let encode = |module: &[u8]| -> anyhow::Result<Vec<u8>> {
        let mut encoder = wit_component::ComponentEncoder::default()
            .validate(true)
            .merge_imports_based_on_semver(true)
            .module(module)?;
        if shape.imports_preview1 {
            let adapter = custom_adapter.unwrap_or_else(|| shape.adapter.bytes());
            encoder = encoder.adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, adapter)?;
        }
        encoder.encode()
    };
    encode(module).map_err(|e| AdapterError::Encode(format!("{e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A preview1 reactor: imports `fd_write`, exports a memory and a function.
    const REACTOR: &str = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "hello") (result i32) (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0)))
    )"#;

    /// A preview1 command: the same, but with `_start`.
    const COMMAND: &str = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "_start") (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))))
    )"#;

    fn is_component(wasm: &[u8]) -> bool {
        shape(wasm).unwrap().is_component
    }

    #[test]
    fn shape_tells_commands_from_reactors() {
        let reactor = shape(&wat::parse_str(REACTOR).unwrap()).unwrap();
        assert!(reactor.imports_preview1);
        assert_eq!(reactor.adapter, AdapterKind::Reactor);
        let command = shape(&wat::parse_str(COMMAND).unwrap()).unwrap();
        assert_eq!(command.adapter, AdapterKind::Command);
    }

    #[test]
    fn a_command_module_becomes_a_component_exporting_run() {
        let component = adapt(&wat::parse_str(COMMAND).unwrap(), None).unwrap();
        assert!(is_component(&component));
        let world = crate::inspect::component_wit(&component).unwrap();
        assert!(world.wit.contains("wasi:cli/run"), "{}", world.wit);
        assert!(world.wit.contains("wasi:cli/stdout"), "{}", world.wit);
    }

    #[test]
    fn a_component_is_left_alone() {
        let component = adapt(&wat::parse_str(COMMAND).unwrap(), None).unwrap();
        assert_eq!(adapt(&component, None).unwrap(), component);
    }

    #[test]
    fn a_module_without_wasi_needs_no_adapter() {
        let module = wat::parse_str("(module (memory (export \"memory\") 1))").unwrap();
        let component = adapt(&module, None).unwrap();
        assert!(is_component(&component));
    }

    #[test]
    fn a_reactor_module_becomes_a_component() {
        let component = adapt(&wat::parse_str(REACTOR).unwrap(), None).unwrap();
        assert!(is_component(&component));
        let world = crate::inspect::component_wit(&component).unwrap();
        assert!(!world.wit.contains("wasi:cli/run"), "{}", world.wit);
    }

    #[test]
    fn an_import_without_wit_metadata_is_a_clear_error() {
        let module = wat::parse_str(r#"(module (import "somewhere" "thing" (func)))"#).unwrap();
        let err = adapt(&module, None).unwrap_err();
        assert!(matches!(err, AdapterError::Encode(_)), "{err}");
        assert!(err.to_string().contains("wit-bindgen"), "{err}");
    }

    #[test]
    fn garbage_is_not_a_module() {
        assert!(matches!(adapt(b"not wasm", None), Err(AdapterError::InvalidModule(_))));
    }
}
