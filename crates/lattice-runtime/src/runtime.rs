//! The [`Runtime`]: one wasmtime engine, the linker with every host
//! interface the runtime serves, the limits, the compile cache and the
//! links; [`Runtime::load`] turns component bytes into a ready
//! [`Component`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::cache::{self, CacheOutcome, CompileCache, DEFAULT_CACHE_MAX_BYTES};
use crate::claims::TrustPolicy;
use crate::component::{Component, Loaded};
use crate::engine::{self, Allocator, EpochTicker};
use crate::error::{Error, ErrorKind, Result};
use crate::exports::Exports;
use crate::host;
use crate::host::keyvalue::{KeyValueBackend, MemoryKeyValue};
use crate::id::ComponentId;
use crate::imports;
use crate::limits::Limits;
use crate::links::{DEFAULT_LINK_TIMEOUT, LinkCtx, LinkFailure, LinkNames, Links};
use crate::logs::GuestLogs;
use crate::store::Ctx;

/// How often the epoch advances by default: the granularity of deadlines and
/// of the yields that keep a busy guest from starving its worker thread.
pub const DEFAULT_EPOCH_TICK: Duration = Duration::from_millis(5);

/// Configures and builds a [`Runtime`].
#[derive(Debug)]
#[must_use]
pub struct RuntimeBuilder {
    limits: Limits,
    cache_dir: Option<PathBuf>,
    cache_max_bytes: u64,
    trust: TrustPolicy,
    links: Option<Arc<dyn Links>>,
    link_timeout: Duration,
    keyvalue: Option<Arc<dyn KeyValueBackend>>,
    epoch_tick: Duration,
    pooling: bool,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            cache_dir: None,
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            trust: TrustPolicy::default(),
            links: None,
            link_timeout: DEFAULT_LINK_TIMEOUT,
            keyvalue: Some(Arc::new(MemoryKeyValue::new())),
            epoch_tick: DEFAULT_EPOCH_TICK,
            pooling: true,
        }
    }
}

impl RuntimeBuilder {
    /// Sets the limits applied to every component (default: wasmCloud v1's).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Caches compiled components under `dir` (default: no cache). The
    /// directory must be owned by the current user and not writable by
    /// group or others, and must not be a symbolic link; it is created
    /// owner-only when missing.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Caps the total size of the compile cache (default
    /// [`DEFAULT_CACHE_MAX_BYTES`], 1 GiB): after a write pushes it over,
    /// the least recently used entries are deleted.
    pub fn cache_max_bytes(mut self, max: u64) -> Self {
        self.cache_max_bytes = max;
        self
    }

    /// Refuses components without claims (default: unsigned allowed).
    pub fn require_signed(mut self, require: bool) -> Self {
        self.trust.require_signed = require;
        self
    }

    /// Accepts claims of `wascap_revision` below 3 (default: refused with
    /// [`ErrorKind::ClaimsLegacyRevision`]). Such claims carry no module
    /// hash, so any binary can carry someone else's claims: allow them only
    /// for components you trust by other means.
    pub fn allow_legacy_claims(mut self, allow: bool) -> Self {
        self.trust.allow_legacy = allow;
        self
    }

    /// Runs only components whose claims were issued by one of these
    /// account public keys (`A…`), compared exactly; unsigned components are
    /// then refused too. Empty (the default) trusts every issuer.
    pub fn allowed_issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.trust.allowed_issuers = issuers.into_iter().map(Into::into).collect();
        self
    }

    /// Carries calls over links: imports no built-in serves, and interfaces a component
    /// links to a provider or another component (default: none, every such call fails
    /// naming the missing link).
    pub fn links(mut self, links: Arc<dyn Links>) -> Self {
        self.links = Some(links);
        self
    }

    /// How long one call over a link may take (default [`DEFAULT_LINK_TIMEOUT`]).
    pub fn link_timeout(mut self, timeout: Duration) -> Self {
        self.link_timeout = timeout;
        self
    }

    /// Serves `wasi:keyvalue` to components without a key-value link from `backend`
    /// (default: a fresh [`MemoryKeyValue`]); `None` leaves them without a store, their
    /// calls failing with an error naming the missing link.
    pub fn keyvalue_backend(mut self, backend: Option<Arc<dyn KeyValueBackend>>) -> Self {
        self.keyvalue = backend;
        self
    }

    /// Sets how often the epoch advances (default [`DEFAULT_EPOCH_TICK`]).
    pub fn epoch_tick(mut self, tick: Duration) -> Self {
        self.epoch_tick = tick;
        self
    }

    /// Whether to try the pooling allocator (default: yes, with a fallback
    /// to on-demand allocation when the pool cannot be reserved).
    pub fn pooling(mut self, pooling: bool) -> Self {
        self.pooling = pooling;
        self
    }

    /// Creates the engine, the epoch ticker, the linker and the cache.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Engine`] when wasmtime rejects the configuration or the
    /// ticker thread cannot start; [`ErrorKind::Cache`] when the cache
    /// directory cannot be created; [`ErrorKind::CacheDirRefused`] when it
    /// (or its key) is a symbolic link, someone else's, or writable by
    /// group or others.
    pub fn build(self) -> Result<Runtime> {
        let (engine, allocator) = engine::create(&self.limits, self.pooling)?;
        let ticker =
            EpochTicker::start(&engine, self.epoch_tick).map_err(|e| Error::with_source(ErrorKind::Engine, e))?;
        let linker = base_linker(&engine).map_err(|e| Error::wasmtime(ErrorKind::Engine, e))?;
        let guest_logs = GuestLogs::start(self.limits.max_log_lines_per_second)
            .map_err(|e| Error::with_source(ErrorKind::Engine, e))?;
        let cache = match &self.cache_dir {
            Some(dir) => Some(CompileCache::open(dir, &engine, self.cache_max_bytes)?),
            None => None,
        };
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                allocator,
                linker,
                cache,
                trust: self.trust,
                links: self.links,
                link_timeout: self.link_timeout,
                keyvalue: self.keyvalue,
                guest_logs,
                invocations: Arc::new(Semaphore::new(
                    usize::try_from(self.limits.admitted_invocations())
                        .unwrap_or(Semaphore::MAX_PERMITS)
                        .min(Semaphore::MAX_PERMITS),
                )),
                limits: self.limits,
                _ticker: ticker,
            }),
        })
    }
}

