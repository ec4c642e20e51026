//! Built-in HTTP ingress: hyper listeners routing requests straight into
//! components (no NATS on this path). It is the host's in-process
//! `wasmcloud+builtin://http-server` provider.
//!
//! The host creates one [`HttpIngress`] per started http-server provider,
//! from the provider config ([`IngressSettings::from_provider_config`]), and
//! calls [`HttpIngress::add_route`] for every link from that provider to a
//! component exporting `wasi:http/incoming-handler` (with the link's source
//! config) and [`HttpIngress::remove_route`] when the link goes. Requests
//! find the running component through the host's [`ComponentLookup`].
//!
//! Routing follows the upstream provider:
//! - **address** (default): each link listens on its config's `address`
//!   (default [`DEFAULT_ADDRESS`] or the provider's `default_address`);
//! - **path** (`routing_mode=path`): one listener at `default_address`; the
//!   link's `path` is a prefix, the longest matching prefix wins, and the
//!   request path reaches the component unchanged (not stripped);
//! - **host** (`routing_mode=host`): one listener at `default_address`; the
//!   link's `host` is matched against the request's host name.
//!
//! Failures are per request: no route → 404, component not running → 503,
//! guest trap, deadline or memory cap → 500 with a one-line body, logged
//! with the component id. A listener never stops because of a request.
//!
//! ```no_run
//! # use std::collections::HashMap;
//! # use lattice_host::ingress::{HttpIngress, IngressSettings, RouteKey};
//! # async fn run(component: lattice_runtime::Component) -> Result<(), Box<dyn std::error::Error>> {
//! let settings = IngressSettings::from_provider_config(&HashMap::<String, String>::new())?;
//! let ingress = HttpIngress::new(settings, move |id: &str| {
//!     (id == "hello").then(|| component.clone())
//! })?;
//! let config = HashMap::from([("address".to_string(), "127.0.0.1:8080".to_string())]);
//! let bound = ingress.add_route(RouteKey::new("hello", "default"), &config)?;
//! # let _ = bound;
//! ingress.shutdown(std::time::Duration::from_secs(10)).await;
//! # Ok(()) }
//! ```

mod body;
pub(crate) mod config;
mod error;
mod listener;
mod lookup;
pub(crate) mod routes;
pub(crate) mod service;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lattice_runtime::ComponentId;
use tokio::time::Instant;

pub use config::{ClientLimits, DEFAULT_ADDRESS, DEFAULT_DRAIN_TIMEOUT, IngressSettings, RoutingMode};
pub use error::IngressError;
pub use lookup::{ComponentLookup, RequestObserver, ServedRequest};

/// What an ingress tells of its requests beyond answering them.
#[derive(Clone, Default)]
pub(crate) struct Instruments {
    /// Told of every answered request.
    pub(crate) observer: Option<Arc<dyn RequestObserver>>,
    /// Starts a server span per request routed to a component.
    pub(crate) tracer: Option<lattice_telemetry::Tracer>,
}

use config::RouteSpec;
use listener::{Clients, Listener};
use routes::RouteSet;

/// Identifies a route: the link's target component and the link name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteKey {
    /// The component requests are routed to.
    pub component_id: ComponentId,
    /// The link's name (`default` unless named).
    pub link_name: String,
}

impl RouteKey {
    /// The route of link `link_name` to `component_id`.
    pub fn new(component_id: impl Into<ComponentId>, link_name: impl Into<String>) -> Self {
        Self {
            component_id: component_id.into(),
            link_name: link_name.into(),
        }
    }
}

/// The built-in HTTP server: its listeners and routes.
///
/// Adding and removing routes takes a mutex; requests never do (each
/// listener reads its own routes under a read lock). Dropping the ingress
/// closes every listener and drops in-flight requests; call
/// [`HttpIngress::shutdown`] first to let them finish.
pub struct HttpIngress {
    settings: IngressSettings,
    lookup: Arc<dyn ComponentLookup>,
    /// Told of every answered request, and tracing them, if anyone asked.
    instruments: Instruments,
    /// Connection slots and limits, shared by every listener.
    clients: Arc<Clients>,
    runtime: tokio::runtime::Handle,
    state: Mutex<State>,
}

impl std::fmt::Debug for HttpIngress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpIngress")
            .field("settings", &self.settings)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    shut_down: bool,
    routes: HashMap<RouteKey, Route>,
    /// Address mode: one listener per route, keyed by its bound address.
    own_listeners: HashMap<SocketAddr, Listener>,
    /// Path and host mode: the listener every route shares.
    shared_listener: Option<Listener>,
}

#[derive(Debug)]
struct Route {
    spec: RouteSpec,
    local_addr: SocketAddr,
}

