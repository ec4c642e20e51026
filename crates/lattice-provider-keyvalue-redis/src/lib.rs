//! A key-value capability provider over Redis, wire-compatible with wasmCloud v1's: serves
//! `wrpc:keyvalue/{store,atomics,batch}@0.2.0-draft` to the components linked to it.
//!
//! Each link to the provider gets its own Redis connection, keyed by the calling component
//! and the link's name. Its URL is the link's `URL` target config (the key matched without
//! regard to case), else the provider's own `URL` config, else [`DEFAULT_URL`]; a database
//! other than 0 is chosen with the URL's path (`redis://127.0.0.1:6379/2`). A call is routed
//! by its `source-id` and `link-name` headers; one from a component with no link fails with an
//! error that says which link to put.
//!
//! Connections are Redis connection managers: made on first use, remade after a failure, so a
//! Redis restart costs the calls made while it is down (each fails with an `other(...)` error
//! naming what failed), never the provider.
//!
//! As upstream, bucket names are accepted and ignored: keys are not prefixed with them.

mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use lattice_interfaces::bindings::exports::wrpc::keyvalue::{atomics, batch, store as kv_store};
use lattice_provider_sdk::{
    HookError, HostData, LinkConfig, LinkDelete, Provider, ProviderBuilder, ProviderError, ProviderHandle,
    STDIN_TIMEOUT, config_value, read_host_data,
};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The name of the provider's NATS connection.
pub const NAME: &str = "keyvalue-redis-provider";
/// The Redis URL used when neither the link nor the provider's config names one.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
/// The config key naming the Redis URL, in a link's target config or the provider's config.
pub const URL_KEY: &str = "URL";

/// How long one connection attempt may take: Redis answers a connect at once or not at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may take, as long as a wRPC call may wait to be accepted.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Reconnection attempts per failed connection before the waiting calls get the error: few,
/// so a call to a Redis that is down fails in well under a second.
const RECONNECT_RETRIES: usize = 2;

/// Starts the provider as a host does (host data on stdin) and serves until shutdown.
///
/// # Errors
///
/// When the provider cannot start (see [`ProviderBuilder::start`]) or NATS refuses the
/// subscriptions of its exports.
pub async fn run() -> Result<(), ProviderError> {
    let host_data = read_host_data(STDIN_TIMEOUT).await?;
    let provider = KvRedisProvider::new(&host_data);
    let handle = ProviderBuilder::new(NAME).host_data(host_data).start(provider).await?;
    handle.shutdown_requested().await;
    Ok(())
}

/// The provider: the links' connections, shared by every call.
#[derive(Debug, Clone)]
pub struct KvRedisProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    provider_id: String,
    /// The provider's own `URL` config, for links that name none.
    default_url: RwLock<Option<String>>,
    /// Connections by (calling component, link name). Only cheap clones are taken out: no
    /// lock is held across an await.
    links: RwLock<HashMap<(String, String), Link>>,
    /// Whether the "buckets are ignored" note was logged.
    bucket_noted: AtomicBool,
}

/// One link's connection.
#[derive(Clone)]
struct Link {
    connection: ConnectionManager,
    /// The URL without credentials, for messages.
    url: String,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link").field("url", &self.url).finish_non_exhaustive()
    }
}

impl KvRedisProvider {
    /// A provider with the host's config (its `URL`, if any, is the default for links).
    #[must_use]
    pub fn new(host_data: &HostData) -> Self {
        Self {
            inner: Arc::new(Inner {
                provider_id: host_data.provider_key.clone(),
                default_url: RwLock::new(config_value(&host_data.config, URL_KEY).map(str::to_owned)),
                links: RwLock::default(),
                bucket_noted: AtomicBool::new(false),
            }),
        }
    }

    /// The connection of `component`'s link named `link_name`.
    fn link(&self, component: &str, link_name: &str) -> Option<Link> {
        self.inner
            .links
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(component.to_owned(), link_name.to_owned()))
            .cloned()
    }

    fn note_bucket(&self, bucket: &str) {
        if !bucket.is_empty() && !self.inner.bucket_noted.swap(true, Ordering::Relaxed) {
            tracing::debug!(
                bucket,
                "bucket names are ignored: keys are not prefixed with them (as wasmCloud's Redis provider)"
            );
        }
    }
}

/// `url` without the user and password it may carry.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

