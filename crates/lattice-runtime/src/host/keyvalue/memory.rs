//! [`MemoryKeyValue`]: the embedded key-value store, in process memory. Each component has
//! its own space (no component sees another's buckets, whatever they are named), bounded by
//! [`KeyValueLimits`]. The runtime's default built-in store, so `wasi:keyvalue` works with no
//! server and no link; a host on a lattice supplies a durable one instead.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::{Bucket, KeyPage, KeyValueBackend, KeyValueError, KeyValueFuture, KeyValueLimits, ManyValues};
use crate::id::ComponentId;

/// How many keys one `list-keys` page holds.
pub const LIST_KEYS_PAGE: usize = 1000;

/// The longest bucket name accepted.
const MAX_BUCKET_NAME: usize = 255;

type Entries = BTreeMap<String, Vec<u8>>;

/// One component's buckets and how many bytes they hold.
#[derive(Debug, Default)]
struct Space {
    used: u64,
    buckets: HashMap<Arc<str>, Entries>,
}

/// An in-memory key-value store. Buckets are created on first open and live as long as the
/// store; a name is 1 to 255 ASCII letters, digits, `-`, `_` or `.`, anything else is
/// `no-such-store`. Each component's space has its own lock, held only for one operation,
/// so `increment` is atomic.
#[derive(Debug, Default)]
pub struct MemoryKeyValue {
    limits: KeyValueLimits,
    spaces: RwLock<HashMap<ComponentId, Arc<Mutex<Space>>>>,
}

impl MemoryKeyValue {
    /// An empty store with the default limits.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with `limits`.
    #[must_use]
    pub fn with_limits(limits: KeyValueLimits) -> Self {
        Self {
            limits,
            spaces: RwLock::default(),
        }
    }

    /// The names of the buckets `component` opened so far, sorted.
    #[must_use]
    pub fn bucket_names(&self, component: &ComponentId) -> Vec<String> {
        let Some(space) = self
            .spaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(component)
            .cloned()
        else {
            return Vec::new();
        };
        let space = space.lock().unwrap_or_else(PoisonError::into_inner);
        let mut names: Vec<String> = space.buckets.keys().map(ToString::to_string).collect();
        names.sort();
        names
    }

    fn space(&self, component: &ComponentId) -> Arc<Mutex<Space>> {
        if let Some(space) = self
            .spaces
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(component)
        {
            return Arc::clone(space);
        }
        let mut spaces = self.spaces.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(spaces.entry(component.clone()).or_default())
    }

    /// Runs `op` on the bucket's entries under its component's lock, keeping the byte count.
    fn with<T>(
        &self,
        bucket: &Bucket,
        op: impl FnOnce(&mut Writer<'_>) -> Result<T, KeyValueError>,
    ) -> Result<T, KeyValueError> {
        let name = bucket.name();
        if !valid_bucket_name(name) {
            return Err(KeyValueError::NoSuchStore { bucket: name.into() });
        }
        let space = self.space(bucket.component());
        let mut space = space.lock().unwrap_or_else(PoisonError::into_inner);
        let Space { used, buckets } = &mut *space;
        let entries = buckets.entry(name.into()).or_default();
        op(&mut Writer {
            entries,
            used,
            limits: &self.limits,
            component: bucket.component(),
        })
    }
}

/// One bucket's entries, changed only within the component's limits.
struct Writer<'a> {
    entries: &'a mut Entries,
    used: &'a mut u64,
    limits: &'a KeyValueLimits,
    component: &'a ComponentId,
}

impl Writer<'_> {
    fn get(&self, key: &str) -> Option<&Vec<u8>> {
        self.entries.get(key)
    }

    fn insert(&mut self, key: String, value: Vec<u8>) -> Result<(), KeyValueError> {
        self.limits.check(&key, Some(&value))?;
        let old = self.entries.get(&key).map_or(0, |v| (key.len() + v.len()) as u64);
        let new = (key.len() + value.len()) as u64;
        let used = *self.used - old + new;
        if used > self.limits.max_bytes_per_component {
            return Err(KeyValueError::Full {
                component: self.component.to_string(),
                max: self.limits.max_bytes_per_component,
            });
        }
        *self.used = used;
        self.entries.insert(key, value);
        Ok(())
    }

    fn remove(&mut self, key: &str) {
        if let Some(value) = self.entries.remove(key) {
            *self.used -= (key.len() + value.len()) as u64;
        }
    }
}

