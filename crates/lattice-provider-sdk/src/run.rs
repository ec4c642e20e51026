//! Start-up and the host's messages: [`run_provider`] and [`ProviderBuilder`] read the host
//! data, set up logging, connect to the lattice, apply the links the host data carries,
//! subscribe to link puts and deletes, health checks, config updates and shutdown, and hand
//! back a [`ProviderHandle`].
//!
//! Each subscription is served by its own task, so health checks are answered while a link
//! hook runs; link puts and deletes share one task, so they reach the provider in order.
//! Nothing a host (or anyone) sends stops a provider: a message that does not decode is
//! logged with its subject and dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use lattice_control_interface::provider::{
    HealthCheckResponse, HostData, InterfaceLinkDefinition, ShutdownRequest, subject,
};
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::connection::ProviderHandle;
use crate::error::{ErrorKind, ProviderError};
use crate::links::{self, LinkTable, SecretKeys};
use crate::provider::Provider;

/// How long a provider waits for its host data on stdin: a host writes it at once.
pub const STDIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The reply to a shutdown request, as upstream providers send it.
const SHUTTING_DOWN: &str = "shutting down";

/// Starts `provider` the way a host expects: host data from stdin, logging as the host data
/// says (unless `RUST_LOG` is set), subscriptions on the lattice, SIGINT and SIGTERM handled
/// as a shutdown request. `name` names the NATS connection (shown by the server's monitoring).
///
/// # Errors
///
/// See [`ProviderBuilder::start`].
pub async fn run_provider<P: Provider>(provider: P, name: &str) -> Result<ProviderHandle, ProviderError> {
    ProviderBuilder::new(name).start(provider).await
}

/// How a provider starts; [`run_provider`] is the usual way, this builder is for providers
/// embedded in another program and for tests.
#[derive(Debug, Clone)]
pub struct ProviderBuilder {
    name: String,
    host_data: Option<HostData>,
    logging: bool,
    signals: bool,
    parent_watch: bool,
    stdin_timeout: Duration,
}

