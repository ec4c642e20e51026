//! Integration tests of the runtime against guest components built from
//! source by `lattice-test-support`; one module per concern.

mod cache;
mod claims;
mod config;
mod guest_limits;
mod http_serve;
mod keyvalue;
mod limits;

use std::convert::Infallible;
use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use lattice_runtime::{HttpErrorCode, Limits, Runtime};

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
    concat!(env!("CARGO_TARGET_TMPDIR"), "/lattice-runtime-compile-cache")
}

/// A body-less request for `path`.
fn get(path: &str) -> hyper::Request<impl hyper::body::Body<Data = Bytes, Error = HttpErrorCode> + Send + 'static> {
    hyper::Request::builder()
        .uri(format!("http://localhost{path}"))
        .body(Empty::<Bytes>::new().map_err(|never: Infallible| match never {}))
        .expect("valid request")
}

/// Collects a response body as text.
async fn body_text(response: hyper::Response<lattice_runtime::ResponseBody>) -> String {
    let bytes = response.into_body().collect().await.expect("body streams").to_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 body")
}

fn guest(path: &str) -> Vec<u8> {
    lattice_test_support::guests::bytes(path)
}

/// Log output of the whole test binary, formatted. A global subscriber
/// rather than a scoped one: tracing caches per call site whether anyone is
/// interested, and tests running in parallel without a subscriber would
/// switch the guest-log call sites off for a scoped one.
fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::default());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Captured(logs))
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        logs
    })
}

/// The captured logs once `done` holds for them, or as they are after
/// `timeout`: guest lines are written by the runtime's log thread, a little
/// after the guest wrote them.
fn logs_until(captured: &Mutex<Vec<u8>>, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    let until = Instant::now() + timeout;
    loop {
        let logs = String::from_utf8_lossy(&captured.lock().unwrap()).into_owned();
        if done(&logs) || Instant::now() >= until {
            return logs;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Captured(&'static Mutex<Vec<u8>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