/// Whether `name` may name a bucket of the memory store.
fn valid_bucket_name(name: &str) -> bool {
    (1..=MAX_BUCKET_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn ready<'a, T: Send + 'a>(result: Result<T, KeyValueError>) -> KeyValueFuture<'a, T> {
    Box::pin(std::future::ready(result))
}

impl KeyValueBackend for MemoryKeyValue {
    fn open<'a>(&'a self, bucket: &'a Bucket) -> KeyValueFuture<'a, ()> {
        ready(self.with(bucket, |_| Ok(())))
    }

    fn get<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, Option<Vec<u8>>> {
        ready(self.with(bucket, |entries| Ok(entries.get(&key).cloned())))
    }

    fn set<'a>(&'a self, bucket: &'a Bucket, key: String, value: Vec<u8>) -> KeyValueFuture<'a, ()> {
        ready(self.with(bucket, |entries| entries.insert(key, value)))
    }

    fn delete<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, ()> {
        ready(self.with(bucket, |entries| {
            entries.remove(&key);
            Ok(())
        }))
    }

    fn exists<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, bool> {
        ready(self.with(bucket, |entries| Ok(entries.get(&key).is_some())))
    }

    fn list_keys<'a>(&'a self, bucket: &'a Bucket, cursor: Option<u64>) -> KeyValueFuture<'a, KeyPage> {
        // The cursor is the number of keys already listed: keys are sorted,
        // so pages follow on from each other while the bucket is unchanged.
        ready(self.with(bucket, |writer| {
            let entries = &*writer.entries;
            let skip = usize::try_from(cursor.unwrap_or(0)).unwrap_or(usize::MAX);
            let keys: Vec<String> = entries.keys().skip(skip).take(LIST_KEYS_PAGE).cloned().collect();
            let next = skip.saturating_add(keys.len());
            let cursor = (next < entries.len()).then_some(next as u64);
            Ok(KeyPage { keys, cursor })
        }))
    }

    fn increment<'a>(&'a self, bucket: &'a Bucket, key: String, delta: u64) -> KeyValueFuture<'a, u64> {
        ready(self.with(bucket, |entries| {
            let value = super::add_to_counter(&key, entries.get(&key).map(Vec::as_slice), delta)?;
            entries.insert(key, value.to_string().into_bytes())?;
            Ok(value)
        }))
    }

    fn get_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> KeyValueFuture<'a, ManyValues> {
        ready(self.with(bucket, |entries| {
            Ok(keys
                .into_iter()
                .map(|key| entries.get(&key).cloned().map(|value| (key, value)))
                .collect())
        }))
    }

    fn set_many<'a>(&'a self, bucket: &'a Bucket, pairs: Vec<(String, Vec<u8>)>) -> KeyValueFuture<'a, ()> {
        ready(self.with(bucket, |entries| {
            pairs
                .into_iter()
                .try_for_each(|(key, value)| entries.insert(key, value))
        }))
    }

    fn delete_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> KeyValueFuture<'a, ()> {
        ready(self.with(bucket, |entries| {
            for key in &keys {
                entries.remove(key);
            }
            Ok(())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ComponentId;

    fn bucket(name: &str) -> Bucket {
        Bucket::new(ComponentId::from("test"), name)
    }

    fn block<T>(future: KeyValueFuture<'_, T>) -> Result<T, KeyValueError> {
        futures::executor::block_on(future)
    }

    #[test]
    fn set_get_exists_delete() {
        let kv = MemoryKeyValue::new();
        let b = bucket("");
        block(kv.set(&b, "k".into(), b"v".to_vec())).unwrap();
        assert_eq!(block(kv.get(&b, "k".into())).unwrap().as_deref(), Some(&b"v"[..]));
        assert!(block(kv.exists(&b, "k".into())).unwrap());
        block(kv.delete(&b, "k".into())).unwrap();
        block(kv.delete(&b, "k".into())).unwrap();
        assert!(!block(kv.exists(&b, "k".into())).unwrap());
        assert_eq!(kv.bucket_names(&ComponentId::from("test")), ["default"]);
    }

    #[test]
    fn buckets_are_separate_and_names_are_checked() {
        let kv = MemoryKeyValue::new();
        block(kv.set(&bucket("a"), "k".into(), b"1".to_vec())).unwrap();
        assert_eq!(block(kv.get(&bucket("b"), "k".into())).unwrap(), None);
        for bad in ["no spaces", "a/b", "ü", &"x".repeat(256)] {
            let err = block(kv.open(&bucket(bad))).unwrap_err();
            assert_eq!(err, KeyValueError::NoSuchStore { bucket: bad.into() });
        }
        block(kv.open(&bucket("Ok-name_1.x"))).unwrap();
    }

    #[test]
    fn components_never_see_each_other_s_buckets() {
        let kv = MemoryKeyValue::new();
        let mine = Bucket::new(ComponentId::from("a"), "shared-name");
        let theirs = Bucket::new(ComponentId::from("b"), "shared-name");
        block(kv.set(&mine, "secret".into(), b"a's".to_vec())).unwrap();
        assert_eq!(block(kv.get(&theirs, "secret".into())).unwrap(), None);
        assert!(block(kv.list_keys(&theirs, None)).unwrap().keys.is_empty());
        block(kv.delete(&theirs, "secret".into())).unwrap();
        assert_eq!(
            block(kv.get(&mine, "secret".into())).unwrap().as_deref(),
            Some(&b"a's"[..])
        );
    }

    #[test]
    fn limits_bound_keys_values_and_each_component_s_share() {
        let kv = MemoryKeyValue::with_limits(KeyValueLimits {
            max_key: 8,
            max_value: 16,
            max_bytes_per_component: 40,
        });
        let b = bucket("small");
        let err = block(kv.set(&b, "k".repeat(9), Vec::new())).unwrap_err();
        assert!(matches!(err, KeyValueError::TooLarge { max: 8, .. }), "{err}");
        let err = block(kv.set(&b, "k".into(), vec![0; 17])).unwrap_err();
        assert!(err.to_string().contains("the value of `k` is 17 bytes"), "{err}");
        block(kv.set(&b, "a".into(), vec![0; 16])).unwrap();
        block(kv.set(&b, "b".into(), vec![0; 16])).unwrap();
        let err = block(kv.set(&bucket("other"), "c".into(), vec![0; 16])).unwrap_err();
        assert!(matches!(err, KeyValueError::Full { max: 40, .. }), "{err}");
        assert!(
            err.to_string().contains("delete keys, or link a key-value provider"),
            "{err}"
        );
        // Replacing a value counts only the difference; deleting frees the share.
        block(kv.set(&b, "a".into(), vec![0; 10])).unwrap();
        block(kv.delete(&b, "b".into())).unwrap();
        block(kv.set(&bucket("other"), "c".into(), vec![0; 16])).unwrap();
        // Another component has a share of its own.
        let other = Bucket::new(ComponentId::from("other"), "small");
        block(kv.set(&other, "a".into(), vec![0; 16])).unwrap();
    }

    #[test]
    fn increment_counts_in_decimal_and_refuses_non_numbers() {
        let kv = MemoryKeyValue::new();
        let b = bucket("default");
        assert_eq!(block(kv.increment(&b, "n".into(), 1)).unwrap(), 1);
        assert_eq!(block(kv.increment(&b, "n".into(), 41)).unwrap(), 42);
        assert_eq!(block(kv.get(&b, "n".into())).unwrap().as_deref(), Some(&b"42"[..]));
        block(kv.set(&b, "text".into(), b"hello".to_vec())).unwrap();
        let err = block(kv.increment(&b, "text".into(), 1)).unwrap_err();
        assert!(err.to_string().contains("not a decimal number"), "{err}");
        block(kv.set(&b, "max".into(), u64::MAX.to_string().into_bytes())).unwrap();
        let err = block(kv.increment(&b, "max".into(), 1)).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    }

    #[test]
    fn increment_is_atomic_under_concurrency() {
        const THREADS: u64 = 8;
        const PER_THREAD: u64 = 500;
        let kv = Arc::new(MemoryKeyValue::new());
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let kv = Arc::clone(&kv);
                std::thread::spawn(move || {
                    let b = bucket("counters");
                    for _ in 0..PER_THREAD {
                        block(kv.increment(&b, "hits".into(), 1)).unwrap();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let total = block(kv.get(&bucket("counters"), "hits".into())).unwrap().unwrap();
        assert_eq!(total, (THREADS * PER_THREAD).to_string().into_bytes());
    }

    #[test]
    fn list_keys_pages_with_a_cursor() {
        let kv = MemoryKeyValue::new();
        let b = bucket("big");
        let pairs = (0..LIST_KEYS_PAGE + 5)
            .map(|i| (format!("k{i:05}"), Vec::new()))
            .collect();
        block(kv.set_many(&b, pairs)).unwrap();
        let first = block(kv.list_keys(&b, None)).unwrap();
        assert_eq!(first.keys.len(), LIST_KEYS_PAGE);
        assert_eq!(first.cursor, Some(LIST_KEYS_PAGE as u64));
        let second = block(kv.list_keys(&b, first.cursor)).unwrap();
        assert_eq!(second.keys.len(), 5);
        assert_eq!(second.cursor, None);
        assert_eq!(second.keys[4], format!("k{:05}", LIST_KEYS_PAGE + 4));
        assert_eq!(block(kv.list_keys(&b, Some(u64::MAX))).unwrap(), KeyPage::default());
    }

    #[test]
    fn batch_operations() {
        let kv = MemoryKeyValue::new();
        let b = bucket("batch");
        block(kv.set_many(&b, vec![("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())])).unwrap();
        let got = block(kv.get_many(&b, vec!["a".into(), "missing".into(), "b".into()])).unwrap();
        assert_eq!(
            got,
            [
                Some(("a".into(), b"1".to_vec())),
                None,
                Some(("b".into(), b"2".to_vec()))
            ]
        );
        block(kv.delete_many(&b, vec!["a".into(), "missing".into()])).unwrap();
        assert_eq!(block(kv.list_keys(&b, None)).unwrap().keys, ["b"]);
    }
}
