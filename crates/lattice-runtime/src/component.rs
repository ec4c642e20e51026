//! A loaded [`Component`]: compiled, verified and pre-instantiated once;
//! every invocation then gets a fresh store and instance from it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Store;
use wasmtime::component::InstancePre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::cache::CacheOutcome;
use crate::claims::ComponentClaims;
use crate::error::{Error, ErrorKind, Result};
use crate::exports::Exports;
use crate::host::config::{self, ConfigValues};
use crate::id::ComponentId;
use crate::limits::{ComponentLimits, InvocationLimits};
use crate::links::MissingLink;
use crate::logs::LogBudget;
use crate::observe::{Active, InvocationObserver, Probe};
use crate::runtime::Runtime;
use crate::store::{self, Ctx, StoreSpec};

/// Decides whether one invocation may run at all, before it takes an instance: the
/// embedder's policy (the host asks its policy service here). Set per component with
/// [`Component::set_admission`]; without one every invocation is admitted.
pub trait Admission: Send + Sync + 'static {
    /// `Ok` admits a call of `function` of `interface` (`wasi:http/incoming-handler` and
    /// `handle` for HTTP); `Err` refuses it, and the reason is what the caller is told.
    fn admit<'a>(&'a self, interface: &'a str, function: &'a str) -> BoxFuture<'a, std::result::Result<(), String>>;
}

/// A component ready to run. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Component {
    inner: Arc<Inner>,
}

/// What [`Runtime::load`] hands over.
pub(crate) struct Loaded {
    pub(crate) id: ComponentId,
    pub(crate) runtime: Runtime,
    pub(crate) claims: Option<ComponentClaims>,
    pub(crate) cache_outcome: CacheOutcome,
    pub(crate) wasm_hash: String,
    pub(crate) instance_pre: InstancePre<Ctx>,
    pub(crate) linked_imports: Vec<String>,
    pub(crate) exports: Exports,
}

struct Inner {
    loaded: Loaded,
    /// Rate limit and drop count of the component's log lines, across its
    /// invocations.
    logs: Arc<LogBudget>,
    /// `Some` when the component exports `wasi:http/incoming-handler`.
    proxy_pre: Option<ProxyPre<Ctx>>,
    /// Invocations holding an instance right now.
    active: Arc<AtomicU32>,
    /// What the next invocation gets; read once per invocation.
    settings: RwLock<Settings>,
}

/// The parts of a component the host may change while it runs.
#[derive(Clone)]
struct Settings {
    config: ConfigValues,
    limits: ComponentLimits,
    /// One permit per invocation allowed to run at once (`max_instances`); `None`: no limit.
    instances: Option<Arc<Semaphore>>,
    /// Asked before each invocation; `None`: every invocation is admitted.
    admission: Option<Arc<dyn Admission>>,
    /// Told of each invocation; `None`: nobody is.
    observer: Option<Arc<dyn InvocationObserver>>,
}

/// One invocation in progress: its store and budget, and the permits that admitted it. The
/// store is declared first so it is dropped first: it keeps the fiber stack of its last call,
/// which must be returned to the pool (or its decommit queue, which has spare slots) before the
/// runtime slot frees up.
/// The probe goes last: its end is reported once the instance is back.
pub(crate) struct Invocation {
    pub(crate) store: Store<Ctx>,
    pub(crate) budget: Duration,
    _instance: Option<OwnedSemaphorePermit>,
    _slot: OwnedSemaphorePermit,
    _active: Active,
    pub(crate) probe: Option<Arc<Probe>>,
}

impl Invocation {
    /// Counts the invocation as failed, if anyone observes it.
    pub(crate) fn fail(&self) {
        if let Some(probe) = &self.probe {
            probe.fail();
        }
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Component")
            .field("id", &self.loaded.id)
            .field("wasm_hash", &self.loaded.wasm_hash)
            .field("cache_outcome", &self.loaded.cache_outcome)
            .field("signed", &self.loaded.claims.is_some())
            .field("http", &self.proxy_pre.is_some())
            .finish_non_exhaustive()
    }
}

