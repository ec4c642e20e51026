//! [`Host`]: starting a lattice member (NATS, buckets, runtime, control
//! server, watchers, heartbeat) and stopping it gracefully. [`HostCtx`] is
//! the shared context the control handlers and background tasks work on;
//! each of its parts is a narrow type with one job.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lattice_control_interface::events::data::{HostStarted, HostStopped};
use lattice_control_interface::subject::CtlSubjects;
use lattice_control_interface::{HostId, LatticeEvent};
use lattice_runtime::Runtime;
use lattice_runtime::host::keyvalue::KeyValueBackend;
use tokio::time::Instant;

use crate::components::Components;
use crate::config::{DEFAULT_SHUTDOWN_TIMEOUT, HostConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::events::Events;
use crate::http_server::{HttpRoute, HttpServers};
use crate::keyvalue::LatticeKeyValue;
use crate::labels::Labels;
use crate::policy::Policy;
use crate::providers::{ProviderFiles, Providers};
use crate::rpc::LatticeLinks;
use crate::shutdown::Shutdown;
use crate::state::LatticeState;
use crate::store::LatticeStore;
use crate::watcher::{self, Bucket};

/// Who this host is.
#[derive(Debug)]
pub(crate) struct Identity {
    pub(crate) host_id: HostId,
    pub(crate) friendly_name: String,
    pub(crate) version: String,
    pub(crate) started: std::time::Instant,
    /// The host's curve key, the sender of what it seals for providers.
    pub(crate) xkey: nkeys::XKey,
}

/// What the control handlers and background tasks share.
#[derive(Debug)]
pub(crate) struct HostCtx {
    pub(crate) identity: Identity,
    pub(crate) config: HostConfig,
    pub(crate) nats: async_nats::Client,
    pub(crate) subjects: CtlSubjects,
    pub(crate) events: Events,
    pub(crate) labels: Arc<Labels>,
    pub(crate) store: LatticeStore,
    pub(crate) state: LatticeState,
    pub(crate) runtime: Runtime,
    pub(crate) components: Arc<Components>,
    pub(crate) providers: Providers,
    /// Where provider executables are written and run from.
    pub(crate) provider_files: ProviderFiles,
    /// Pulls components and providers from OCI registries.
    pub(crate) oci: lattice_oci::Oci,
    pub(crate) http: HttpServers,
    /// The host's metrics; `None` when they are off.
    pub(crate) telemetry: Option<crate::telemetry::Telemetry>,
    /// The host's spans; `None` when traces are off.
    pub(crate) traces: Option<lattice_telemetry::Traces>,
    /// The policy service asked before starts and invocations, if any.
    pub(crate) policy: Arc<Policy>,
    /// One permit per control request being handled ([`crate::ctl::MAX_CONCURRENT_REQUESTS`]):
    /// shutdown waits for all of them, so a `host.stop` is answered before the host goes.
    pub(crate) ctl_in_flight: Arc<tokio::sync::Semaphore>,
    pub(crate) shutdown: Shutdown,
}

impl HostCtx {
    /// The host's instruments, when metrics are on.
    pub(crate) fn metrics(&self) -> Option<&Arc<crate::telemetry::HostMetrics>> {
        self.telemetry.as_ref().map(crate::telemetry::Telemetry::metrics)
    }

    /// The tracer of the host's spans, when traces are on.
    pub(crate) fn tracer(&self) -> Option<&lattice_telemetry::Tracer> {
        self.traces.as_ref().map(lattice_telemetry::Traces::tracer)
    }

    /// Asks the policy service (if any) whether `request` may happen.
    pub(crate) async fn permitted(&self, request: &crate::policy::Request<'_>) -> std::result::Result<(), String> {
        self.policy.check(request).await
    }
}

/// A running host. Dropping it does not stop it: call [`Host::stop`], or
/// wait for a `host.stop` request with [`Host::stopped`].
#[derive(Debug)]
pub struct Host {
    ctx: Arc<HostCtx>,
}

impl Host {
    /// Connects to NATS, opens (creating if missing) the lattice buckets and
    /// loads their state, subscribes to the control interface, announces
    /// `host_started` and starts heartbeats.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidHostSeed`] or [`ErrorKind::InvalidConfig`] for
    /// an unusable configuration, [`ErrorKind::Connect`] when NATS cannot be
    /// reached, [`ErrorKind::Bucket`] when JetStream is unavailable,
    /// [`ErrorKind::Subscribe`], [`ErrorKind::Runtime`] and
    /// [`ErrorKind::AdminListener`].
    pub async fn start(config: HostConfig) -> Result<Self> {
        let started = std::time::Instant::now();
        config.validate()?;
        let key = config.host_key()?;
        let provider_files = ProviderFiles::create().map_err(|e| {
            Error::with_source(
                ErrorKind::InvalidConfig("cannot create the provider directory in the temporary directory".to_owned()),
                e,
            )
        })?;
        let oci = lattice_oci::Oci::new(config.oci.clone())
            .map_err(|e| Error::new(ErrorKind::InvalidConfig(e.to_string())))?;
        oci.put_credentials(config.oci_credentials.clone());
        let host_id = HostId::new(key.public_key());
        let friendly_name = crate::names::friendly_name();
        let version = env!("CARGO_PKG_VERSION");
        let identity = crate::telemetry::HostIdentity {
            host_id: host_id.as_str(),
            friendly_name: &friendly_name,
            version,
            lattice: &config.lattice,
        };
        let telemetry = crate::telemetry::Telemetry::start(&config.observability, &identity)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig(e)))?;
        let traces = crate::telemetry::start_traces(&config.observability, &identity)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig(e)))?;
        let tracer = traces.as_ref().map(|t| t.tracer().clone());
        let admin = match config.http_admin {
            Some(addr) => Some(crate::admin::bind(addr).await?),
            None => None,
        };
        // Linked calls find their targets in the lattice state the bucket watch keeps, and
        // travel over the NATS connection made below.
        let state = LatticeState::default();
        let links = Arc::new(LatticeLinks::new(
            &config.lattice,
            Arc::clone(state.link_targets()),
            telemetry.as_ref().map(|t| Arc::clone(t.metrics())),
            tracer.clone(),
        ));
        let keyvalue = config
            .builtin_keyvalue
            .then(|| Arc::new(LatticeKeyValue::new(&config.lattice, config.keyvalue_limits)));
        // Creating the engine (reserving the instance pool) needs no NATS:
        // it runs on a blocking thread while the host connects.
        let mut runtime = Runtime::builder()
            .limits(config.limits.clone())
            .require_signed(config.require_signed)
            .allow_legacy_claims(config.allow_legacy_claims)
            .allowed_issuers(config.allowed_issuers.clone())
            .links(Arc::clone(&links) as Arc<dyn lattice_runtime::Links>)
            .keyvalue_backend(keyvalue.clone().map(|kv| kv as Arc<dyn KeyValueBackend>));
        if let Some(dir) = &config.compile_cache_dir {
            runtime = runtime.cache_dir(dir).cache_max_bytes(config.compile_cache_max_bytes);
        }
        let runtime = tokio::task::spawn_blocking(move || runtime.build());
        let nats = connect_nats(&config, &host_id).await?;
        tracing::debug!(elapsed = ?started.elapsed(), "connected to NATS");
        links.connect(nats.clone());
        let store = LatticeStore::open(nats.clone(), &config.lattice, config.js_domain.as_deref()).await?;
        tracing::debug!(elapsed = ?started.elapsed(), "lattice buckets open");
        if let Some(keyvalue) = &keyvalue {
            keyvalue.connect(store.jetstream().clone());
        }
        let runtime = runtime
            .await
            .map_err(|e| Error::with_source(ErrorKind::Runtime, e))?
            .map_err(|e| runtime_error(&config, e))?;
        tracing::debug!(elapsed = ?started.elapsed(), "runtime ready");
        let labels = Arc::new(Labels::new(&config.labels));
        let policy = Policy::start(
            nats.clone(),
            config.policy_topic.clone(),
            config.policy_changes_topic.clone(),
            config.policy_timeout,
            crate::policy::Host {
                public_key: host_id.to_string(),
                lattice: config.lattice.clone(),
                labels: Arc::clone(&labels),
            },
        )
        .await
        .map_err(|e| Error::with_source(ErrorKind::Subscribe, e))?;
        let ctx = Arc::new(HostCtx {
            identity: Identity {
                host_id: host_id.clone(),
                friendly_name,
                version: version.to_owned(),
                started: std::time::Instant::now(),
                xkey: nkeys::XKey::new(),
            },
            subjects: CtlSubjects::with_topic_prefix(&config.ctl_topic_prefix, &config.lattice),
            events: Events::new(nats.clone(), &config.lattice, host_id.clone()),
            labels,
            policy: Arc::new(policy),
            ctl_in_flight: Arc::new(tokio::sync::Semaphore::new(crate::ctl::MAX_CONCURRENT_REQUESTS)),
            nats,
            store,
            state,
            runtime,
            components: Arc::new(Components::default()),
            providers: Providers::default(),
            provider_files,
            oci,
            http: HttpServers::new(tracer),
            telemetry,
            traces,
            shutdown: Shutdown::new(),
            config,
        });

        let bucket_error = |bucket: &str, e: crate::store::StoreError| {
            Error::with_source(
                ErrorKind::Bucket {
                    bucket: format!("{bucket}_{}", ctx.config.lattice),
                },
                e,
            )
        };
        let (data_watch, config_watch, subscribers) = tokio::try_join!(
            async {
                watcher::load(&ctx.store, &ctx.state, Bucket::Data)
                    .await
                    .map_err(|e| bucket_error("LATTICEDATA", e))
            },
            async {
                watcher::load(&ctx.store, &ctx.state, Bucket::Config)
                    .await
                    .map_err(|e| bucket_error("CONFIGDATA", e))
            },
            crate::ctl::subscribe(&ctx),
        )?;
        tracing::debug!(elapsed = ?started.elapsed(), "lattice state loaded, subscribed");
        // Announce only once the server has the subscriptions: a client
        // that sees `host_started` must find the host listening.
        lattice_control_interface::sync_with_server(&ctx.nats, Duration::from_secs(10))
            .await
            .map_err(|e| Error::with_source(ErrorKind::Subscribe, e))?;

        tokio::spawn(watcher::follow(Arc::clone(&ctx), Bucket::Data, data_watch));
        tokio::spawn(watcher::follow(Arc::clone(&ctx), Bucket::Config, config_watch));
        tokio::spawn(crate::ctl::serve(Arc::clone(&ctx), subscribers));
        tokio::spawn(crate::heartbeat::run(Arc::clone(&ctx)));
        let ready = Arc::new(AtomicBool::new(false));
        if let Some(listener) = admin {
            tokio::spawn(crate::admin::serve(
                listener,
                Arc::clone(&ready),
                ctx.shutdown.requested(),
            ));
        }
        tokio::spawn(supervise(Arc::clone(&ctx), Arc::clone(&ready)));

        // Ready before the announcement: whoever sees `host_started` may ask `/readyz`.
        ready.store(true, Ordering::Release);
        ctx.events
            .publish(LatticeEvent::HostStarted(HostStarted {
                friendly_name: ctx.identity.friendly_name.clone(),
                labels: ctx.labels.snapshot(),
                uptime_seconds: 0,
                version: ctx.identity.version.clone(),
            }))
            .await;
        tracing::info!(
            host_id = %ctx.identity.host_id,
            friendly_name = %ctx.identity.friendly_name,
            lattice = %ctx.config.lattice,
            elapsed = ?started.elapsed(),
            "host started"
        );
        Ok(Self { ctx })
    }

    /// The host's public key (`N…`).
    #[must_use]
    pub fn id(&self) -> &HostId {
        &self.ctx.identity.host_id
    }

    /// The host's friendly name.
    #[must_use]
    pub fn friendly_name(&self) -> &str {
        &self.ctx.identity.friendly_name
    }

    /// The lattice the host belongs to.
    #[must_use]
    pub fn lattice(&self) -> &str {
        &self.ctx.config.lattice
    }

    /// The merged `wasi:config/store` values of a running component, or
    /// `None` when it does not run here.
    #[must_use]
    pub fn component_config(&self, component_id: &str) -> Option<Arc<BTreeMap<String, String>>> {
        self.ctx.components.get(component_id).map(|c| c.component.config())
    }

    /// The process id of provider `provider_id`, when it runs here as a process.
    #[must_use]
    pub fn provider_pid(&self, provider_id: &str) -> Option<u32> {
        self.ctx.providers.get(provider_id)?.process()?.pid()
    }

    /// Has the built-in http-server providers started on this host from now
    /// on tell `observer` of every request they answer (`wash dev`'s request lines).
    pub fn observe_http(&self, observer: Arc<dyn crate::ingress::RequestObserver>) {
        self.ctx.http.observe(observer);
    }

    /// The HTTP routes the built-in http-server providers serve.
    #[must_use]
    pub fn http_routes(&self) -> Vec<HttpRoute> {
        self.ctx.http.routes()
    }

    /// Stops the host: no new control requests or HTTP connections, in-flight
    /// requests finish until `deadline` (default 10 s from now), then
    /// `host_stopped` is announced. Returns once stopped.
    pub async fn stop(&self, deadline: Option<Instant>) {
        let deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_SHUTDOWN_TIMEOUT);
        self.ctx.shutdown.request(deadline);
        self.ctx.shutdown.wait_done().await;
    }

    /// Resolves once the host has stopped, whether through [`Host::stop`] or
    /// a `host.stop` control request.
    pub async fn stopped(&self) {
        self.ctx.shutdown.wait_done().await;
    }
}