impl ProviderBuilder {
    /// A provider named `name`, with [`run_provider`]'s defaults.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            host_data: None,
            logging: true,
            signals: true,
            parent_watch: true,
            stdin_timeout: STDIN_TIMEOUT,
        }
    }

    /// Starts with this host data instead of reading stdin.
    #[must_use]
    pub fn host_data(mut self, host_data: HostData) -> Self {
        self.host_data = Some(host_data);
        self
    }

    /// Whether to install a `tracing` subscriber on stderr (default yes; a program that has
    /// its own says no). An existing global subscriber is never replaced.
    #[must_use]
    pub fn logging(mut self, on: bool) -> Self {
        self.logging = on;
        self
    }

    /// Whether SIGINT and SIGTERM shut the provider down (default yes).
    #[must_use]
    pub fn signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// Whether the provider shuts down once the process that started it (its host) is gone,
    /// checked every [`PARENT_CHECK_INTERVAL`] (default yes). A host that is killed outright
    /// cannot ask its providers to stop; this is how they notice instead of running on,
    /// orphaned. A program that embeds a provider says no.
    #[must_use]
    pub fn parent_watch(mut self, on: bool) -> Self {
        self.parent_watch = on;
        self
    }

    /// How long to wait for host data on stdin (default [`STDIN_TIMEOUT`]).
    #[must_use]
    pub fn stdin_timeout(mut self, timeout: Duration) -> Self {
        self.stdin_timeout = timeout;
        self
    }

    /// Starts the provider: connects, calls the provider's `init` hook with the handle, applies
    /// every link of the host data, then subscribes; every subscription exists on the server
    /// when this returns.
    ///
    /// # Errors
    ///
    /// When stdin holds no host data in time or something else, when a key in it does not
    /// parse, when the lattice's NATS server cannot be reached or refuses a subscription, or
    /// when the provider's `init` hook fails.
    pub async fn start<P: Provider>(self, provider: P) -> Result<ProviderHandle, ProviderError> {
        let host_data = match self.host_data {
            Some(host_data) => host_data,
            None => read_host_data(self.stdin_timeout).await?,
        };
        let logs = if self.logging {
            init_logging(&host_data, &self.name).map(Arc::new)
        } else {
            None
        };
        let keys = secret_keys(&host_data)?;
        let nats = connect(&host_data, &self.name).await?;
        let provider = Arc::new(provider);
        let provider_id: Arc<str> = host_data.provider_key.as_str().into();
        let lattice = host_data.lattice_rpc_prefix.as_str();

        let prefix = format!("{lattice}.{provider_id}");
        let server = wrpc_transport_nats::Client::new(nats.clone(), prefix.as_str(), Some(prefix.as_str().into()))
            .await
            .map_err(|e| ProviderError::with_source(ErrorKind::Wrpc(prefix.clone()), e))?;
        let traces = crate::trace::start(&host_data, &self.name).map(Arc::new);
        let server = crate::trace::WrpcServer::new(server, traces.as_ref().map(|t| t.tracer().clone()));
        let (stopping_tx, stopping_rx) = watch::channel(false);
        let stopping = Arc::new(stopping_tx);
        let handle = ProviderHandle::new(host_data.clone(), nats.clone(), server, stopping_rx);
        provider
            .init(&handle)
            .await
            .map_err(|e| ProviderError::with_source(ErrorKind::Init, e))?;

        let mut table = LinkTable::default();
        for def in &host_data.link_definitions {
            links::put(&*provider, &mut table, &provider_id, keys.as_ref(), def).await;
        }

        // Hosts that gave the provider a curve key send link puts to its public key, so that
        // only the provider holding the seed gets the (secret-bearing) links.
        let put_key = keys
            .as_ref()
            .map_or_else(|| provider_id.to_string(), |k| k.provider.public_key());
        let puts = subscribe(&nats, subject::link_put(lattice, &put_key)).await?;
        let dels = subscribe(&nats, subject::link_del(lattice, &provider_id)).await?;
        let health = subscribe(&nats, subject::health(lattice, &provider_id)).await?;
        let shutdown = subscribe(&nats, subject::shutdown(lattice, &provider_id)).await?;
        let config = subscribe(&nats, subject::config_update(lattice, &provider_id)).await?;
        // The subscriptions are on the server once the flush returns: a host (or test) may
        // send to them as soon as this function returns.
        nats.flush()
            .await
            .map_err(|e| ProviderError::with_source(ErrorKind::Connect(host_data.nats_url().to_owned()), e))?;

        let ctx = Ctx {
            provider: Arc::clone(&provider),
            provider_id: Arc::clone(&provider_id),
            begun: Arc::new(AtomicBool::new(false)),
            stopping: Arc::clone(&stopping),
            traces,
            logs,
        };
        tokio::spawn(link_messages(ctx.clone(), puts, dels, table, keys));
        tokio::spawn(health_checks(ctx.clone(), nats.clone(), health));
        tokio::spawn(config_updates(ctx.clone(), config));
        tokio::spawn(shutdown_requests(
            ctx.clone(),
            nats.clone(),
            shutdown,
            host_data.host_id.clone(),
        ));
        if self.parent_watch {
            // Read now, not in the task: a parent killed before the task first ran would
            // otherwise be recorded as its successor (init or a subreaper), and never missed.
            #[cfg(unix)]
            let parent = rustix::process::getppid();
            #[cfg(not(unix))]
            let parent = ();
            tokio::spawn(orphaned(ctx.clone(), parent));
        }
        if self.signals {
            tokio::spawn(signalled(ctx));
        }
        tracing::info!(
            provider_id = %provider_id,
            lattice,
            links = host_data.link_definitions.len(),
            "provider started"
        );
        Ok(handle)
    }
}

/// How long the last spans, and then the last log records, may take to export when the
/// provider stops.
const TELEMETRY_FLUSH_TIMEOUT: Duration = Duration::from_secs(3);

