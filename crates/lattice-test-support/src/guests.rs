//! Guest components compiled from `guests/` by the build script.
//!
//! Each guest crate `guests/<name>` becomes a constant `<NAME>` holding the
//! path of its `wasm32-wasip2` component, e.g. [`HELLO_HTTP`].

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// Reads a guest component's bytes.
///
/// # Panics
///
/// When the file the build script produced has gone missing.
pub fn bytes(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading guest component {path}: {e}"))
}