/// The linker shared by every component: the built-ins of [`host::SERVED`], i.e. WASI 0.2,
/// `wasi:http` (types and outgoing handler), `wasi:config/store`, `wasi:logging/logging`,
/// `wasi:keyvalue/{store,atomics,batch}` and `wasmcloud:bus/lattice`.
fn base_linker(engine: &Engine) -> wasmtime::Result<Linker<Ctx>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    host::config::add_to_linker(&mut linker)?;
    host::logging::add_to_linker(&mut linker)?;
    host::keyvalue::add_to_linker(&mut linker)?;
    host::bus::add_to_linker(&mut linker)?;
    Ok(linker)
}

/// Runs components. Cheap to clone; every clone shares the engine.
#[derive(Debug, Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    allocator: Allocator,
    linker: Linker<Ctx>,
    limits: Limits,
    cache: Option<CompileCache>,
    trust: TrustPolicy,
    links: Option<Arc<dyn Links>>,
    link_timeout: Duration,
    keyvalue: Option<Arc<dyn KeyValueBackend>>,
    /// The queue guest log lines go through, and its writer thread.
    guest_logs: GuestLogs,
    /// One permit per invocation allowed to run at once: the smaller of
    /// [`Limits::max_concurrent_invocations`] and the pool's instance slots.
    invocations: Arc<Semaphore>,
    _ticker: EpochTicker,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("allocator", &self.allocator)
            .field("limits", &self.limits)
            .field("cache", &self.cache)
            .field("trust", &self.trust)
            .field("links", &self.links)
            .field("keyvalue", &self.keyvalue)
            .finish_non_exhaustive()
    }
}

/// Which kind of binary the preamble announces.
#[derive(Debug, PartialEq, Eq)]
enum Preamble {
    Component,
    CoreModule,
    Unknown,
}

/// Reads the 8-byte preamble: `\0asm`, a 16-bit version and a 16-bit layer
/// that is 0 for core modules and 1 for components.
fn preamble(wasm: &[u8]) -> Preamble {
    match wasm {
        [b'\0', b'a', b's', b'm', _, _, 0, 0, ..] => Preamble::CoreModule,
        [b'\0', b'a', b's', b'm', _, _, 1, 0, ..] => Preamble::Component,
        _ => Preamble::Unknown,
    }
}

impl Runtime {
    /// A builder with wasmCloud v1's default limits.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// The wasmtime engine, for embedders that compile or link more.
    #[must_use]
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// How instances are allocated, and why pooling is off if it is.
    #[must_use]
    pub fn allocator(&self) -> &Allocator {
        &self.inner.allocator
    }

    /// The limits applied to every component.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Where components' log budgets come from.
    pub(crate) fn guest_logs(&self) -> &GuestLogs {
        &self.inner.guest_logs
    }

    /// Waits until one more invocation may run; the permit is its slot.
    pub(crate) async fn invocation_permit(&self) -> Result<OwnedSemaphorePermit> {
        Arc::clone(&self.inner.invocations)
            .acquire_owned()
            .await
            .map_err(|closed| Error::with_source(ErrorKind::Engine, closed))
    }

    /// The built-in key-value store, serving components without a key-value link.
    #[must_use]
    pub fn keyvalue(&self) -> Option<&Arc<dyn KeyValueBackend>> {
        self.inner.keyvalue.as_ref()
    }