/// What each message task needs.
struct Ctx<P> {
    provider: Arc<P>,
    provider_id: Arc<str>,
    /// Set by whoever begins shutdown, so the hook runs once even if a signal and a request
    /// race.
    begun: Arc<AtomicBool>,
    stopping: Arc<watch::Sender<bool>>,
    /// The span pipeline, flushed before the provider says it stopped.
    traces: Option<Arc<lattice_telemetry::Traces>>,
    /// The log pipeline, flushed after the spans.
    logs: Option<Arc<lattice_telemetry::Logs>>,
}

impl<P> Clone for Ctx<P> {
    fn clone(&self) -> Self {
        Self {
            provider: Arc::clone(&self.provider),
            provider_id: Arc::clone(&self.provider_id),
            begun: Arc::clone(&self.begun),
            stopping: Arc::clone(&self.stopping),
            traces: self.traces.clone(),
            logs: self.logs.clone(),
        }
    }
}

impl<P: Provider> Ctx<P> {
    /// Resolves once shutdown has begun.
    async fn stopped(&self) {
        let mut rx = self.stopping.subscribe();
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// Runs the provider's shutdown hook once, then tells everyone waiting.
    async fn shut_down(&self) {
        if self.begun.swap(true, Ordering::SeqCst) {
            return self.stopped().await;
        }
        self.provider.shutdown().await;
        if let Some(traces) = &self.traces {
            traces.shut_down(TELEMETRY_FLUSH_TIMEOUT).await;
        }
        if let Some(logs) = &self.logs {
            logs.shut_down(TELEMETRY_FLUSH_TIMEOUT).await;
        }
        self.stopping.send_replace(true);
    }
}

/// Reads the host data a host writes on stdin, waiting at most `timeout` (usually
/// [`STDIN_TIMEOUT`]). For providers that need their config before they exist: read it,
/// build the provider, then start it with [`ProviderBuilder::host_data`].
///
/// # Errors
///
/// When nothing arrives in time, or what arrives is not host data.
pub async fn read_host_data(timeout: Duration) -> Result<HostData, ProviderError> {
    // A plain thread does the blocking read: abandoned on timeout, it cannot hold up the
    // runtime's shutdown the way a blocked `spawn_blocking` read would.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("host-data".into())
        .spawn(move || {
            let mut line = String::new();
            let read = std::io::stdin().read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
        })
        .map_err(|e| ProviderError::with_source(ErrorKind::InvalidHostData, e))?;
    let line = match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(Ok(line))) => line,
        Ok(Ok(Err(err))) => return Err(ProviderError::with_source(ErrorKind::InvalidHostData, err)),
        // The thread died without a word: as good as no host data.
        Ok(Err(_)) | Err(_) => return Err(ProviderError::new(ErrorKind::NoHostData(timeout))),
    };
    HostData::from_stdin_line(&line).map_err(|e| ProviderError::with_source(ErrorKind::InvalidHostData, e))
}

/// A `tracing` subscriber on stderr at the host's level, JSON when the host logs JSON;
/// `RUST_LOG` wins over the host's level. With logs on in the host data's `otel_config`, lines
/// are exported over OTLP too, and the pipeline is returned. A pipeline that cannot start is
/// logged and the provider runs without it.
fn init_logging(host_data: &HostData, name: &str) -> Option<lattice_telemetry::Logs> {
    let level = match host_data.log_level.as_deref().map(str::to_ascii_lowercase).as_deref() {
        // tracing has no level above error.
        Some("critical") => "error".to_owned(),
        Some(level @ ("error" | "warn" | "info" | "debug" | "trace")) => level.to_owned(),
        _ => "info".to_owned(),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let logs = lattice_telemetry::Logs::start(&host_data.otel_config, crate::trace::service(host_data, name));
    // A host reads the provider's stderr through a pipe that closes when the host dies: the
    // subscriber loses a line written after that, and does nothing more (see
    // `lattice_telemetry::init_logging`). It fails only when the program installed its own
    // subscriber, which then stays (and nothing is exported).
    let installed = lattice_telemetry::init_logging(
        filter,
        host_data.structured_logging,
        logs.as_ref().ok().and_then(Option::as_ref),
    )
    .is_ok();
    match logs {
        Ok(Some(logs)) if installed => {
            logs.announce();
            Some(logs)
        }
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(%error, "the provider's log lines are not exported");
            None
        }
    }
}

