//! Runs WebAssembly components on wasmtime for the wasmCloud-compatible host:
//! one engine with the pooling allocator (or on-demand allocation where the
//! pool cannot be reserved), per-invocation memory caps and deadlines, a
//! compiled-component cache, claims verification, and the host interfaces
//! components import (WASI 0.2, `wasi:http`, `wasi:config`, `wasi:logging`,
//! and `wasi:keyvalue` over a pluggable backend, in memory by default).
//!
//! **Architecture invariant:** this crate knows nothing of NATS. Calls that no built-in
//! serves go over links, carried by a [`Links`] implementation the host supplies (wRPC over
//! NATS); the runtime encodes them and decides nothing about transport.
//!
//! ```no_run
//! # async fn run(wasm: &[u8], request: hyper::Request<hyper::body::Incoming>) -> lattice_runtime::Result<()> {
//! let runtime = lattice_runtime::Runtime::builder().build()?;
//! let component = runtime.load("hello", wasm)?;
//! let response = component.handle_hyper(request).await?;
//! # let _ = response; Ok(()) }
//! ```

mod cache;
mod claims;
mod component;
mod engine;
mod error;
mod exports;
pub mod host;
mod http;
mod id;
mod imports;
mod limits;
mod links;
mod logs;
mod observe;
mod runtime;
mod stdio;
mod store;
mod trace;

pub use cache::{CacheOutcome, DEFAULT_CACHE_MAX_BYTES, wasm_hash};
pub use claims::ComponentClaims;
pub use component::{Admission, Component};
pub use engine::Allocator;
pub use error::{Error, ErrorKind, Result};
pub use exports::Export;
pub use http::{HttpErrorCode, ResponseBody, request_body_error};
pub use id::ComponentId;
pub use limits::{ComponentLimits, Limits};
pub use links::{
    DEFAULT_LINK_NAME, DEFAULT_LINK_TIMEOUT, Incoming, InvokeFuture, LinkError, LinkedCall, Links, Outgoing,
};
pub use observe::{HTTP_OPERATION, InvocationObserver};
pub use runtime::{DEFAULT_EPOCH_TICK, Runtime, RuntimeBuilder};
pub use trace::TraceContext;
