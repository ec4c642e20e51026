//! The on-disk compiled-component cache: miss then hit, shared across
//! runtimes with the same engine settings, and recovery from a damaged entry.

use test_support::guests::HELLO_HTTP;
use wasmcloud_runtime::{CacheOutcome, Runtime};

use crate::{body_text, get, guest, test_limits};

fn cached_runtime(dir: &std::path::Path) -> Runtime {
    Runtime::builder().limits(test_limits()).cache_dir(dir).build().unwrap()
}

fn entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for engine_dir in std::fs::read_dir(dir).unwrap() {
        for entry in std::fs::read_dir(engine_dir.unwrap().path()).unwrap() {
            found.push(entry.unwrap().path());
        }
    }
    found
}

#[tokio::test]
async fn second_load_hits_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = guest(HELLO_HTTP);

    let first = cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    assert_eq!(first.cache_outcome(), CacheOutcome::Miss);
    let files = entries(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0]
            .to_string_lossy()
            .ends_with(&format!("{}.cwasm", first.wasm_hash()))
    );

    // A new runtime (as after a host restart) finds the entry.
    let second = cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    assert_eq!(second.cache_outcome(), CacheOutcome::Hit);
    let response = second.handle_http(get("/cached")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /cached\n");
}

#[tokio::test]
async fn damaged_entry_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = guest(HELLO_HTTP);
    cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    let entry = entries(dir.path()).remove(0);
    std::fs::write(&entry, b"not a compiled component").unwrap();

    let reloaded = cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    assert_eq!(reloaded.cache_outcome(), CacheOutcome::Miss);
    let response = reloaded.handle_http(get("/again")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /again\n");
    // The entry was replaced with a good one.
    let third = cached_runtime(dir.path()).load("hello", &wasm).unwrap();
    assert_eq!(third.cache_outcome(), CacheOutcome::Hit);
}

#[test]
fn without_a_cache_dir_nothing_is_cached() {
    let runtime = Runtime::builder().limits(test_limits()).build().unwrap();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    assert_eq!(hello.cache_outcome(), CacheOutcome::Disabled);
}