/// The curve keys, when the host gave both.
fn secret_keys(host_data: &HostData) -> Result<Option<SecretKeys>, ProviderError> {
    let (seed, host) = (
        host_data.provider_xkey_private_key.trim(),
        host_data.host_xkey_public_key.trim(),
    );
    if seed.is_empty() || host.is_empty() {
        return Ok(None);
    }
    let provider = nkeys::XKey::from_seed(seed)
        .map_err(|e| ProviderError::with_source(ErrorKind::InvalidKey("provider_xkey_private_key"), e))?;
    let host = nkeys::XKey::from_public_key(host)
        .map_err(|e| ProviderError::with_source(ErrorKind::InvalidKey("host_xkey_public_key"), e))?;
    Ok(Some(SecretKeys { provider, host }))
}

/// Connects to the lattice, with the user JWT and seed when the host gave both.
async fn connect(host_data: &HostData, name: &str) -> Result<async_nats::Client, ProviderError> {
    let url = host_data.nats_url();
    let mut options = async_nats::ConnectOptions::new().name(name);
    let (jwt, seed) = (
        host_data.lattice_rpc_user_jwt.trim(),
        host_data.lattice_rpc_user_seed.trim(),
    );
    if !jwt.is_empty() && !seed.is_empty() {
        let key = Arc::new(
            nkeys::KeyPair::from_seed(seed)
                .map_err(|e| ProviderError::with_source(ErrorKind::InvalidKey("lattice_rpc_user_seed"), e))?,
        );
        options = options.jwt(jwt.to_owned(), move |nonce| {
            let key = Arc::clone(&key);
            async move { key.sign(&nonce).map_err(async_nats::AuthError::new) }
        });
    }
    options
        .connect(url)
        .await
        .map_err(|e| ProviderError::with_source(ErrorKind::Connect(url.to_owned()), e))
}

async fn subscribe(nats: &async_nats::Client, subject: String) -> Result<async_nats::Subscriber, ProviderError> {
    nats.subscribe(subject.clone())
        .await
        .map_err(|e| ProviderError::with_source(ErrorKind::Subscribe(subject), e))
}

/// Link puts and deletes, one at a time, in the order they are taken off the two
/// subscriptions.
async fn link_messages<P: Provider>(
    ctx: Ctx<P>,
    puts: async_nats::Subscriber,
    dels: async_nats::Subscriber,
    mut table: LinkTable,
    keys: Option<SecretKeys>,
) {
    let mut messages = futures::stream::select(puts.map(|m| (true, m)), dels.map(|m| (false, m)));
    loop {
        let (is_put, message) = tokio::select! {
            next = messages.next() => match next {
                Some(next) => next,
                None => return,
            },
            () = ctx.stopped() => return,
        };
        let def: InterfaceLinkDefinition = match serde_json::from_slice(&message.payload) {
            Ok(def) => def,
            Err(err) => {
                tracing::warn!(subject = %message.subject, error = %err, "ignoring a link message that is not a link definition");
                continue;
            }
        };
        if is_put {
            links::put(&*ctx.provider, &mut table, &ctx.provider_id, keys.as_ref(), &def).await;
        } else {
            links::delete(&*ctx.provider, &mut table, &ctx.provider_id, &def).await;
        }
    }
}

/// Health checks: the request's body is not looked at; the provider's answer is sent as JSON.
async fn health_checks<P: Provider>(ctx: Ctx<P>, nats: async_nats::Client, mut requests: async_nats::Subscriber) {
    loop {
        let message = tokio::select! {
            next = requests.next() => match next {
                Some(message) => message,
                None => return,
            },
            () = ctx.stopped() => return,
        };
        let Some(reply) = message.reply else {
            tracing::debug!(subject = %message.subject, "ignoring a health check without a reply subject");
            continue;
        };
        let answer: HealthCheckResponse = ctx.provider.health_request().await;
        let body = serde_json::to_vec(&answer).unwrap_or_default();
        if let Err(err) = nats.publish(reply, body.into()).await {
            tracing::warn!(error = %err, "cannot answer a health check");
        }
    }
}