impl Component {
    pub(crate) fn new(loaded: Loaded) -> Self {
        // A component without the HTTP export is still valid (it may serve
        // messages or other exports); serving HTTP to it is then an error.
        let proxy_pre = match ProxyPre::new(loaded.instance_pre.clone()) {
            Ok(pre) => Some(pre),
            Err(err) => {
                tracing::debug!(
                    component_id = %loaded.id,
                    reason = %format!("{err:#}"),
                    "component does not serve wasi:http/incoming-handler"
                );
                None
            }
        };
        let logs = loaded.runtime.guest_logs().budget(loaded.id.clone());
        Self {
            inner: Arc::new(Inner {
                logs,
                loaded,
                proxy_pre,
                active: Arc::default(),
                settings: RwLock::new(Settings {
                    config: ConfigValues::default(),
                    limits: ComponentLimits::default(),
                    instances: None,
                    admission: None,
                    observer: None,
                }),
            }),
        }
    }

    /// The component's id.
    #[must_use]
    pub fn id(&self) -> &ComponentId {
        &self.inner.loaded.id
    }

    /// The verified claims, `None` for an unsigned component.
    #[must_use]
    pub fn claims(&self) -> Option<&ComponentClaims> {
        self.inner.loaded.claims.as_ref()
    }

    /// Whether compiling it used the cache.
    #[must_use]
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.inner.loaded.cache_outcome
    }

    /// SHA-256 of the component bytes, lowercase hex (the compile cache key).
    #[must_use]
    pub fn wasm_hash(&self) -> &str {
        &self.inner.loaded.wasm_hash
    }

    /// Imported interfaces that no built-in serves: each call to them goes over a link,
    /// through the runtime's [`crate::Links`].
    #[must_use]
    pub fn linked_imports(&self) -> &[String] {
        &self.inner.loaded.linked_imports
    }

    /// Whether the component exports `wasi:http/incoming-handler`.
    #[must_use]
    pub fn exports_http(&self) -> bool {
        self.inner.proxy_pre.is_some()
    }

    /// Replaces the component's `wasi:config/store` values with the named
    /// config maps merged in order (a key in a later map wins). Invocations
    /// already running keep the values they started with.
    pub fn set_config<I, M, K, V>(&self, maps: I)
    where
        I: IntoIterator<Item = M>,
        M: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let merged = Arc::new(config::merge(maps));
        self.write_settings().config = merged;
    }

    /// The merged `wasi:config/store` values in force.
    #[must_use]
    pub fn config(&self) -> Arc<BTreeMap<String, String>> {
        Arc::clone(&self.read_settings().config)
    }

    /// Narrows the runtime's limits for this component's later invocations
    /// (wasmCloud's `component_limits`); invocations already running keep
    /// theirs.
    pub fn set_limits(&self, limits: ComponentLimits) {
        self.write_settings().limits = limits;
    }

    /// Lets at most as many invocations of this component run at once as `permits` has
    /// (wasmCloud's `max_instances`); more wait for one to finish. Each invocation holds its
    /// permit until its guest has ended, even when its caller went away. `None`: no limit.
    /// Closing the semaphore stops the component: waiting and later invocations fail with
    /// [`ErrorKind::Stopped`]. Pass the same semaphore to the component that replaces this
    /// one in an update, so invocations still running count.
    pub fn set_instance_permits(&self, permits: Option<Arc<Semaphore>>) {
        self.write_settings().instances = permits;
    }

    /// Has every later invocation asked `admission` first (`None`: admit all). Invocations
    /// already admitted are not asked again.
    pub fn set_admission(&self, admission: Option<Arc<dyn Admission>>) {
        self.write_settings().admission = admission;
    }

    /// Has `observer` told of every later invocation (`None`: nobody is). Invocations
    /// already running report to the observer they started with.
    pub fn set_observer(&self, observer: Option<Arc<dyn InvocationObserver>>) {
        self.write_settings().observer = observer;
    }

    /// How many invocations hold an instance right now.
    #[must_use]
    pub fn active_instances(&self) -> u32 {
        self.inner.active.load(Ordering::Relaxed)
    }

    /// Asks the admission (if any), waits for an instance permit and a runtime slot, then
    /// creates the store of one invocation of `function` of `interface` (`operation` names
    /// both for the observer). The one way in for every invocation, whatever brought it.
    pub(crate) async fn begin(&self, interface: &str, function: &str, operation: &Arc<str>) -> Result<Invocation> {
        let arrived = Instant::now();
        // One read of the settings per invocation: what admits it and what its store gets.
        let (instances, admission, observer, config, limits) = {
            let settings = self.read_settings();
            (
                settings.instances.clone(),
                settings.admission.clone(),
                settings.observer.clone(),
                Arc::clone(&settings.config),
                settings.limits,
            )
        };
        if let Some(admission) = admission {
            admission
                .admit(interface, function)
                .await
                .map_err(|reason| Error::new(ErrorKind::Denied { reason }))?;
        }
        // Past `max_instances` or the runtime's concurrency limit, wait here, before the
        // deadline starts, rather than fail.
        let instance = match instances {
            Some(permits) => Some(
                permits
                    .acquire_owned()
                    .await
                    .map_err(|_closed| Error::new(ErrorKind::Stopped))?,
            ),
            None => None,
        };
        let slot = self.runtime().invocation_permit().await?;
        let (store, budget) = self.new_store(config, limits, crate::TraceContext::current());
        Ok(Invocation {
            store,
            budget,
            _instance: instance,
            _slot: slot,
            _active: Active::enter(&self.inner.active),
            probe: observer.map(|observer| Probe::start(observer, operation, arrived)),
        })
    }

    pub(crate) fn export_table(&self) -> &Exports {
        &self.inner.loaded.exports
    }

    pub(crate) fn instance_pre(&self) -> &InstancePre<Ctx> {
        &self.inner.loaded.instance_pre
    }

    fn read_settings(&self) -> std::sync::RwLockReadGuard<'_, Settings> {
        self.inner
            .settings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_settings(&self) -> std::sync::RwLockWriteGuard<'_, Settings> {
        self.inner
            .settings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn proxy_pre(&self) -> Option<&ProxyPre<Ctx>> {
        self.inner.proxy_pre.as_ref()
    }

    pub(crate) fn runtime(&self) -> &Runtime {
        &self.inner.loaded.runtime
    }

    /// A fresh store for one invocation with `config` and `limits` (the component's settings
    /// when it began), the deadline starting now, and the invocation's wall-clock budget.
    fn new_store(
        &self,
        config: ConfigValues,
        limits: ComponentLimits,
        trace: Option<Arc<crate::TraceContext>>,
    ) -> (Store<Ctx>, Duration) {
        let runtime = self.runtime();
        let limits = InvocationLimits::new(runtime.limits(), limits);
        let store = store::new_store(
            runtime.engine(),
            StoreSpec {
                component_id: self.id().clone(),
                config,
                keyvalue: runtime.keyvalue().cloned(),
                links: runtime.link_ctx(self.id(), trace),
                max_memory: limits.max_linear_memory,
                max_table_elements: limits.max_table_elements,
                max_resource_entries: limits.max_resource_entries,
                logs: Arc::clone(&self.inner.logs),
                deadline: Instant::now() + limits.max_execution_time,
            },
        );
        (store, limits.max_execution_time)
    }
}

