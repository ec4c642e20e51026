//! Integration tests of the runtime against guest components built from
//! source by `test-support`; one module per concern.

mod cache;
mod claims;
mod config;
mod http_serve;
mod keyvalue;
mod limits;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use wasmcloud_runtime::{HttpErrorCode, Limits, Runtime};

/// Limits small enough for a test machine: a pool of a few slots, a memory
/// cap the memory hog reaches quickly, and a deadline long enough for any
/// well-behaved guest on a loaded CI machine.
fn test_limits() -> Limits {
    Limits {
        max_components: 8,
        max_linear_memory: 64 << 20,
        max_execution_time: Duration::from_secs(30),
        ..Limits::default()
    }
}

/// A runtime with [`test_limits`], sharing one compile cache across tests
/// and runs: Cranelift in a debug build is slow, and the cache is exactly
/// what makes a second load cheap.
fn runtime() -> Runtime {
    Runtime::builder()
        .limits(test_limits())
        .cache_dir(shared_cache_dir())
        .build()
        .expect("runtime builds")
}

fn shared_cache_dir() -> &'static str {
    concat!(env!("CARGO_TARGET_TMPDIR"), "/wasmcloud-runtime-compile-cache")
}

/// A body-less request for `path`.
fn get(path: &str) -> hyper::Request<impl hyper::body::Body<Data = Bytes, Error = HttpErrorCode> + Send + 'static> {
    hyper::Request::builder()
        .uri(format!("http://localhost{path}"))
        .body(Empty::<Bytes>::new().map_err(|never: Infallible| match never {}))
        .expect("valid request")
}

/// Collects a response body as text.
async fn body_text(response: hyper::Response<wasmcloud_runtime::ResponseBody>) -> String {
    let bytes = response.into_body().collect().await.expect("body streams").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

fn guest(path: &str) -> Vec<u8> {
    test_support::guests::bytes(path)
}
