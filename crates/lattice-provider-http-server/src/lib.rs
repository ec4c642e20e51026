//! An HTTP server capability provider, wire-compatible with wasmCloud v1's: it accepts HTTP
//! and forwards each request to a linked component's `wrpc:http/incoming-handler@0.1.0`
//! export over wRPC, streaming bodies both ways.
//!
//! The provider is the *source* of `wasi:http` links (interface `incoming-handler`) to
//! components; each link's settings come from its source config. The provider's own config
//! chooses the routing mode, as upstream:
//!
//! - `routing_mode=address` (default): one listener per distinct link `address`
//!   (`ip:port`); a link without one listens at `default_address`.
//! - `routing_mode=path`: one listener at `default_address`; a link's `path` is a prefix of the
//!   request paths it takes (longest wins, on segment boundaries; the path reaches the
//!   component unchanged).
//! - `routing_mode=host`: one listener at `default_address`; a link's `host` is matched
//!   against the `Host` header, or against the header the provider config's `header` names.
//!
//! **Listening address:** `default_address` defaults to `127.0.0.1:8000`. Upstream's default
//! is `0.0.0.0:8000`; this project listens on loopback unless a config says otherwise, so
//! exposing a component beyond the machine takes an explicit `address` or `default_address`.
//!
//! Per link: `readonly_mode=true` answers anything but GET and HEAD with 405; `timeout_ms`
//! answers 408 when the component has not answered in time. A request no route takes gets
//! 404, one whose component cannot be reached 503, one the component fails 500. Upstream's
//! CORS, `cache_control` and TLS settings are not supported: put a proxy in front.
//!
//! Deleting a link removes its route, and closes its listener when no route is left.

mod routes;
mod server;
mod settings;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use lattice_provider_sdk::{
    HookError, HostData, LinkConfig, LinkDelete, Provider, ProviderBuilder, ProviderError, ProviderHandle,
    STDIN_TIMEOUT, read_host_data,
};

use crate::routes::{Route, Table, Target};
use crate::server::{Listener, Shared};
pub use crate::settings::{DEFAULT_ADDRESS, LinkSettings, Matcher, RoutingMode, Settings};

/// The name of the provider's NATS connection.
pub const NAME: &str = "http-server-provider";

/// Starts the provider as a host does (host data on stdin) and serves until shutdown.
///
/// # Errors
///
/// When the provider cannot start (see [`ProviderBuilder::start`]).
pub async fn run() -> Result<(), ProviderError> {
    let host_data = read_host_data(STDIN_TIMEOUT).await?;
    let provider = HttpServerProvider::new(&host_data);
    let handle = ProviderBuilder::new(NAME).host_data(host_data).start(provider).await?;
    handle.shutdown_requested().await;
    Ok(())
}

/// The provider: its settings, listeners and routes.
#[derive(Debug, Clone)]
pub struct HttpServerProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The provider config's settings; `Err` when it is invalid, so every link says why.
    settings: Result<Settings, String>,
    shared: Arc<Shared>,
    /// Changed by link hooks only (never on the request path), and never held across an await.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    listeners: HashMap<SocketAddr, Listener>,
    /// Where each link's route is: (component, link name) → address.
    links: HashMap<(String, String), SocketAddr>,
    /// One target, hence one wRPC client, per component, while a route uses it.
    targets: HashMap<String, Weak<Target>>,
}

