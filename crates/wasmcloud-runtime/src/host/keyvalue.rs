//! `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft`: the guest's key-value
//! calls go to a [`KeyValueBackend`] the embedder chooses through
//! [`crate::RuntimeBuilder::keyvalue_backend`]. The default is the embedded
//! [`MemoryKeyValue`] (the built-in store of `wash dev`); the host supplies a
//! backend that forwards to a linked provider (Redis) in production. Guests
//! see the same WIT either way, so switching needs no recompile.
//!
//! Failures the guest can cause or the backend reports (a bad bucket name, a
//! key that is not a counter) come back as the WIT `error` variant; only a
//! forged resource handle traps, as everywhere in wasmtime.

mod memory;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use super::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::id::ComponentId;

pub use memory::MemoryKeyValue;

/// The bucket `open("")` and `open("default")` name.
pub const DEFAULT_BUCKET: &str = "default";

/// A bucket a component opened: the host side of the WIT `bucket` resource,
/// and what every [`KeyValueBackend`] call is addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bucket {
    component: ComponentId,
    name: Arc<str>,
}

impl Bucket {
    /// The bucket `name` as opened by `component`. An empty name is the
    /// [`DEFAULT_BUCKET`].
    pub fn new(component: ComponentId, name: &str) -> Self {
        let name = if name.is_empty() { DEFAULT_BUCKET } else { name };
        Self {
            component,
            name: name.into(),
        }
    }

    /// The component that opened the bucket: a backend that forwards over
    /// links looks up that component's link with it.
    #[must_use]
    pub fn component(&self) -> &ComponentId {
        &self.component
    }

    /// The bucket's name, [`DEFAULT_BUCKET`] for the empty identifier.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Why a key-value operation failed; each kind maps to the WIT `error` case
/// of the same name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyValueError {
    /// No store answers to the bucket name.
    #[error(
        "no key-value store named `{bucket}`: use the default bucket (`\"\"` or `\"default\"`) or a configured one"
    )]
    NoSuchStore {
        /// The name the component asked for.
        bucket: String,
    },
    /// The component may not use the bucket.
    #[error("access to key-value store `{bucket}` is denied: grant the component access to it")]
    AccessDenied {
        /// The bucket refused.
        bucket: String,
    },
    /// Anything else, described for the guest.
    #[error("{0}")]
    Other(String),
}

impl From<KeyValueError> for store::Error {
    fn from(err: KeyValueError) -> Self {
        match err {
            KeyValueError::NoSuchStore { .. } => Self::NoSuchStore,
            KeyValueError::AccessDenied { .. } => Self::AccessDenied,
            KeyValueError::Other(message) => Self::Other(message),
        }
    }
}

/// One page of [`KeyValueBackend::list_keys`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    /// Keys of this page.
    pub keys: Vec<String>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<u64>,
}

/// What `get-many` returns: for each key asked, in order, the key with its
/// value, or `None` where the key holds nothing.
pub type ManyValues = Vec<Option<(String, Vec<u8>)>>;

/// The future every [`KeyValueBackend`] method returns.
pub type KeyValueFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KeyValueError>> + Send + 'a>>;

/// A key-value store, addressed by [`Bucket`]. The runtime ships
/// [`MemoryKeyValue`]; the host implements it for a provider reached over a
/// link. Methods return boxed futures so the trait stays object safe and a
/// backend may do network I/O without blocking the guest's worker thread.
///
/// Every method fails with a [`KeyValueError`] the guest receives as the WIT
/// `error` variant.
pub trait KeyValueBackend: Send + Sync + fmt::Debug + 'static {
    /// Checks that `bucket` can be used; called by `store.open` before the
    /// guest gets a handle.
    fn open<'a>(&'a self, bucket: &'a Bucket) -> KeyValueFuture<'a, ()>;

    /// The value under `key`, `None` when there is none.
    fn get<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, Option<Vec<u8>>>;

    /// Stores `value` under `key`, replacing what was there.
    fn set<'a>(&'a self, bucket: &'a Bucket, key: String, value: Vec<u8>) -> KeyValueFuture<'a, ()>;

    /// Removes `key`; a missing key is not an error.
    fn delete<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, ()>;

    /// Whether `key` holds a value.
    fn exists<'a>(&'a self, bucket: &'a Bucket, key: String) -> KeyValueFuture<'a, bool>;

    /// One page of the bucket's keys, starting at `cursor` (`None`: the
    /// first page).
    fn list_keys<'a>(&'a self, bucket: &'a Bucket, cursor: Option<u64>) -> KeyValueFuture<'a, KeyPage>;

    /// Atomically adds `delta` to the counter under `key` (missing counts as
    /// zero) and returns the new value. Counters are stored as decimal text,
    /// as Redis `INCRBY` stores them, so `get` reads them the same way on
    /// every backend.
    fn increment<'a>(&'a self, bucket: &'a Bucket, key: String, delta: u64) -> KeyValueFuture<'a, u64>;

    /// The pairs for `keys`, in order, `None` where a key holds nothing.
    fn get_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> KeyValueFuture<'a, ManyValues>;

    /// Stores every pair (not atomically as a whole).
    fn set_many<'a>(&'a self, bucket: &'a Bucket, pairs: Vec<(String, Vec<u8>)>) -> KeyValueFuture<'a, ()>;

    /// Removes every key (not atomically as a whole).
    fn delete_many<'a>(&'a self, bucket: &'a Bucket, keys: Vec<String>) -> KeyValueFuture<'a, ()>;
}

