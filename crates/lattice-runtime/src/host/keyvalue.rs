//! `wasi:keyvalue/{store,atomics,batch}@0.2.0-draft`. Each call goes over the component's
//! key-value link when it has one (as `wrpc:keyvalue/*@0.2.0-draft` to the link's target, e.g.
//! a Redis provider), and otherwise to the built-in store, a [`KeyValueBackend`] the embedder
//! chooses through [`crate::RuntimeBuilder::keyvalue_backend`]. The link is looked up on every
//! call, so putting or deleting one takes effect at once. Guests see the same WIT either way,
//! so switching needs no recompile.
//!
//! Failures the guest can cause or the store reports (a bad bucket name, a key that is not a
//! counter, an unreachable provider) come back as the WIT `error` variant; only a forged
//! resource handle traps, as everywhere in wasmtime.

mod memory;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use lattice_interfaces::bindings::wrpc::keyvalue as wrpc_kv;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use super::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::id::ComponentId;
use crate::imports::Served;
use crate::links::{CallContext, LinkCtx, LinkInvoker, Route};

pub use memory::{LIST_KEYS_PAGE, MemoryKeyValue};

/// What this built-in serves.
pub(crate) const SERVED: Served = Served {
    package: "wasi:keyvalue",
    interfaces: &["store", "atomics", "batch"],
    version: "0.2.0-draft",
};

/// The bucket `open("")` and `open("default")` name.
pub const DEFAULT_BUCKET: &str = "default";

/// A bucket a component opened: the host side of the WIT `bucket` resource,
/// and what every [`KeyValueBackend`] call is addressed to.
///
/// Two buckets are the same when the same component opened them under the same name (`""`
/// and `"default"` are one bucket).
#[derive(Debug, Clone)]
pub struct Bucket {
    component: ComponentId,
    identifier: Arc<str>,
}

impl Bucket {
    /// The bucket `identifier` as opened by `component`.
    pub fn new(component: ComponentId, identifier: &str) -> Self {
        Self {
            component,
            identifier: identifier.into(),
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
        if self.identifier.is_empty() {
            DEFAULT_BUCKET
        } else {
            &self.identifier
        }
    }

    /// The identifier exactly as the component passed it to `open`; what a linked store
    /// receives.
    #[must_use]
    pub fn identifier(&self) -> &str {
        &self.identifier
    }
}

impl PartialEq for Bucket {
    fn eq(&self, other: &Self) -> bool {
        self.component == other.component && self.name() == other.name()
    }
}

impl Eq for Bucket {}

impl std::hash::Hash for Bucket {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.component.hash(state);
        self.name().hash(state);
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
    /// The component has no key-value link and there is no built-in store.
    #[error(
        "no link named `{link_name}` provides `{interface}` and this host has no built-in key-value store: put a key-value link for the component"
    )]
    NoLink {
        /// The link name the component used.
        link_name: String,
        /// The interface it called.
        interface: String,
    },
    /// A key or value larger than the store accepts.
    #[error(
        "{what} is {size} bytes, more than the {max} bytes the built-in key-value store accepts: store less, or link a key-value provider"
    )]
    TooLarge {
        /// `the key` or `the value of <key>`.
        what: String,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The component's share of the store is used up.
    #[error(
        "the built-in key-value store of component `{component}` is full ({max} bytes): delete keys, or link a key-value provider"
    )]
    Full {
        /// Whose share it is.
        component: String,
        /// The share.
        max: u64,
    },
    /// Anything else, described for the guest.
    #[error("{0}")]
    Other(String),
}

/// Bounds of a built-in store, per component: no component can fill the host's memory or
/// disk, or crowd out another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyValueLimits {
    /// The longest key, in bytes.
    pub max_key: usize,
    /// The largest value, in bytes.
    pub max_value: usize,
    /// The most one component may store, keys and values of all its buckets together.
    pub max_bytes_per_component: u64,
}

impl Default for KeyValueLimits {
    fn default() -> Self {
        Self {
            max_key: 1024,
            max_value: 512 * 1024,
            max_bytes_per_component: 64 * 1024 * 1024,
        }
    }
}

impl KeyValueLimits {
    /// Checks one key and value against the limits.
    ///
    /// # Errors
    ///
    /// [`KeyValueError::TooLarge`] naming what is too large.
    pub fn check(&self, key: &str, value: Option<&[u8]>) -> Result<(), KeyValueError> {
        if key.len() > self.max_key {
            return Err(KeyValueError::TooLarge {
                what: "the key".to_owned(),
                size: key.len(),
                max: self.max_key,
            });
        }
        if let Some(value) = value
            && value.len() > self.max_value
        {
            return Err(KeyValueError::TooLarge {
                what: format!("the value of `{key}`"),
                size: value.len(),
                max: self.max_value,
            });
        }
        Ok(())
    }
}

impl From<KeyValueError> for store::Error {
    fn from(err: KeyValueError) -> Self {
        match err {
            KeyValueError::NoSuchStore { .. } => Self::NoSuchStore,
            KeyValueError::AccessDenied { .. } => Self::AccessDenied,
            err @ (KeyValueError::NoLink { .. } | KeyValueError::TooLarge { .. } | KeyValueError::Full { .. }) => {
                Self::Other(err.to_string())
            }
            KeyValueError::Other(message) => Self::Other(message),
        }
    }
}