/// Turns the error of a guest call into the runtime's error, using what the
/// store saw: the limiter and the deadline callback record why they stopped
/// the guest, which the trap itself does not say.
pub(crate) fn classify(err: wasmtime::Error, ctx: &Ctx, otherwise: ErrorKind) -> Error {
    let kind = if ctx.limiter.exceeded {
        ErrorKind::MemoryLimitExceeded
    } else if ctx.limiter.table_exceeded {
        ErrorKind::TableLimitExceeded
    } else if resource_table_full(&err) {
        ErrorKind::ResourceLimitExceeded
    } else if ctx.deadline_exceeded {
        ErrorKind::DeadlineExceeded
    } else if let Some(missing) = err.downcast_ref::<MissingLink>() {
        ErrorKind::MissingLink {
            link_name: missing.link_name.clone(),
            interface: missing.interface.clone(),
            function: missing.function.clone(),
        }
    } else if let Some(message) = ctx.link_failure() {
        ErrorKind::LinkFailed { message }
    } else {
        otherwise
    };
    Error::wasmtime(kind, err)
}

/// Whether the guest was stopped because the store's resource table was full
/// ([`crate::Limits::max_resource_entries`]).
fn resource_table_full(err: &wasmtime::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<wasmtime::component::ResourceTableError>(),
            Some(wasmtime::component::ResourceTableError::Full)
        )
    })
}
