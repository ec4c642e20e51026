//! Claims for WebAssembly components.
