//! A NATS messaging capability provider, wire-compatible with wasmCloud v1's
//! `wasmcloud:messaging@0.2.0` provider.
//!
//! - **Provider → component** (the provider is a link's *source*; the component exports
//!   `wasmcloud:messaging/handler`): the link's source config lists `subscriptions`
//!   (comma-separated; `subject|queue` subscribes in a queue group). Each message becomes a
//!   `handle-message(broker-message{subject, body, reply-to})` call to the component, in a task
//!   of its own; failures are logged. The subscriptions use a connection of the link's own, to
//!   its `cluster_uris` (the first) with `client_jwt`/`client_seed`, or else to the lattice's
//!   NATS with the host's credentials.
//! - **Component → provider** (the provider is a link's *target*; the component imports
//!   `wasmcloud:messaging/consumer`): `publish` (with the reply subject when one is set) and
//!   `request(subject, body, timeout-ms)`, over a connection per linking component made from
//!   the link's target config (same keys), or else the lattice's connection.
//!
//! Deleting a link drops its subscriptions and its connection.

mod config;
mod consumer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use futures::StreamExt as _;
use lattice_interfaces::bindings::exports::wasmcloud::messaging::consumer as consumer_export;
use lattice_interfaces::bindings::wasmcloud::messaging::handler;
use lattice_interfaces::bindings::wasmcloud::messaging::types::BrokerMessage;
use lattice_provider_sdk::{
    ComponentClient, HookError, HostData, LinkConfig, LinkDelete, Provider, ProviderBuilder, ProviderError,
    ProviderHandle, STDIN_TIMEOUT, read_host_data,
};
use tokio::task::JoinSet;

use crate::config::{ConnectionSettings, subscriptions};

/// The name of the provider's NATS connections.
pub const NAME: &str = "messaging-nats-provider";

/// Starts the provider as a host does (host data on stdin) and serves until shutdown.
///
/// # Errors
///
/// When the provider cannot start (see [`ProviderBuilder::start`]) or NATS refuses the
/// subscription of its export.
pub async fn run() -> Result<(), ProviderError> {
    let host_data = read_host_data(STDIN_TIMEOUT).await?;
    let provider = NatsMessagingProvider::new(&host_data);
    let handle = ProviderBuilder::new(NAME).host_data(host_data).start(provider).await?;
    handle.shutdown_requested().await;
    Ok(())
}

/// The provider: the links' subscriptions and connections.
#[derive(Debug, Clone)]
pub struct NatsMessagingProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Set by `init`, before any link.
    handle: OnceLock<ProviderHandle>,
    lattice: ConnectionSettings,
    /// Links on which the provider delivers to a component: (component, link name) → its
    /// subscriptions. Changed by link hooks only.
    sources: Mutex<HashMap<(String, String), Subscriptions>>,
    /// Links on which components publish through the provider: (component, link name) → a
    /// connection of their own, or `None` for the lattice's. Only cheap clones are taken out.
    targets: RwLock<HashMap<(String, String), Option<async_nats::Client>>>,
}

/// A source link's subscriptions: dropping it ends their tasks (unsubscribing) and closes the
/// link's connection.
#[derive(Debug)]
struct Subscriptions {
    _tasks: JoinSet<()>,
}

impl NatsMessagingProvider {
    /// A provider for the lattice the host data describes.
    #[must_use]
    pub fn new(host_data: &HostData) -> Self {
        Self {
            inner: Arc::new(Inner {
                handle: OnceLock::new(),
                lattice: ConnectionSettings::lattice(host_data),
                sources: Mutex::default(),
                targets: RwLock::default(),
            }),
        }
    }

    fn handle(&self) -> Result<&ProviderHandle, HookError> {
        self.inner
            .handle
            .get()
            .ok_or_else(|| HookError::new("the provider is not connected to a lattice yet"))
    }
}

impl Provider for NatsMessagingProvider {
    /// Keeps the handle, and serves the export here, not after start-up: its subscriptions are
    /// then on the server before the provider answers its first health check, which is when
    /// hosts (and `wash dev`) take it to be ready.
    async fn init(&self, handle: &ProviderHandle) -> Result<(), HookError> {
        let _ = self.inner.handle.set(handle.clone());
        let consumer = consumer_export::serve_interface(handle.wrpc_server(), self.clone())
            .await
            .map_err(|e| HookError::serve("wasmcloud:messaging/consumer@0.2.0", e))?;
        handle.serve(consumer);
        Ok(())
    }

