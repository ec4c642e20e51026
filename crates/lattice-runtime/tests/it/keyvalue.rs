//! `wasi:keyvalue` served by the runtime: per-path counters in the embedded
//! store, the WIT error variant for a bad bucket, and a backend chosen by the
//! embedder.

use std::sync::Arc;

use lattice_runtime::Runtime;
use lattice_runtime::host::keyvalue::{
    Bucket, KeyPage, KeyValueBackend, KeyValueError, KeyValueFuture, ManyValues, MemoryKeyValue,
};
use lattice_test_support::guests::HTTP_KVCOUNTER;

use crate::{body_text, get, guest, runtime, shared_cache_dir, test_limits};

async fn call(component: &lattice_runtime::Component, path: &str) -> (u16, String) {
    let response = component.handle_http(get(path)).await.unwrap();
    let status = response.status().as_u16();
    (status, body_text(response).await)
}

#[tokio::test]
async fn counters_increase_per_path_and_paths_are_independent() {
    let runtime = runtime();
    let counter = runtime.load("kvcounter", &guest(HTTP_KVCOUNTER)).unwrap();
    assert!(counter.linked_imports().is_empty(), "{:?}", counter.linked_imports());
    for (path, count) in [("/a", 1), ("/a", 2), ("/b", 1), ("/a", 3), ("/b", 2)] {
        let (status, body) = call(&counter, path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, format!("{{\"path\":\"{path}\",\"count\":{count}}}"));
    }
    // "default" and the empty identifier are the same bucket; others are not.
    assert_eq!(
        call(&counter, "/a?bucket=default").await.1,
        r#"{"path":"/a","count":4}"#
    );
    assert_eq!(call(&counter, "/a?bucket=other").await.1, r#"{"path":"/a","count":1}"#);
}

#[tokio::test]
async fn bad_bucket_name_is_the_error_variant_not_a_trap() {
    let runtime = runtime();
    let counter = runtime.load("kvcounter", &guest(HTTP_KVCOUNTER)).unwrap();
    let (status, body) = call(&counter, "/a?bucket=bad!name").await;
    assert_eq!((status, body.as_str()), (500, "error: no-such-store"));
    // The guest handled the error itself; the next request is served as usual.
    assert_eq!(
        call(&counter, "/a").await,
        (200, r#"{"path":"/a","count":1}"#.to_string())
    );
}

#[tokio::test]
async fn store_and_batch_calls_round_trip() {
    let runtime = runtime();
    let counter = runtime.load("kvcounter", &guest(HTTP_KVCOUNTER)).unwrap();
    assert_eq!(call(&counter, "/roundtrip").await, (200, "ok".to_string()));
    assert_eq!(call(&counter, "/roundtrip?bucket=rt").await, (200, "ok".to_string()));
}

#[tokio::test]
async fn embedder_chooses_the_backend() {
    let store = Arc::new(MemoryKeyValue::new());
    let runtime = Runtime::builder()
        .limits(test_limits())
        .cache_dir(shared_cache_dir())
        .keyvalue_backend(Some(store.clone()))
        .build()
        .unwrap();
    let counter = runtime.load("kvcounter", &guest(HTTP_KVCOUNTER)).unwrap();
    call(&counter, "/seen").await;
    call(&counter, "/seen").await;
    let bucket = Bucket::new("kvcounter".into(), "");
    let value = store.get(&bucket, "counter:/seen".into()).await.unwrap();
    assert_eq!(value.as_deref(), Some(&b"2"[..]));

    let runtime = Runtime::builder()
        .limits(test_limits())
        .cache_dir(shared_cache_dir())
        .keyvalue_backend(Some(Arc::new(DenyAll)))
        .build()
        .unwrap();
    let counter = runtime.load("kvcounter", &guest(HTTP_KVCOUNTER)).unwrap();
    assert_eq!(call(&counter, "/a").await, (500, "error: access-denied".to_string()));
}

#[tokio::test]
async fn without_a_store_or_a_link_calls_name_the_missing_link() {
    let runtime = Runtime::builder()
        .limits(test_limits())
        .cache_dir(shared_cache_dir())
        .keyvalue_backend(None)
        .build()
        .unwrap();
    let counter = runtime.load("kvcounter", &guest(HTTP_KVCOUNTER)).unwrap();
    let (status, body) = call(&counter, "/a").await;
    assert_eq!(status, 500);
    assert!(
        body.contains("no link named `default` provides `wasi:keyvalue/atomics`"),
        "{body}"
    );
}

/// A backend that refuses every bucket, standing in for a host backend
/// whose component has no link to a key-value provider.
#[derive(Debug)]
struct DenyAll;

fn denied<'a, T: Send + 'a>(bucket: &Bucket) -> KeyValueFuture<'a, T> {
    let err = KeyValueError::AccessDenied {
        bucket: bucket.name().to_string(),
    };
    Box::pin(std::future::ready(Err(err)))
}

impl KeyValueBackend for DenyAll {
    fn open<'a>(&'a self, bucket: &'a Bucket) -> KeyValueFuture<'a, ()> {
        denied(bucket)
    }
    fn get<'a>(&'a self, bucket: &'a Bucket, _: String) -> KeyValueFuture<'a, Option<Vec<u8>>> {
        denied(bucket)
    }
    fn set<'a>(&'a self, bucket: &'a Bucket, _: String, _: Vec<u8>) -> KeyValueFuture<'a, ()> {
        denied(bucket)
    }
    fn delete<'a>(&'a self, bucket: &'a Bucket, _: String) -> KeyValueFuture<'a, ()> {
        denied(bucket)
    }
    fn exists<'a>(&'a self, bucket: &'a Bucket, _: String) -> KeyValueFuture<'a, bool> {
        denied(bucket)
    }
    fn list_keys<'a>(&'a self, bucket: &'a Bucket, _: Option<u64>) -> KeyValueFuture<'a, KeyPage> {
        denied(bucket)
    }
    fn increment<'a>(&'a self, bucket: &'a Bucket, _: String, _: u64) -> KeyValueFuture<'a, u64> {
        denied(bucket)
    }
    fn get_many<'a>(&'a self, bucket: &'a Bucket, _: Vec<String>) -> KeyValueFuture<'a, ManyValues> {
        denied(bucket)
    }
    fn set_many<'a>(&'a self, bucket: &'a Bucket, _: Vec<(String, Vec<u8>)>) -> KeyValueFuture<'a, ()> {
        denied(bucket)
    }
    fn delete_many<'a>(&'a self, bucket: &'a Bucket, _: Vec<String>) -> KeyValueFuture<'a, ()> {
        denied(bucket)
    }
}