impl HttpIngress {
    /// Creates the ingress. In path and host mode this binds the shared
    /// listener at `settings.default_address` right away, as the upstream
    /// provider does when it starts; address mode binds per route.
    ///
    /// # Errors
    ///
    /// [`IngressError::NoRuntime`] outside a Tokio runtime and
    /// [`IngressError::Bind`] when the shared listener cannot bind.
    pub fn new(settings: IngressSettings, lookup: impl ComponentLookup) -> Result<Self, IngressError> {
        Self::observed(settings, lookup, None)
    }

    /// As [`HttpIngress::new`], telling `observer` (if any) of every request
    /// answered.
    ///
    /// # Errors
    ///
    /// As [`HttpIngress::new`].
    pub fn observed(
        settings: IngressSettings,
        lookup: impl ComponentLookup,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> Result<Self, IngressError> {
        Self::instrumented(settings, lookup, Instruments { observer, tracer: None })
    }

    /// As [`HttpIngress::observed`], with a span per request when `instruments` has a tracer.
    pub(crate) fn instrumented(
        settings: IngressSettings,
        lookup: impl ComponentLookup,
        instruments: Instruments,
    ) -> Result<Self, IngressError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| IngressError::NoRuntime)?;
        let lookup: Arc<dyn ComponentLookup> = Arc::new(lookup);
        let clients = Arc::new(Clients::new(settings.client_limits));
        let shared_listener = match settings.routing_mode {
            RoutingMode::Address => None,
            RoutingMode::Path => Some(Listener::bind(
                settings.default_address,
                RouteSet::Paths(Vec::new()),
                Arc::clone(&lookup),
                instruments.clone(),
                Arc::clone(&clients),
                &runtime,
            )?),
            RoutingMode::Host => Some(Listener::bind(
                settings.default_address,
                RouteSet::Hosts {
                    header: settings.host_header.clone(),
                    hosts: Vec::new(),
                },
                Arc::clone(&lookup),
                instruments.clone(),
                Arc::clone(&clients),
                &runtime,
            )?),
        };
        Ok(Self {
            settings,
            lookup,
            instruments,
            clients,
            runtime,
            state: Mutex::new(State {
                shared_listener,
                ..State::default()
            }),
        })
    }

    /// The settings the ingress was created with.
    #[must_use]
    pub fn settings(&self) -> &IngressSettings {
        &self.settings
    }

    /// The shared listener's bound address in path and host mode (the real
    /// port when `default_address` asked for port 0); `None` in address mode.
    #[must_use]
    pub fn shared_addr(&self) -> Option<SocketAddr> {
        self.lock().shared_listener.as_ref().map(Listener::local_addr)
    }

    /// Routes requests to `key.component_id` as the link's source `config`
    /// says (`address`, `path` or `host` by routing mode; keys are
    /// case-insensitive) and returns the bound address serving it. Putting
    /// the same link again with the same route is a no-op.
    ///
    /// # Errors
    ///
    /// - [`IngressError::InvalidAddress`], [`IngressError::MissingPath`],
    ///   [`IngressError::InvalidPath`], [`IngressError::MissingHost`] for a
    ///   config that names no usable route;
    /// - [`IngressError::AddressInUse`], [`IngressError::PathInUse`],
    ///   [`IngressError::HostInUse`] when another link has that route;
    /// - [`IngressError::RouteExists`] when this link has another route;
    /// - [`IngressError::Bind`] when the address cannot be bound;
    /// - [`IngressError::ShutDown`] after [`HttpIngress::shutdown`].
    pub fn add_route<I, K, V>(&self, key: RouteKey, config: I) -> Result<SocketAddr, IngressError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let spec = RouteSpec::from_link_config(&self.settings, &key.component_id, config)?;
        let mut state = self.lock();
        if state.shut_down {
            return Err(IngressError::ShutDown);
        }
        if let Some(existing) = state.routes.get(&key) {
            let same = existing.spec == spec || spec == RouteSpec::Address(existing.local_addr);
            if same {
                return Ok(existing.local_addr);
            }
            return Err(IngressError::RouteExists {
                component_id: key.component_id,
                link_name: key.link_name,
            });
        }
        if let Some((other, _)) = state.routes.iter().find(|(_, route)| conflicts(route, &spec)) {
            return Err(conflict_error(&spec, &key, other));
        }
        let local_addr = match &spec {
            RouteSpec::Address(address) => {
                let listener = Listener::bind(
                    *address,
                    RouteSet::Single(key.component_id.clone()),
                    Arc::clone(&self.lookup),
                    self.instruments.clone(),
                    Arc::clone(&self.clients),
                    &self.runtime,
                )?;
                let local_addr = listener.local_addr();
                state.own_listeners.insert(local_addr, listener);
                local_addr
            }
            RouteSpec::Path(prefix) => {
                let listener = state.shared_listener.as_ref().ok_or(IngressError::ShutDown)?;
                let mut routes = listener.shared().routes.write().unwrap_or_else(PoisonError::into_inner);
                if let RouteSet::Paths(paths) = &mut *routes {
                    RouteSet::insert_path(paths, prefix.clone(), key.component_id.clone());
                }
                listener.local_addr()
            }
            RouteSpec::Host(host) => {
                let listener = state.shared_listener.as_ref().ok_or(IngressError::ShutDown)?;
                let mut routes = listener.shared().routes.write().unwrap_or_else(PoisonError::into_inner);
                if let RouteSet::Hosts { hosts, .. } = &mut *routes {
                    hosts.push((host.clone(), key.component_id.clone()));
                }
                listener.local_addr()
            }
        };
        tracing::info!(
            component_id = %key.component_id,
            link_name = %key.link_name,
            route = ?spec,
            %local_addr,
            "http route added"
        );
        state.routes.insert(key, Route { spec, local_addr });
        Ok(local_addr)
    }

    /// Removes the route of a deleted link; `false` if it had none. In
    /// address mode its listener stops accepting at once and drains
    /// in-flight requests for up to [`IngressSettings::drain_timeout`] in
    /// the background.
    pub fn remove_route(&self, key: &RouteKey) -> bool {
        let mut state = self.lock();
        let Some(route) = state.routes.remove(key) else {
            return false;
        };
        match &route.spec {
            RouteSpec::Address(_) => {
                if let Some(listener) = state.own_listeners.remove(&route.local_addr) {
                    drop(listener.stop(Instant::now() + self.settings.drain_timeout));
                }
            }
            RouteSpec::Path(prefix) => {
                if let Some(listener) = &state.shared_listener {
                    let mut routes = listener.shared().routes.write().unwrap_or_else(PoisonError::into_inner);
                    if let RouteSet::Paths(paths) = &mut *routes {
                        paths.retain(|(p, id)| !(p == prefix && *id == key.component_id));
                    }
                }
            }
            RouteSpec::Host(host) => {
                if let Some(listener) = &state.shared_listener {
                    let mut routes = listener.shared().routes.write().unwrap_or_else(PoisonError::into_inner);
                    if let RouteSet::Hosts { hosts, .. } = &mut *routes {
                        hosts.retain(|(h, id)| !(h == host && *id == key.component_id));
                    }
                }
            }
        }
        tracing::info!(
            component_id = %key.component_id,
            link_name = %key.link_name,
            "http route removed"
        );
        true
    }

    /// The routes in force: each link's key and the address serving it.
    #[must_use]
    pub fn routes(&self) -> Vec<(RouteKey, SocketAddr)> {
        self.lock()
            .routes
            .iter()
            .map(|(key, route)| (key.clone(), route.local_addr))
            .collect()
    }

    /// Stops accepting on every listener, lets requests in flight finish for
    /// up to `deadline`, then drops what is left. Later
    /// [`HttpIngress::add_route`] calls fail with [`IngressError::ShutDown`].
    pub async fn shutdown(&self, deadline: Duration) {
        let at = Instant::now() + deadline;
        let stopping: Vec<_> = {
            let mut state = self.lock();
            state.shut_down = true;
            state.routes.clear();
            let mut listeners: Vec<Listener> = state.own_listeners.drain().map(|(_, l)| l).collect();
            listeners.extend(state.shared_listener.take());
            listeners.into_iter().map(|listener| listener.stop(at)).collect()
        };
        for task in stopping {
            if let Err(err) = task.await {
                tracing::warn!(error = %err, "http ingress listener task failed");
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether two routes of different links cannot both exist.
fn conflicts(existing: &Route, new: &RouteSpec) -> bool {
    match (&existing.spec, new) {
        // Port 0 asks for a fresh port each time: never a conflict; an
        // existing route asked for with port 0 holds the port it got.
        (RouteSpec::Address(a), RouteSpec::Address(b)) => b.port() != 0 && (a == b || existing.local_addr == *b),
        (RouteSpec::Path(a), RouteSpec::Path(b)) => a == b,
        (RouteSpec::Host(a), RouteSpec::Host(b)) => a == b,
        _ => false,
    }
}

fn conflict_error(spec: &RouteSpec, key: &RouteKey, other: &RouteKey) -> IngressError {
    let component_id = key.component_id.clone();
    let existing = other.component_id.clone();
    let existing_link = other.link_name.clone();
    match spec {
        RouteSpec::Address(address) => IngressError::AddressInUse {
            address: *address,
            component_id,
            existing,
            existing_link,
        },
        RouteSpec::Path(path) => IngressError::PathInUse {
            path: path.clone(),
            component_id,
            existing,
            existing_link,
        },
        RouteSpec::Host(host) => IngressError::HostInUse {
            host: host.clone(),
            component_id,
            existing,
            existing_link,
        },
    }
}