/// Connects to NATS with the configured credentials and TLS settings; the
/// error tells a refused login and a failed handshake from an unreachable
/// server.
async fn connect_nats(config: &HostConfig, host_id: &HostId) -> Result<async_nats::Client> {
    let url = || config.nats_url.clone();
    let auth = &config.nats_auth;
    let mut options = match &auth.creds_file {
        Some(path) => async_nats::ConnectOptions::with_credentials_file(path)
            .await
            .map_err(|e| {
                Error::with_source(
                    ErrorKind::NatsCreds {
                        path: path.display().to_string(),
                    },
                    e,
                )
            })?,
        None => async_nats::ConnectOptions::new(),
    };
    match (&auth.jwt, &auth.seed) {
        (Some(jwt), Some(seed)) => {
            let key = nkeys::KeyPair::from_seed(seed.trim()).map(Arc::new).map_err(|_| {
                Error::new(ErrorKind::InvalidConfig(
                    "--nats-seed is not a user nkey seed".to_owned(),
                ))
            })?;
            options = options.jwt(jwt.trim().to_owned(), move |nonce| {
                let key = Arc::clone(&key);
                async move { key.sign(&nonce).map_err(async_nats::AuthError::new) }
            });
        }
        (None, Some(seed)) => options = options.nkey(seed.trim().to_owned()),
        // `validate` refuses a JWT without a seed.
        (_, None) => {}
    }
    let tls = &config.nats_tls;
    if tls.is_enabled() {
        options = options.require_tls(true);
    }
    if let Some(ca) = &tls.ca_file {
        options = options.add_root_certificates(ca.clone());
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    if tls.tls_first {
        options = options.tls_first();
    }
    options
        .name(format!("lattice-host {host_id}"))
        .connect(config.nats_url.as_str())
        .await
        .map_err(|e| {
            let kind = match e.kind() {
                async_nats::ConnectErrorKind::AuthorizationViolation | async_nats::ConnectErrorKind::Authentication => {
                    ErrorKind::NatsAuth { url: url() }
                }
                async_nats::ConnectErrorKind::Tls => ErrorKind::NatsTls { url: url() },
                // A certificate rustls refuses surfaces as invalid data on
                // the connection.
                async_nats::ConnectErrorKind::Io if is_invalid_data(&e) => ErrorKind::NatsTls { url: url() },
                _ => ErrorKind::Connect { url: url() },
            };
            Error::with_source(kind, e)
        })
}

/// Whether an I/O error with kind `InvalidData` is among the causes.
fn is_invalid_data(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::InvalidData)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// The start error for a runtime that could not be built: a refused or
/// unusable compile cache names the directory and the ways out.
fn runtime_error(config: &HostConfig, error: lattice_runtime::Error) -> Error {
    match (error.kind(), &config.compile_cache_dir) {
        (lattice_runtime::ErrorKind::CacheDirRefused { .. } | lattice_runtime::ErrorKind::Cache, Some(dir)) => {
            Error::with_source(
                ErrorKind::CompileCache {
                    dir: dir.display().to_string(),
                },
                error,
            )
        }
        _ => Error::with_source(ErrorKind::Runtime, error),
    }
}

/// Waits for a stop request and carries it out.
async fn supervise(ctx: Arc<HostCtx>, ready: Arc<AtomicBool>) {
    let deadline = ctx.shutdown.requested().wait().await;
    ready.store(false, Ordering::Release);
    tracing::info!(host_id = %ctx.identity.host_id, "host stopping");
    let drain = deadline.saturating_duration_since(Instant::now());
    ctx.http.stop_all(drain).await;
    let stopping = ctx
        .providers
        .list()
        .into_iter()
        .filter_map(|(id, _)| ctx.providers.remove(id.as_str()).map(|p| (id, p)));
    let stopping: Vec<_> = stopping.collect();
    futures::future::join_all(
        stopping
            .iter()
            .map(|(id, provider)| crate::ctl::stop_provider(&ctx, id, provider)),
    )
    .await;
    wait_for_components(&ctx, deadline).await;
    // Control requests still being handled answer before the connection goes: the host.stop
    // that asked for this is one of them, and its reply is published after this began.
    let all = u32::try_from(crate::ctl::MAX_CONCURRENT_REQUESTS).unwrap_or(u32::MAX);
    let answered = deadline.max(Instant::now() + Duration::from_secs(1));
    if tokio::time::timeout_at(answered, ctx.ctl_in_flight.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("control requests were still being handled when the host stopped");
    }
    ctx.events
        .publish(LatticeEvent::HostStopped(HostStopped {
            labels: ctx.labels.snapshot(),
        }))
        .await;
    let metrics = async {
        if let Some(telemetry) = &ctx.telemetry {
            telemetry.shut_down(Duration::from_secs(5)).await;
        }
    };
    let traces = async {
        if let Some(traces) = &ctx.traces {
            traces.shut_down(Duration::from_secs(5)).await;
        }
    };
    tokio::join!(metrics, traces);
    let flush = tokio::time::timeout(Duration::from_secs(2), ctx.nats.flush()).await;
    if !matches!(flush, Ok(Ok(()))) {
        tracing::warn!("could not flush the last events to NATS");
    }
    tracing::info!(host_id = %ctx.identity.host_id, "host stopped");
    ctx.shutdown.mark_done();
}

/// Waits until no component has an invocation in flight, or the deadline.
async fn wait_for_components(ctx: &HostCtx, deadline: Instant) {
    for (id, running) in ctx.components.list() {
        let Some(permits) = &running.permits else {
            continue;
        };
        let all = running.max_instances;
        match tokio::time::timeout_at(deadline, permits.acquire_many(all)).await {
            Ok(_) => {}
            Err(_) => {
                tracing::warn!(component_id = %id, "invocations still running at the shutdown deadline");
                return;
            }
        }
    }
}