impl HttpServerProvider {
    /// A provider with the host's config.
    #[must_use]
    pub fn new(host_data: &HostData) -> Self {
        let settings = Settings::from_config(&host_data.config)
            .map_err(|e| format!("the http server provider's config is invalid: {e}"));
        if let Err(err) = &settings {
            tracing::error!(error = %err, "no link can be served until the provider is started with a valid config");
        }
        let host_header = settings.as_ref().map_or(http::header::HOST, |s| s.header.clone());
        Self {
            inner: Arc::new(Inner {
                settings,
                shared: Arc::new(Shared {
                    handle: OnceLock::new(),
                    host_header,
                }),
                state: Mutex::default(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts the route of the link to `component` named `link_name`, moving it if it was
    /// elsewhere. Returns a listener to stop (its last route moved away).
    fn put_route(&self, link: &LinkConfig, settings: &LinkSettings) -> Result<Option<Listener>, String> {
        let (component, name) = (link.target_id.as_str(), link.link_name.as_str());
        let key = (component.to_owned(), name.to_owned());
        let mut state = self.state();
        let target = match state.targets.get(component).and_then(Weak::upgrade) {
            Some(target) => target,
            None => {
                let target = Arc::new(Target::new(component));
                state.targets.insert(component.to_owned(), Arc::downgrade(&target));
                target
            }
        };
        let route = Arc::new(Route {
            link_name: name.to_owned(),
            matcher: settings.matcher.clone(),
            target,
            readonly: settings.readonly,
            timeout: settings.timeout,
        });
        let current = |state: &State, address| {
            state.listeners.get(&address).map_or_else(
                || Arc::new(Table::default()),
                |l| Arc::clone(&l.table.read().unwrap_or_else(PoisonError::into_inner)),
            )
        };
        // Checked before anything changes: a refused link leaves the old route in place.
        let table = current(&state, settings.address).without(component, name).with(route)?;
        match state.listeners.get(&settings.address) {
            Some(listener) => listener.set_table(table),
            None => {
                let listener =
                    Listener::bind(settings.address, table, Arc::clone(&self.inner.shared)).map_err(|e| {
                        format!(
                            "cannot listen on {}: {e}; choose another address in the link's `address` \
                         (or the provider's `default_address`)",
                            settings.address
                        )
                    })?;
                state.listeners.insert(settings.address, listener);
            }
        }
        let previous = state.links.insert(key, settings.address);
        Ok(match previous {
            Some(old) if old != settings.address => remove_route(&mut state, old, component, name),
            _ => None,
        })
    }
}

/// Removes a link's route from the listener at `address`; returns the listener when that was
/// its last route, for the caller to stop outside the lock.
fn remove_route(state: &mut State, address: SocketAddr, component: &str, name: &str) -> Option<Listener> {
    let listener = state.listeners.get(&address)?;
    let table = listener
        .table
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .without(component, name);
    if table.is_empty() {
        state.listeners.remove(&address)
    } else {
        listener.set_table(table);
        None
    }
}

impl Provider for HttpServerProvider {
    async fn init(&self, handle: &ProviderHandle) -> Result<(), HookError> {
        // Called once, before any link: every listener finds the handle set.
        let _ = self.inner.shared.handle.set(handle.clone());
        Ok(())
    }

    async fn receive_link_config_as_source(&self, link: LinkConfig) -> Result<(), HookError> {
        let settings = self.inner.settings.as_ref().map_err(|e| HookError::new(e.clone()))?;
        let link_settings = LinkSettings::from_config(settings, &link.config).map_err(|e| {
            HookError::new(format!(
                "link to `{}` (named `{}`): {e}",
                link.target_id, link.link_name
            ))
        })?;
        let stale = self.put_route(&link, &link_settings).map_err(|e| {
            HookError::new(format!(
                "link to `{}` (named `{}`): {e}",
                link.target_id, link.link_name
            ))
        })?;
        if let Some(listener) = stale {
            listener.stop().await;
        }
        tracing::info!(
            component = link.target_id,
            link_name = link.link_name,
            address = %link_settings.address,
            route = ?link_settings.matcher,
            "http route ready"
        );
        Ok(())
    }

    async fn delete_link_as_source(&self, link: LinkDelete) -> Result<(), HookError> {
        let stale = {
            let mut state = self.state();
            let Some(address) = state.links.remove(&(link.target_id.clone(), link.link_name.clone())) else {
                return Ok(());
            };
            remove_route(&mut state, address, &link.target_id, &link.link_name)
        };
        if let Some(listener) = stale {
            listener.stop().await;
        }
        tracing::info!(
            component = link.target_id,
            link_name = link.link_name,
            "http route removed"
        );
        Ok(())
    }

    async fn on_config_update(&self, _config: HashMap<String, String>) -> Result<(), HookError> {
        // Routing mode and addresses shape every listener: changing them under live links
        // would drop requests. Upstream also reads them at start only.
        tracing::info!("provider config changed; routing settings take effect when the provider restarts");
        Ok(())
    }

    async fn shutdown(&self) {
        let listeners: Vec<Listener> = {
            let mut state = self.state();
            state.links.clear();
            state.listeners.drain().map(|(_, listener)| listener).collect()
        };
        for listener in listeners {
            listener.stop().await;
        }
    }
}
