//! The host's built-in key-value store: what serves `wasi:keyvalue` to a component that has
//! no key-value link. Each component gets a JetStream key-value bucket of the lattice of its
//! own (`KEYVALUE_{lattice}_{component}`, created on first use), so:
//!
//! - no component can reach another's keys (there is no name that leads there);
//! - each component's share is bounded by the server (the bucket's `max_bytes` and message
//!   size), besides the key and value limits checked here;
//! - data survives host restarts and is the same on every host running the component.
//!
//! A guest's bucket and key become one bucket key, `b<bucket>.k<key>`, each part base64url so
//! any string is a valid key. Counters are decimal text, as Redis keeps them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use async_nats::jetstream::{self, kv};
use data_encoding::BASE64URL_NOPAD;
use futures::TryStreamExt as _;
use lattice_runtime::ComponentId;
use lattice_runtime::host::keyvalue::{
    Bucket, KeyPage, KeyValueBackend, KeyValueError, KeyValueFuture, KeyValueLimits, LIST_KEYS_PAGE, ManyValues,
};

use crate::store::{BucketLimits, open_bucket};

/// How often an increment retries when a writer on another host got there first.
const INCREMENT_ATTEMPTS: u32 = 64;
/// How many counters' last known revisions are kept.
const KNOWN_COUNTERS: usize = 4096;

/// A counter as this host last wrote it: with the revision, the next increment needs no read.
#[derive(Debug, Clone)]
struct KnownCounter {
    revision: u64,
    value: u64,
}

/// One counter's slot: increments of it on this host take turns (they could only conflict),
/// and remember what they wrote.
type CounterSlot = Arc<tokio::sync::Mutex<Option<KnownCounter>>>;

/// The built-in store of a host on a lattice.
#[derive(Debug)]
pub(crate) struct LatticeKeyValue {
    lattice: String,
    limits: KeyValueLimits,
    /// Set once the host has connected; no component runs before.
    js: OnceLock<jetstream::Context>,
    buckets: Mutex<HashMap<ComponentId, Arc<tokio::sync::OnceCell<kv::Store>>>>,
    counters: Mutex<HashMap<(ComponentId, String), CounterSlot>>,
}

impl LatticeKeyValue {
    pub(crate) fn new(lattice: &str, limits: KeyValueLimits) -> Self {
        Self {
            lattice: lattice.to_owned(),
            limits,
            js: OnceLock::new(),
            buckets: Mutex::default(),
            counters: Mutex::default(),
        }
    }

    /// The lattice's JetStream, where the buckets live.
    pub(crate) fn connect(&self, js: jetstream::Context) {
        // Set once by `Host::start`.
        let _ = self.js.set(js);
    }

    /// The bucket of `component`, opened (and created) on first use.
    async fn store(&self, component: &ComponentId) -> Result<kv::Store, KeyValueError> {
        let cell = {
            let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(buckets.entry(component.clone()).or_default())
        };
        let store = cell
            .get_or_try_init(|| async {
                let js = self
                    .js
                    .get()
                    .ok_or_else(|| unavailable("the host is not connected yet"))?;
                let limits = BucketLimits {
                    max_bytes: i64::try_from(self.limits.max_bytes_per_component).unwrap_or(i64::MAX),
                    // The value, the encoded key and the message headers.
                    max_message_size: i32::try_from(self.limits.max_value + 4 * self.limits.max_key)
                        .unwrap_or(i32::MAX),
                };
                open_bucket(js, bucket_name(&self.lattice, component), limits)
                    .await
                    .map_err(|e| unavailable(&crate::error::chain(&e)))
            })
            .await?;
        Ok(store.clone())
    }

    /// The bucket key of the guest's `key` in `bucket`, the limits checked.
    fn key(&self, bucket: &Bucket, key: &str, value: Option<&[u8]>) -> Result<String, KeyValueError> {
        self.limits.check(key, value)?;
        Ok(format!("{}{key}", prefix(bucket), key = encode('k', key)))
    }