/// Adds `delta` to the decimal counter `current` of `key` (absent: zero): how every built-in
/// store increments, so counters read the same everywhere.
///
/// # Errors
///
/// [`KeyValueError::Other`] when the value is not a decimal number or the sum overflows.
pub fn add_to_counter(key: &str, current: Option<&[u8]>, delta: u64) -> Result<u64, KeyValueError> {
    let value = match current {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or_else(|| {
                KeyValueError::Other(format!(
                    "cannot increment `{key}`: its value is not a decimal number; use a separate key for the counter"
                ))
            })?,
    };
    value.checked_add(delta).ok_or_else(|| {
        KeyValueError::Other(format!(
            "cannot increment `{key}` by {delta}: the counter would overflow u64"
        ))
    })
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
    /// The built-in store, serving the component when it has no key-value link; `None`
    /// when the embedder offers none.
    pub backend: Option<&'a Arc<dyn KeyValueBackend>>,
    /// Holds the guest's open buckets.
    pub table: &'a mut ResourceTable,
    pub(crate) links: &'a LinkCtx,
}

impl fmt::Debug for WasiKeyValueCtxView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasiKeyValueCtxView")
            .field("component", self.component)
            .field("backend", &self.backend)
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

/// The result shape of every binding: the outer error traps (a forged handle), the inner one
/// is the guest-visible WIT error.
type GuestResult<T> = wasmtime::Result<Result<T, store::Error>>;

fn guest<T>(result: Result<T, KeyValueError>) -> GuestResult<T> {
    Ok(result.map_err(store::Error::from))
}

/// The interfaces a key-value link may provide, as links name them.
const STORE: &str = "wasi:keyvalue/store";
const ATOMICS: &str = "wasi:keyvalue/atomics";
const BATCH: &str = "wasi:keyvalue/batch";

/// Where one key-value call goes: over the component's link, or to the built-in store.
enum Via<'a> {
    Link {
        invoker: LinkInvoker,
        cx: CallContext,
        route: Route,
    },
    Builtin(&'a Arc<dyn KeyValueBackend>),
}

/// What a call over a key-value link returns: the transport's outcome around the WIT one.
type WrpcResult<T> = anyhow::Result<Result<T, wrpc_kv::store::Error>>;

impl WasiKeyValueCtxView<'_> {
    fn bucket(&self, handle: &Resource<Bucket>) -> wasmtime::Result<Bucket> {
        Ok(self.table.get(handle)?.clone())
    }

    /// The link for `interface` if the component has one, else the built-in store.
    fn via(&self, interface: &str) -> Result<Via<'_>, KeyValueError> {
        if let Some(route) = self.links.route(interface) {
            return Ok(Via::Link {
                invoker: self.links.invoker(),
                cx: self.links.routed(route.clone()),
                route,
            });
        }
        self.backend.map(Via::Builtin).ok_or_else(|| KeyValueError::NoLink {
            link_name: self.links.names.get(interface).to_string(),
            interface: interface.to_owned(),
        })
    }
}

/// The guest's view of a call over a link: the provider's WIT error as is, a failure to reach
/// it as `other` naming the link.
fn linked<T>(route: &Route, bucket: &Bucket, result: WrpcResult<T>) -> Result<T, KeyValueError> {
    let bucket = || bucket.identifier().to_owned();
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(wrpc_kv::store::Error::NoSuchStore)) => Err(KeyValueError::NoSuchStore { bucket: bucket() }),
        Ok(Err(wrpc_kv::store::Error::AccessDenied)) => Err(KeyValueError::AccessDenied { bucket: bucket() }),
        Ok(Err(wrpc_kv::store::Error::Other(message))) => Err(KeyValueError::Other(message)),
        Err(err) => Err(KeyValueError::Other(format!(
            "key-value link `{}` to `{}` failed: {err:#}",
            route.link_name, route.target
        ))),
    }
}

fn str_refs(keys: &[String]) -> Vec<&str> {
    keys.iter().map(String::as_str).collect()
}

impl store::Host for WasiKeyValueCtxView<'_> {
    async fn open(&mut self, identifier: String) -> GuestResult<Resource<Bucket>> {
        let bucket = Bucket::new(self.component.clone(), &identifier);
        // A linked store checks the bucket on each call, as the provider sees it.
        if let Ok(Via::Builtin(backend)) = self.via(STORE)
            && let Err(err) = backend.open(&bucket).await
        {
            tracing::debug!(component_id = %self.component, bucket = identifier, %err, "key-value open refused");
            return guest(Err(err));
        }
        Ok(Ok(self.table.push(bucket)?))
    }
}