    async fn receive_link_config_as_source(&self, link: LinkConfig) -> Result<(), HookError> {
        let (component, name) = (link.target_id.clone(), link.link_name.clone());
        let context = |e: String| HookError::new(format!("link to `{component}` (named `{name}`): {e}"));
        let wanted = subscriptions(&link.config);
        if wanted.is_empty() {
            tracing::warn!(
                component,
                link_name = name,
                "the link lists no `subscriptions`: nothing will be delivered"
            );
        }
        let settings = ConnectionSettings::from_link(&link.config, &self.inner.lattice)
            .unwrap_or_else(|| self.inner.lattice.clone());
        let client = settings.connect(NAME).await.map_err(context)?;
        let component_client = self
            .handle()?
            .client_for(&component)
            .await
            .map_err(|e| context(e.to_string()))?;
        let component_client = Arc::new(component_client);
        let mut tasks = JoinSet::new();
        for subscription in &wanted {
            let subscriber = match &subscription.queue {
                Some(queue) => {
                    client
                        .queue_subscribe(subscription.subject.clone(), queue.clone())
                        .await
                }
                None => client.subscribe(subscription.subject.clone()).await,
            }
            .map_err(|e| context(format!("cannot subscribe to `{}`: {e}", subscription.subject)))?;
            tasks.spawn(deliver(subscriber, Arc::clone(&component_client), client.clone()));
        }
        // The subscriptions are on the server before the link counts as applied.
        client
            .flush()
            .await
            .map_err(|e| context(format!("cannot reach NATS at {}: {e}", settings.url)))?;
        tracing::info!(
            component,
            link_name = name,
            nats = settings.url,
            subscriptions = ?wanted,
            "delivering messages to the component"
        );
        // Replacing an earlier version of the link drops its subscriptions.
        self.inner
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((component, name), Subscriptions { _tasks: tasks });
        Ok(())
    }

    async fn receive_link_config_as_target(&self, link: LinkConfig) -> Result<(), HookError> {
        let client = match ConnectionSettings::from_link(&link.config, &self.inner.lattice) {
            Some(settings) => Some(settings.connect(NAME).await.map_err(|e| {
                HookError::new(format!(
                    "link from `{}` (named `{}`): {e}",
                    link.source_id, link.link_name
                ))
            })?),
            None => None,
        };
        tracing::info!(
            component = link.source_id,
            link_name = link.link_name,
            own_connection = client.is_some(),
            "component may publish"
        );
        self.inner
            .targets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((link.source_id, link.link_name), client);
        Ok(())
    }

    async fn delete_link_as_source(&self, link: LinkDelete) -> Result<(), HookError> {
        let removed = self
            .inner
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(link.target_id.clone(), link.link_name.clone()));
        if removed.is_some() {
            tracing::info!(
                component = link.target_id,
                link_name = link.link_name,
                "delivery stopped"
            );
        }
        Ok(())
    }

    async fn delete_link_as_target(&self, link: LinkDelete) -> Result<(), HookError> {
        self.inner
            .targets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(link.source_id, link.link_name));
        Ok(())
    }

    async fn shutdown(&self) {
        self.inner
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.inner
            .targets
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Delivers each message of `subscriber` to the component, each in a task of its own, until
/// the subscription ends or the task is aborted (dropping the subscriber unsubscribes).
/// `_connection` keeps the link's connection open while its subscriptions run.
async fn deliver(
    mut subscriber: async_nats::Subscriber,
    component: Arc<ComponentClient>,
    _connection: async_nats::Client,
) {
    while let Some(message) = subscriber.next().await {
        let component = Arc::clone(&component);
        tokio::spawn(async move {
            let message = BrokerMessage {
                subject: message.subject.to_string(),
                body: message.payload,
                reply_to: message.reply.map(|r| r.to_string()),
            };
            match handler::handle_message(&*component, None, &message).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(
                    component = component.target(),
                    subject = message.subject,
                    error = err,
                    "the component failed to handle a message"
                ),
                Err(err) => tracing::warn!(
                    component = component.target(),
                    subject = message.subject,
                    error = %format!("{err:#}"),
                    "cannot deliver a message to the component"
                ),
            }
        });
    }
}