    /// The slot of counter `stored` of `component`.
    fn counter(&self, component: &ComponentId, stored: &str) -> CounterSlot {
        let mut counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
        if counters.len() >= KNOWN_COUNTERS {
            // Forget the idle ones; a forgotten counter is read before its next write.
            counters.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        Arc::clone(counters.entry((component.clone(), stored.to_owned())).or_default())
    }

    async fn put(&self, store: &kv::Store, bucket: &Bucket, key: &str, value: Vec<u8>) -> Result<(), KeyValueError> {
        let stored = self.key(bucket, key, Some(&value))?;
        store
            .put(stored, value.into())
            .await
            .map(drop)
            .map_err(|e| write_error(bucket, &self.limits, &e))
    }
}

/// The bucket name of `component`'s store.
fn bucket_name(lattice: &str, component: &ComponentId) -> String {
    format!("KEYVALUE_{lattice}_{component}")
}

/// `tag` then `text` in base64url: a non-empty key token for any string.
fn encode(tag: char, text: &str) -> String {
    format!("{tag}{}", BASE64URL_NOPAD.encode(text.as_bytes()))
}

/// What every bucket key of the guest's `bucket` starts with.
fn prefix(bucket: &Bucket) -> String {
    format!("{}.", encode('b', bucket.name()))
}

/// The guest's key of a bucket key that starts with `prefix`.
fn decode_key(stored: &str, prefix: &str) -> Option<String> {
    let encoded = stored.strip_prefix(prefix)?.strip_prefix('k')?;
    String::from_utf8(BASE64URL_NOPAD.decode(encoded.as_bytes()).ok()?).ok()
}

fn unavailable(why: &str) -> KeyValueError {
    KeyValueError::Other(format!("the built-in key-value store is unavailable: {why}"))
}

/// A failed write: the component's share used up, or the store unavailable.
fn write_error(bucket: &Bucket, limits: &KeyValueLimits, err: &dyn std::error::Error) -> KeyValueError {
    let text = crate::error::chain(err);
    if text.contains("maximum bytes") || text.contains("resource limits exceeded") || text.contains("insufficient") {
        KeyValueError::Full {
            component: bucket.component().to_string(),
            max: limits.max_bytes_per_component,
        }
    } else {
        unavailable(&text)
    }
}

/// A pause before retry `attempt`: up to a millisecond per attempt, varying so that writers
/// on different hosts stop colliding.
fn jitter(attempt: u32) -> std::time::Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    std::time::Duration::from_micros(u64::from(nanos % 1000) * u64::from(attempt.min(10) + 1))
}

fn read_error(err: &dyn std::error::Error) -> KeyValueError {
    unavailable(&crate::error::chain(err))
}

impl KeyValueBackend for LatticeKeyValue {
    fn open<'a>(&'a self, bucket: &'a Bucket) -> KeyValueFuture<'a, ()> {
        Box::pin(async move { self.store(bucket.component()).await.map(drop) })
    }