/// The provider's merged config, whenever it changes.
async fn config_updates<P: Provider>(ctx: Ctx<P>, mut updates: async_nats::Subscriber) {
    loop {
        let message = tokio::select! {
            next = updates.next() => match next {
                Some(message) => message,
                None => return,
            },
            () = ctx.stopped() => return,
        };
        match serde_json::from_slice::<HashMap<String, String>>(&message.payload) {
            Ok(config) => {
                if let Err(err) = ctx.provider.on_config_update(config).await {
                    tracing::error!(error = %err, "config update refused");
                }
            }
            Err(err) => {
                tracing::warn!(subject = %message.subject, error = %err, "ignoring a config update that is not a map of strings");
            }
        }
    }
}

/// Shutdown requests: one from this provider's host is answered, then the provider's hook
/// runs and the handle's `shutdown_requested` resolves; one from another host is ignored.
async fn shutdown_requests<P: Provider>(
    ctx: Ctx<P>,
    nats: async_nats::Client,
    mut requests: async_nats::Subscriber,
    host_id: String,
) {
    loop {
        let message = tokio::select! {
            next = requests.next() => match next {
                Some(message) => message,
                None => return,
            },
            () = ctx.stopped() => return,
        };
        match serde_json::from_slice::<ShutdownRequest>(&message.payload) {
            Ok(request) if request.host_id == host_id => {
                tracing::info!(host_id, "shutdown requested by the host");
                if let Some(reply) = message.reply {
                    // The host waits only briefly for the answer: send it before the hook runs.
                    if let Err(err) = nats.publish(reply, SHUTTING_DOWN.into()).await {
                        tracing::warn!(error = %err, "cannot answer the shutdown request");
                    }
                    let _ = nats.flush().await;
                }
                ctx.shut_down().await;
                return;
            }
            Ok(request) => tracing::warn!(
                requested_by = request.host_id,
                host_id,
                "ignoring a shutdown request from another host"
            ),
            Err(err) => tracing::warn!(
                subject = %message.subject,
                error = %err,
                "ignoring a shutdown request that does not decode"
            ),
        }
    }
}

/// How often a provider checks that the process that started it still runs.
pub const PARENT_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Shuts the provider down once its parent process is gone: the kernel then hands the
/// provider to another parent (init or a subreaper), so the parent's pid changes.
#[cfg(unix)]
async fn orphaned<P: Provider>(ctx: Ctx<P>, parent: Option<rustix::process::Pid>) {
    let mut ticks = tokio::time::interval(PARENT_CHECK_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = ctx.stopped() => return,
        }
        if rustix::process::getppid() != parent {
            tracing::warn!("the host process that started this provider is gone; shutting down");
            ctx.shut_down().await;
            return;
        }
    }
}

#[cfg(not(unix))]
async fn orphaned<P: Provider>(ctx: Ctx<P>, (): ()) {
    drop(ctx);
}

/// SIGINT and SIGTERM shut the provider down as a host's request would.
async fn signalled<P: Provider>(ctx: Ctx<P>) {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::debug!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
        () = ctx.stopped() => return,
    }
    tracing::info!("signalled; shutting down");
    ctx.shut_down().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_keys_are_used_only_when_both_are_given() {
        let mut host_data = HostData::default();
        assert!(secret_keys(&host_data).unwrap().is_none());
        let provider = nkeys::XKey::new();
        host_data.provider_xkey_private_key = provider.seed().unwrap();
        assert!(secret_keys(&host_data).unwrap().is_none());
        host_data.host_xkey_public_key = nkeys::XKey::new().public_key();
        let keys = secret_keys(&host_data).unwrap().unwrap();
        assert_eq!(keys.provider.public_key(), provider.public_key());
        host_data.host_xkey_public_key = "not a key".into();
        let err = secret_keys(&host_data).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid host_xkey_public_key in the host data; restart the provider from its host"
        );
    }
}