impl Provider for KvRedisProvider {
    /// Serves the exports here, not after start-up: their subscriptions are then on the server
    /// before the provider answers its first health check, which is when hosts (and `wash dev`)
    /// take it to be ready.
    async fn init(&self, handle: &ProviderHandle) -> Result<(), HookError> {
        let server = handle.wrpc_server();
        let store = kv_store::serve_interface(server, self.clone())
            .await
            .map_err(|e| HookError::serve("wrpc:keyvalue/store@0.2.0-draft", e))?;
        let atomics = atomics::serve_interface(server, self.clone())
            .await
            .map_err(|e| HookError::serve("wrpc:keyvalue/atomics@0.2.0-draft", e))?;
        let batch = batch::serve_interface(server, self.clone())
            .await
            .map_err(|e| HookError::serve("wrpc:keyvalue/batch@0.2.0-draft", e))?;
        handle.serve(store.into_iter().chain(atomics).chain(batch));
        Ok(())
    }

    async fn receive_link_config_as_target(&self, link: LinkConfig) -> Result<(), HookError> {
        let url = link
            .config_value(URL_KEY)
            .map(str::to_owned)
            .or_else(|| {
                self.inner
                    .default_url
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone()
            })
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        let shown = redacted(&url);
        let client = redis::Client::open(url.as_str()).map_err(|e| {
            HookError::new(format!(
                "link from `{}` names Redis URL `{shown}`, which is not valid ({e}): set {URL_KEY} to redis://host:port/db",
                link.source_id
            ))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        // Lazy: the link stands even while Redis is down; the first call connects.
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| HookError::new(format!("cannot prepare a Redis connection to {shown}: {e}")))?;
        tracing::info!(
            component = link.source_id,
            link_name = link.link_name,
            redis = shown,
            "key-value link ready"
        );
        self.inner
            .links
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((link.source_id, link.link_name), Link { connection, url: shown });
        Ok(())
    }

    async fn delete_link_as_target(&self, link: LinkDelete) -> Result<(), HookError> {
        // Dropping the last clone of the connection manager closes the connection.
        let removed = self
            .inner
            .links
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(link.source_id.clone(), link.link_name.clone()));
        if removed.is_some() {
            tracing::info!(
                component = link.source_id,
                link_name = link.link_name,
                "key-value link removed"
            );
        }
        Ok(())
    }

    async fn on_config_update(&self, config: HashMap<String, String>) -> Result<(), HookError> {
        // Applies to links put from now on; existing connections stay as they are.
        *self.inner.default_url.write().unwrap_or_else(PoisonError::into_inner) =
            config_value(&config, URL_KEY).map(str::to_owned);
        Ok(())
    }

    async fn shutdown(&self) {
        self.inner.links.write().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_a_message() {
        assert_eq!(
            redacted("redis://user:secret@db.local:6379/2"),
            "redis://db.local:6379/2"
        );
        assert_eq!(redacted("redis://:secret@127.0.0.1"), "redis://127.0.0.1");
        assert_eq!(redacted("redis://127.0.0.1:6379/1"), "redis://127.0.0.1:6379/1");
        assert_eq!(redacted("not a url"), "not a url");
    }

    #[tokio::test]
    async fn link_urls_come_from_the_link_then_the_provider_then_the_default() {
        let mut host_data = HostData {
            provider_key: "kv".into(),
            ..HostData::default()
        };
        let link = |source: &str, config: &[(&str, &str)]| LinkConfig {
            source_id: source.into(),
            target_id: "kv".into(),
            link_name: "default".into(),
            config: config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..LinkConfig::default()
        };
        let provider = KvRedisProvider::new(&host_data);
        provider.receive_link_config_as_target(link("a", &[])).await.unwrap();
        assert_eq!(provider.link("a", "default").unwrap().url, DEFAULT_URL);
        provider
            .receive_link_config_as_target(link("b", &[("url", "redis://:pw@10.0.0.1:1/3")]))
            .await
            .unwrap();
        assert_eq!(provider.link("b", "default").unwrap().url, "redis://10.0.0.1:1/3");

        host_data.config.insert("Url".into(), "redis://127.0.0.1:7000".into());
        let provider = KvRedisProvider::new(&host_data);
        provider.receive_link_config_as_target(link("a", &[])).await.unwrap();
        assert_eq!(provider.link("a", "default").unwrap().url, "redis://127.0.0.1:7000");
        assert!(provider.link("a", "other").is_none());

        let err = provider
            .receive_link_config_as_target(link("c", &[("URL", "http://nope")]))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("set URL to redis://host:port/db"), "{err}");

        provider
            .delete_link_as_target(LinkDelete {
                source_id: "a".into(),
                link_name: "default".into(),
                ..LinkDelete::default()
            })
            .await
            .unwrap();
        assert!(provider.link("a", "default").is_none());
    }
}