    fn get<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let store = self.store(bucket.component()).await?;
            let value = store
                .get(self.key(bucket, &key, None)?)
                .await
                .map_err(|e| read_error(&e))?;
            Ok(value.map(Vec::from))
        })
    }

    fn set<'a>(&'a self, bucket: &'a Bucket, key: String, value: Vec<u8>) -> KeyValueFuture<'a, ()> {
        Box::pin(async move {
            let store = self.store(bucket.component()).await?;
            self.put(&store, bucket, &key, value).await
        })
    }

    fn delete<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, ()> {
        Box::pin(async move {
            let store = self.store(bucket.component()).await?;
            store
                .delete(self.key(bucket, &key, None)?)
                .await
                .map_err(|e| write_error(bucket, &self.limits, &e))
        })
    }

    fn exists<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, bool> {
        Box::pin(async move {
            let store = self.store(bucket.component()).await?;
            let entry = store
                .entry(self.key(bucket, &key, None)?)
                .await
                .map_err(|e| read_error(&e))?;
            Ok(entry.is_some_and(|e| e.operation == kv::Operation::Put))
        })
    }

    fn list_keys<'a>(&'a self, bucket: &'a Bucket, cursor: Option<u64>) -> KeyValueFuture<'a, KeyPage> {
        Box::pin(async move {
            let store = self.store(bucket.component()).await?;
            let prefix = prefix(bucket);
            let mut keys: Vec<String> = store
                .keys()
                .await
                .map_err(|e| read_error(&e))?
                .try_filter_map(|stored| std::future::ready(Ok(decode_key(&stored, &prefix))))
                .try_collect()
                .await
                .map_err(|e| read_error(&e))?;
            // Sorted, so the cursor (the number of keys already listed) pages on.
            keys.sort();
            let skip = usize::try_from(cursor.unwrap_or(0)).unwrap_or(usize::MAX);
            let total = keys.len();
            let page: Vec<String> = keys.into_iter().skip(skip).take(LIST_KEYS_PAGE).collect();
            let next = skip.saturating_add(page.len());
            Ok(KeyPage {
                keys: page,
                cursor: (next < total).then_some(next as u64),
            })
        })
    }

    fn increment<'a>(&'a self, bucket: &'a Bucket, key: String, delta: u64) -> KeyValueFuture<'a, u64> {
        Box::pin(async move {
            let store = self.store(bucket.component()).await?;
            let stored = self.key(bucket, &key, None)?;
            let slot = self.counter(bucket.component(), &stored);
            let mut known = slot.lock().await;
            // Write only if nobody wrote since the revision we know (or read); when another
            // host did, read and try again after a short, varying pause.
            for attempt in 0..INCREMENT_ATTEMPTS {
                let (current, revision) = match known.take() {
                    Some(counter) => (Some(counter.value), counter.revision),
                    None => {
                        let entry = store.entry(stored.clone()).await.map_err(|e| read_error(&e))?;
                        match entry {
                            Some(e) if e.operation == kv::Operation::Put => {
                                let value = lattice_runtime::host::keyvalue::add_to_counter(&key, Some(&e.value), 0)?;
                                (Some(value), e.revision)
                            }
                            Some(e) => (None, e.revision),
                            None => (None, 0),
                        }
                    }
                };
                let value = current.unwrap_or(0).checked_add(delta).ok_or_else(|| {
                    KeyValueError::Other(format!(
                        "cannot increment `{key}` by {delta}: the counter would overflow u64"
                    ))
                })?;
                match store.update(&stored, value.to_string().into(), revision).await {
                    Ok(revision) => {
                        *known = Some(KnownCounter { revision, value });
                        return Ok(value);
                    }
                    Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                        tokio::time::sleep(jitter(attempt)).await;
                    }
                    Err(e) => return Err(write_error(bucket, &self.limits, &e)),
                }
            }
            Err(KeyValueError::Other(format!(
                "cannot increment `{key}`: it changed {INCREMENT_ATTEMPTS} times while being incremented, try again"
            )))
        })
    }

    fn get_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> KeyValueFuture<'a, ManyValues> {
        Box::pin(async move {
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                let value = self.get(bucket, key.clone()).await?;
                values.push(value.map(|value| (key, value)));
            }
            Ok(values)
        })
    }

    fn set_many<'a>(&'a self, bucket: &'a Bucket, pairs: Vec<(String, Vec<u8>)>) -> KeyValueFuture<'a, ()> {
        Box::pin(async move {
            let store = self.store(bucket.component()).await?;
            for (key, value) in pairs {
                self.put(&store, bucket, &key, value).await?;
            }
            Ok(())
        })
    }

    fn delete_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> KeyValueFuture<'a, ()> {
        Box::pin(async move {
            for key in keys {
                self.delete(bucket, key).await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use lattice_test_support::nats::NatsServer;

    use super::*;

    #[test]
    fn any_key_encodes_to_a_valid_bucket_key_and_back() {
        let bucket = Bucket::new(ComponentId::from("c"), "my.bucket");
        for key in ["", "counter:/a b?c", "ünïcode", ".."] {
            let stored = format!("{}{}", prefix(&bucket), encode('k', key));
            assert!(
                stored
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
                "{stored}"
            );
            assert_eq!(decode_key(&stored, &prefix(&bucket)).as_deref(), Some(key));
        }
        assert_eq!(decode_key("bxyz.kAA", &prefix(&bucket)), None);
    }

    async fn store(nats: &NatsServer, limits: KeyValueLimits) -> LatticeKeyValue {
        let kv = LatticeKeyValue::new("test", limits);
        kv.connect(jetstream::new(async_nats::connect(nats.url()).await.unwrap()));
        kv
    }

    #[tokio::test]
    async fn components_are_isolated_and_data_outlives_the_store() {
        let nats = NatsServer::start();
        let kv = store(&nats, KeyValueLimits::default()).await;
        let a = Bucket::new(ComponentId::from("a"), "");
        let b = Bucket::new(ComponentId::from("b"), "");
        kv.set(&a, "secret".into(), b"a's".to_vec()).await.unwrap();
        assert_eq!(kv.increment(&a, "n".into(), 2).await.unwrap(), 2);
        assert_eq!(kv.get(&b, "secret".into()).await.unwrap(), None);
        assert!(!kv.exists(&b, "secret".into()).await.unwrap());
        assert!(kv.list_keys(&b, None).await.unwrap().keys.is_empty());

        // A new store (a restarted host) finds the data where it was left.
        let again = store(&nats, KeyValueLimits::default()).await;
        assert_eq!(
            again.get(&a, "secret".into()).await.unwrap().as_deref(),
            Some(&b"a's"[..])
        );
        assert_eq!(again.increment(&a, "n".into(), 1).await.unwrap(), 3);
        assert_eq!(again.list_keys(&a, None).await.unwrap().keys, ["n", "secret"]);
        again.delete_many(&a, vec!["n".into(), "secret".into()]).await.unwrap();
        assert!(again.list_keys(&a, None).await.unwrap().keys.is_empty());
    }

    #[tokio::test]
    async fn increments_from_many_writers_are_all_counted() {
        let nats = NatsServer::start();
        let kv = Arc::new(store(&nats, KeyValueLimits::default()).await);
        let bucket = Bucket::new(ComponentId::from("counter"), "default");
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let kv = Arc::clone(&kv);
                let bucket = bucket.clone();
                tokio::spawn(async move {
                    for _ in 0..25 {
                        kv.increment(&bucket, "hits".into(), 1).await.unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        assert_eq!(
            kv.get(&bucket, "hits".into()).await.unwrap().as_deref(),
            Some(&b"200"[..])
        );
    }

    #[tokio::test]
    async fn a_component_s_share_is_bounded() {
        let nats = NatsServer::start();
        let limits = KeyValueLimits {
            max_key: 64,
            max_value: 1024,
            max_bytes_per_component: 8 * 1024,
        };
        let kv = store(&nats, limits).await;
        let bucket = Bucket::new(ComponentId::from("hog"), "");
        let err = kv.set(&bucket, "big".into(), vec![0; 2048]).await.unwrap_err();
        assert!(matches!(err, KeyValueError::TooLarge { .. }), "{err}");
        let mut full = None;
        for i in 0..64 {
            if let Err(err) = kv.set(&bucket, format!("k{i}"), vec![0; 1000]).await {
                full = Some(err);
                break;
            }
        }
        let err = full.expect("the share fills up");
        assert!(matches!(err, KeyValueError::Full { .. }), "{err}");
        // Another component is not affected.
        let other = Bucket::new(ComponentId::from("other"), "");
        kv.set(&other, "k".into(), vec![0; 1000]).await.unwrap();
    }
}