    /// What a store of `component` needs to make linked calls.
    pub(crate) fn link_ctx(&self, component: &ComponentId, trace: Option<Arc<crate::TraceContext>>) -> LinkCtx {
        LinkCtx {
            source: component.clone(),
            links: self.inner.links.clone(),
            names: LinkNames::default(),
            timeout: self.inner.link_timeout,
            failure: LinkFailure::default(),
            trace,
        }
    }

    /// Verifies, compiles (or reads from the cache) and pre-instantiates a
    /// component. Compiling is CPU-heavy: call this from a blocking context
    /// (e.g. `tokio::task::spawn_blocking`) in an async program.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::ComponentTooLarge`] past the size cap,
    /// - [`ErrorKind::CoreModule`] for a core module,
    /// - [`ErrorKind::InvalidComponent`] for anything else that does not
    ///   compile,
    /// - a claims kind ([`ErrorKind::ClaimsInvalidSignature`],
    ///   [`ErrorKind::ClaimsExpired`], [`ErrorKind::ClaimsNotYetValid`],
    ///   [`ErrorKind::ClaimsHashMismatch`], [`ErrorKind::ClaimsInvalid`],
    ///   [`ErrorKind::Unsigned`], [`ErrorKind::ClaimsLegacyRevision`],
    ///   [`ErrorKind::IssuerNotAllowed`]) when the claims are refused,
    /// - [`ErrorKind::Instantiation`] when its imports cannot be linked.
    pub fn load(&self, id: impl Into<ComponentId>, wasm: &[u8]) -> Result<Component> {
        let id = id.into();
        let started = std::time::Instant::now();
        let max = self.inner.limits.max_component_size;
        if wasm.len() > max {
            return Err(Error::new(ErrorKind::ComponentTooLarge { size: wasm.len(), max }));
        }
        match preamble(wasm) {
            Preamble::Component => {}
            Preamble::CoreModule => return Err(Error::new(ErrorKind::CoreModule)),
            Preamble::Unknown => return Err(Error::new(ErrorKind::InvalidComponent)),
        }
        let claims = crate::claims::verify(wasm, &self.inner.trust)?;
        let wasm_hash = cache::wasm_hash(wasm);
        let engine = &self.inner.engine;
        let (compiled, cache_outcome) = match &self.inner.cache {
            Some(cache) => cache.get_or_compile(engine, wasm, &wasm_hash)?,
            None => (cache::compile(engine, wasm)?, CacheOutcome::Disabled),
        };
        let mut linker = self.inner.linker.clone();
        let linked_imports = imports::define_linked_imports(&mut linker, engine, host::SERVED, &compiled)
            .map_err(|e| Error::wasmtime(ErrorKind::Instantiation, e))?;
        let instance_pre = linker
            .instantiate_pre(&compiled)
            .map_err(|e| Error::wasmtime(ErrorKind::Instantiation, e))?;
        let exports = Exports::of(engine, &compiled);
        tracing::debug!(
            component_id = %id,
            ?cache_outcome,
            signed = claims.is_some(),
            ?linked_imports,
            elapsed = ?started.elapsed(),
            "component loaded"
        );
        Ok(Component::new(Loaded {
            id,
            runtime: self.clone(),
            claims,
            cache_outcome,
            wasm_hash,
            instance_pre,
            linked_imports,
            exports,
        }))
    }
}

impl Runtime {
    /// [`Runtime::load`] on tokio's blocking pool, so compiling does not
    /// stall the async workers that serve requests.
    ///
    /// # Errors
    ///
    /// As for [`Runtime::load`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if loading panicked.
    pub async fn load_async(&self, id: impl Into<ComponentId>, wasm: Vec<u8>) -> Result<Component> {
        let runtime = self.clone();
        let id = id.into();
        tokio::task::spawn_blocking(move || runtime.load(id, &wasm))
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_tells_modules_from_components() {
        assert_eq!(preamble(b"\0asm\x01\0\0\0"), Preamble::CoreModule);
        assert_eq!(preamble(b"\0asm\x0d\0\x01\0"), Preamble::Component);
        assert_eq!(preamble(b"(module)"), Preamble::Unknown);
        assert_eq!(preamble(b"\0as"), Preamble::Unknown);
    }

    #[test]
    fn oversized_and_core_modules_are_refused_before_compiling() {
        let runtime = Runtime::builder()
            .pooling(false)
            .limits(Limits {
                max_component_size: 8,
                ..Limits::default()
            })
            .build()
            .unwrap();
        let err = runtime.load("big", &[0; 9]).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::ComponentTooLarge { size: 9, max: 8 });
        let err = runtime.load("core", b"\0asm\x01\0\0\0").unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::CoreModule);
        assert!(err.to_string().contains("not a component"));
    }
}