impl store::HostBucket for WasiKeyValueCtxView<'_> {
    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> GuestResult<Option<Vec<u8>>> {
        let bucket = self.bucket(&bucket)?;
        guest(match self.via(STORE) {
            Ok(Via::Link { invoker, cx, route }) => linked(
                &route,
                &bucket,
                wrpc_kv::store::get(&invoker, cx, bucket.identifier(), &key)
                    .await
                    .map(|r| r.map(|v| v.map(Vec::from))),
            ),
            Ok(Via::Builtin(backend)) => backend.get(&bucket, key).await,
            Err(err) => Err(err),
        })
    }

    async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> GuestResult<()> {
        let bucket = self.bucket(&bucket)?;
        guest(match self.via(STORE) {
            Ok(Via::Link { invoker, cx, route }) => linked(
                &route,
                &bucket,
                wrpc_kv::store::set(&invoker, cx, bucket.identifier(), &key, &value.into()).await,
            ),
            Ok(Via::Builtin(backend)) => backend.set(&bucket, key, value).await,
            Err(err) => Err(err),
        })
    }

    async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> GuestResult<()> {
        let bucket = self.bucket(&bucket)?;
        guest(match self.via(STORE) {
            Ok(Via::Link { invoker, cx, route }) => linked(
                &route,
                &bucket,
                wrpc_kv::store::delete(&invoker, cx, bucket.identifier(), &key).await,
            ),
            Ok(Via::Builtin(backend)) => backend.delete(&bucket, key).await,
            Err(err) => Err(err),
        })
    }

    async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> GuestResult<bool> {
        let bucket = self.bucket(&bucket)?;
        guest(match self.via(STORE) {
            Ok(Via::Link { invoker, cx, route }) => linked(
                &route,
                &bucket,
                wrpc_kv::store::exists(&invoker, cx, bucket.identifier(), &key).await,
            ),
            Ok(Via::Builtin(backend)) => backend.exists(&bucket, key).await,
            Err(err) => Err(err),
        })
    }

    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<u64>) -> GuestResult<store::KeyResponse> {
        let bucket = self.bucket(&bucket)?;
        let page = match self.via(STORE) {
            Ok(Via::Link { invoker, cx, route }) => linked(
                &route,
                &bucket,
                wrpc_kv::store::list_keys(&invoker, cx, bucket.identifier(), cursor)
                    .await
                    .map(|r| {
                        r.map(|page| KeyPage {
                            keys: page.keys,
                            cursor: page.cursor,
                        })
                    }),
            ),
            Ok(Via::Builtin(backend)) => backend.list_keys(&bucket, cursor).await,
            Err(err) => Err(err),
        };
        guest(page.map(|page| store::KeyResponse {
            keys: page.keys,
            cursor: page.cursor,
        }))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for WasiKeyValueCtxView<'_> {
    async fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: u64) -> GuestResult<u64> {
        let bucket = self.bucket(&bucket)?;
        guest(match self.via(ATOMICS) {
            Ok(Via::Link { invoker, cx, route }) => linked(
                &route,
                &bucket,
                wrpc_kv::atomics::increment(&invoker, cx, bucket.identifier(), &key, delta).await,
            ),
            Ok(Via::Builtin(backend)) => backend.increment(&bucket, key, delta).await,
            Err(err) => Err(err),
        })
    }
}

impl batch::Host for WasiKeyValueCtxView<'_> {
    async fn get_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> GuestResult<ManyValues> {
        let bucket = self.bucket(&bucket)?;
        guest(match self.via(BATCH) {
            Ok(Via::Link { invoker, cx, route }) => linked(
                &route,
                &bucket,
                wrpc_kv::batch::get_many(&invoker, cx, bucket.identifier(), &str_refs(&keys))
                    .await
                    .map(|r| r.map(|values| values.into_iter().map(|v| v.map(|(k, v)| (k, Vec::from(v)))).collect())),
            ),
            Ok(Via::Builtin(backend)) => backend.get_many(&bucket, keys).await,
            Err(err) => Err(err),
        })
    }

    async fn set_many(&mut self, bucket: Resource<Bucket>, key_values: Vec<(String, Vec<u8>)>) -> GuestResult<()> {
        let bucket = self.bucket(&bucket)?;
        guest(match self.via(BATCH) {
            Ok(Via::Link { invoker, cx, route }) => {
                let values: Vec<Bytes> = key_values.iter().map(|(_, v)| Bytes::copy_from_slice(v)).collect();
                let pairs: Vec<(&str, &Bytes)> = key_values.iter().map(|(k, _)| k.as_str()).zip(&values).collect();
                linked(
                    &route,
                    &bucket,
                    wrpc_kv::batch::set_many(&invoker, cx, bucket.identifier(), &pairs).await,
                )
            }
            Ok(Via::Builtin(backend)) => backend.set_many(&bucket, key_values).await,
            Err(err) => Err(err),
        })
    }

    async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> GuestResult<()> {
        let bucket = self.bucket(&bucket)?;
        guest(match self.via(BATCH) {
            Ok(Via::Link { invoker, cx, route }) => linked(
                &route,
                &bucket,
                wrpc_kv::batch::delete_many(&invoker, cx, bucket.identifier(), &str_refs(&keys)).await,
            ),
            Ok(Via::Builtin(backend)) => backend.delete_many(&bucket, keys).await,
            Err(err) => Err(err),
        })
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