/// What `wasi:keyvalue` needs from the store data.
pub struct WasiKeyValueCtxView<'a> {
    /// The calling component, recorded in every [`Bucket`] it opens.
    pub component: &'a ComponentId,
    /// Where the calls go.
    pub backend: &'a Arc<dyn KeyValueBackend>,
    /// Holds the guest's open buckets.
    pub table: &'a mut ResourceTable,
}

impl fmt::Debug for WasiKeyValueCtxView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiKeyValueCtxView")
            .field("component", self.component)
            .field("backend", self.backend)
            .finish_non_exhaustive()
    }
}

/// Projects [`WasiKeyValueCtxView`] out of the store data `T`.
pub trait WasiKeyValueView: Send {
    /// The view for this store.
    fn keyvalue(&mut self) -> WasiKeyValueCtxView<'_>;
}

struct WasiKeyValue;

impl HasData for WasiKeyValue {
    type Data<'a> = WasiKeyValueCtxView<'a>;
}

/// The result shape of every binding: the outer error traps (a forged
/// handle), the inner one is the guest-visible WIT error.
type GuestResult<T> = wasmtime::Result<Result<T, store::Error>>;

fn guest<T>(result: Result<T, KeyValueError>) -> GuestResult<T> {
    Ok(result.map_err(store::Error::from))
}

impl WasiKeyValueCtxView<'_> {
    fn bucket(&self, handle: &Resource<Bucket>) -> wasmtime::Result<&Bucket> {
        Ok(self.table.get(handle)?)
    }
}

impl store::Host for WasiKeyValueCtxView<'_> {
    async fn open(&mut self, identifier: String) -> GuestResult<Resource<Bucket>> {
        let bucket = Bucket::new(self.component.clone(), &identifier);
        if let Err(err) = self.backend.open(&bucket).await {
            tracing::debug!(component_id = %self.component, bucket = identifier, %err, "key-value open refused");
            return guest(Err(err));
        }
        Ok(Ok(self.table.push(bucket)?))
    }
}

impl store::HostBucket for WasiKeyValueCtxView<'_> {
    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> GuestResult<Option<Vec<u8>>> {
        let bucket = self.bucket(&bucket)?;
        guest(self.backend.get(bucket, key).await)
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> GuestResult<()> {
        let bucket = self.bucket(&bucket)?;
        guest(self.backend.set(bucket, key, value).await)
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> GuestResult<()> {
        let bucket = self.bucket(&bucket)?;
        guest(self.backend.delete(bucket, key).await)
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> GuestResult<bool> {
        let bucket = self.bucket(&bucket)?;
        guest(self.backend.exists(bucket, key).await)
    }

    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<u64>) -> GuestResult<store::KeyResponse> {
        let bucket = self.bucket(&bucket)?;
        guest(
            self.backend
                .list_keys(bucket, cursor)
                .await
                .map(|page| store::KeyResponse {
                    keys: page.keys,
                    cursor: page.cursor,
                }),
        )
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for WasiKeyValueCtxView<'_> {
    async fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: u64) -> GuestResult<u64> {
        let bucket = self.bucket(&bucket)?;
        guest(self.backend.increment(bucket, key, delta).await)
    }
}

impl batch::Host for WasiKeyValueCtxView<'_> {
    async fn get_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> GuestResult<ManyValues> {
        let bucket = self.bucket(&bucket)?;
        guest(self.backend.get_many(bucket, keys).await)
    }

    async fn set_many(&mut self, bucket: Resource<Bucket>, key_values: Vec<(String, Vec<u8>)>) -> GuestResult<()> {
        let bucket = self.bucket(&bucket)?;
        guest(self.backend.set_many(bucket, key_values).await)
    }

    async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> GuestResult<()> {
        let bucket = self.bucket(&bucket)?;
        guest(self.backend.delete_many(bucket, keys).await)
    }
}

/// Adds `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft` to `linker`.
///
/// # Errors
///
/// When the linker already defines one of the interfaces.
pub fn add_to_linker<T: WasiKeyValueView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    store::add_to_linker::<T, WasiKeyValue>(linker, T::keyvalue)?;
    atomics::add_to_linker::<T, WasiKeyValue>(linker, T::keyvalue)?;
    batch::add_to_linker::<T, WasiKeyValue>(linker, T::keyvalue)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_identifier_is_the_default_bucket() {
        let component = ComponentId::from("c");
        assert_eq!(Bucket::new(component.clone(), "").name(), DEFAULT_BUCKET);
        assert_eq!(Bucket::new(component.clone(), "default"), Bucket::new(component, ""));
    }

    #[test]
    fn errors_map_to_the_wit_variant() {
        let missing = KeyValueError::NoSuchStore { bucket: "x".into() };
        assert!(missing.to_string().starts_with("no key-value store named `x`"));
        assert!(matches!(store::Error::from(missing), store::Error::NoSuchStore));
        let denied = KeyValueError::AccessDenied { bucket: "x".into() };
        assert!(matches!(store::Error::from(denied), store::Error::AccessDenied));
        let other = store::Error::from(KeyValueError::Other("boom".into()));
        assert!(matches!(other, store::Error::Other(message) if message == "boom"));
    }
}
