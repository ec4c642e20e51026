//! A provider process: spawned with a cleared environment (only `RUST_LOG` and `OTEL_*` pass
//! through) and its host data on stdin, its output logged under its id, its health checked
//! on an interval, restarted with backoff (and fresh host data) when it exits unexpectedly,
//! and, when stopped, asked to shut down before it is killed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt as _;
use lattice_control_interface::events::data::HealthCheck;
use lattice_control_interface::provider::{HealthCheckResponse, InterfaceLinkDefinition, ShutdownRequest, subject};
use lattice_control_interface::{ConfigName, LatticeEvent, ProviderId};
use tokio::io::{AsyncRead, AsyncWriteExt as _};
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::codec::{FramedRead, LinesCodec};

use super::links::{self, LinkKey};
use crate::host::HostCtx;

/// The first wait before restarting a provider that exited; doubled on each exit in a row.
const MIN_BACKOFF: Duration = Duration::from_millis(250);
/// The longest wait before a restart.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A provider that ran this long before exiting is restarted after [`MIN_BACKOFF`] again.
const STABLE_RUN: Duration = Duration::from_secs(60);
/// How long a provider may take to exit after it answered (or ignored) a shutdown request.
const EXIT_GRACE: Duration = Duration::from_secs(3);
/// How long a health check waits for its answer.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest line of provider output logged as one line.
const MAX_OUTPUT_LINE: usize = 16 * 1024;

/// One provider process and what the host keeps about it.
#[derive(Debug)]
pub(crate) struct ProviderProcess {
    id: ProviderId,
    executable: PathBuf,
    config: Vec<ConfigName>,
    stop: watch::Sender<bool>,
    supervisor: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The running process's id; 0 between an exit and the restart.
    pid: AtomicU32,
    links: Mutex<KnownLinks>,
    reconcile: tokio::sync::Mutex<()>,
}

/// What the running process was told about its links.
#[derive(Debug, Default)]
struct KnownLinks {
    /// The subject its link puts go to: its curve public key for this start.
    put_key: String,
    told: BTreeMap<LinkKey, InterfaceLinkDefinition>,
    /// Set once a health check passes after a (re)start: links put while it was starting
    /// are sent again then.
    settled: bool,
}

impl ProviderProcess {
    /// Starts `executable` as provider `id` with the named `config`, and supervises it.
    ///
    /// # Errors
    ///
    /// When the executable cannot be started; the text says why.
    pub(crate) async fn start(
        ctx: &Arc<HostCtx>,
        id: ProviderId,
        executable: PathBuf,
        config: Vec<ConfigName>,
    ) -> Result<Arc<Self>, String> {
        let (stop, stop_rx) = watch::channel(false);
        let process = Arc::new(Self {
            id,
            executable,
            config,
            stop,
            supervisor: Mutex::new(None),
            pid: AtomicU32::new(0),
            links: Mutex::default(),
            reconcile: tokio::sync::Mutex::new(()),
        });
        let child = process.spawn(ctx).await?;
        let supervisor = tokio::spawn(supervise(Arc::clone(&process), Arc::clone(ctx), child, stop_rx));
        *process.supervisor.lock().unwrap_or_else(PoisonError::into_inner) = Some(supervisor);
        Ok(process)
    }

    /// Asks the provider to shut down, kills it if it does not, and waits until it is gone.
    pub(crate) async fn stop(&self) {
        self.stop.send_replace(true);
        let supervisor = self.supervisor.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(supervisor) = supervisor
            && let Err(e) = supervisor.await
        {
            tracing::warn!(provider_id = %self.id, error = %e, "provider supervisor ended abnormally");
        }
    }

    /// The running process's id, if it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Acquire)).filter(|&pid| pid != 0)
    }

    pub(super) fn reconcile_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.reconcile
    }

    /// Records `desired` as what the process knows of its links, and returns what it must be
    /// told: the links to put (new or changed), those to delete, and the subject key of puts.
    pub(super) fn link_changes(
        &self,
        desired: BTreeMap<LinkKey, InterfaceLinkDefinition>,
    ) -> (Vec<InterfaceLinkDefinition>, Vec<InterfaceLinkDefinition>, String) {
        let mut known = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let deletes = known
            .told
            .iter()
            .filter(|(key, _)| !desired.contains_key(*key))
            .map(|(_, link)| InterfaceLinkDefinition {
                source_config: Default::default(),
                target_config: Default::default(),
                ..link.clone()
            })
            .collect();
        let puts = desired
            .iter()
            .filter(|(key, link)| known.told.get(*key) != Some(*link))
            .map(|(_, link)| link.clone())
            .collect();
        known.told = desired;
        (puts, deletes, known.put_key.clone())
    }

    /// Whether a passing health check is the first since the process (re)started; marks it.
    fn settle(&self) -> bool {
        let mut known = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        !std::mem::replace(&mut known.settled, true)
    }

    /// Forgets what the process was told, so the next reconciliation tells it everything.
    fn forget_links(&self) {
        self.links.lock().unwrap_or_else(PoisonError::into_inner).told.clear();
    }

    /// Spawns the executable with fresh host data on its stdin.
    async fn spawn(&self, ctx: &HostCtx) -> Result<Child, String> {
        let xkey = nkeys::XKey::new();
        let seed = xkey
            .seed()
            .map_err(|e| format!("cannot create the provider's curve key: {e}"))?;
        let host_data = super::host_data::build(ctx, &self.id, &self.config, seed).await;
        let mut command = Command::new(&self.executable);
        command.env_clear();
        for (key, value) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name == "RUST_LOG" || name.starts_with("OTEL_") {
                command.env(&key, value);
            }
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = spawn_retrying(&mut command).map_err(|e| {
            format!(
                "cannot start provider `{}` from {}: {e}",
                self.id,
                self.executable.display()
            )
        })?;
        if let Some(mut stdin) = child.stdin.take() {
            let written = async {
                stdin.write_all(host_data.to_stdin_line().as_bytes()).await?;
                stdin.shutdown().await
            };
            // A provider that exits before reading is seen by the supervisor.
            if let Err(e) = written.await {
                tracing::warn!(provider_id = %self.id, error = %e, "cannot write the provider's host data");
            }
        }
        forward_output(&self.id, "stdout", child.stdout.take());
        forward_output(&self.id, "stderr", child.stderr.take());
        self.pid.store(child.id().unwrap_or(0), Ordering::Release);
        let mut known = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        known.put_key = xkey.public_key();
        known.told = host_data
            .link_definitions
            .into_iter()
            .map(|link| (links::key(&link), link))
            .collect();
        known.settled = false;
        drop(known);
        tracing::info!(provider_id = %self.id, pid = ?self.pid(), "provider process started");
        Ok(child)
    }
}

/// Spawns `command`, retrying briefly when the executable was just written (another thread
/// forking while it was open for writing makes exec fail with "text file busy").
fn spawn_retrying(command: &mut Command) -> std::io::Result<Child> {
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 5 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// Logs each line of a provider's output under its id.
fn forward_output(id: &ProviderId, stream: &'static str, output: Option<impl AsyncRead + Send + Unpin + 'static>) {
    let Some(output) = output else {
        return;
    };
    let id = id.clone();
    tokio::spawn(async move {
        let mut lines = FramedRead::new(output, LinesCodec::new_with_max_length(MAX_OUTPUT_LINE));
        while let Some(line) = lines.next().await {
            match line {
                Ok(line) => tracing::info!(provider_id = %id, stream, "{line}"),
                Err(e) => tracing::debug!(provider_id = %id, stream, error = %e, "provider output line skipped"),
            }
        }
    });
}

/// Watches the process until it is stopped: restarts it when it exits, runs its health
/// checks, and stops it gracefully when asked.
async fn supervise(process: Arc<ProviderProcess>, ctx: Arc<HostCtx>, child: Child, mut stop: watch::Receiver<bool>) {
    let health = tokio::spawn(check_health(Arc::clone(&process), Arc::clone(&ctx), stop.clone()));
    let mut child = child;
    let mut backoff = MIN_BACKOFF;
    loop {
        let started = Instant::now();
        tokio::select! {
            exit = child.wait() => {
                process.pid.store(0, Ordering::Release);
                if *stop.borrow() || ctx.shutdown.is_requested() {
                    break;
                }
                let status = exit.map_or_else(|e| e.to_string(), |s| s.to_string());
                if started.elapsed() >= STABLE_RUN {
                    backoff = MIN_BACKOFF;
                }
                tracing::warn!(provider_id = %process.id, %status, restart_in = ?backoff, "provider exited unexpectedly; restarting it");
                match restart(&process, &ctx, &mut stop, &mut backoff).await {
                    Some(next) => child = next,
                    None => break,
                }
            }
            _ = stop.changed() => {
                shut_down(&process, &ctx, child).await;
                break;
            }
        }
    }
    health.abort();
    process.pid.store(0, Ordering::Release);
}

/// Waits out the backoff and spawns the provider again, until it starts or is stopped.
async fn restart(
    process: &ProviderProcess,
    ctx: &HostCtx,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Duration,
) -> Option<Child> {
    loop {
        tokio::select! {
            () = tokio::time::sleep(*backoff) => {}
            _ = stop.changed() => return None,
        }
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
        match process.spawn(ctx).await {
            Ok(child) => return Some(child),
            Err(error) => {
                tracing::warn!(provider_id = %process.id, %error, retry_in = ?backoff, "cannot restart provider");
            }
        }
    }
}

/// Asks the provider to shut down (it may answer or not), waits for it to exit, and kills it
/// when it does not.
async fn shut_down(process: &ProviderProcess, ctx: &HostCtx, mut child: Child) {
    let request = ShutdownRequest {
        host_id: ctx.identity.host_id.to_string(),
    };
    let subject = subject::shutdown(&ctx.config.lattice, process.id.as_str());
    match serde_json::to_vec(&request) {
        Ok(body) => {
            let asked = tokio::time::timeout(
                ctx.config.provider_shutdown_delay.max(Duration::from_millis(100)),
                ctx.nats.request(subject, body.into()),
            )
            .await;
            if !matches!(asked, Ok(Ok(_))) {
                tracing::debug!(provider_id = %process.id, "provider did not answer the shutdown request");
            }
        }
        Err(e) => tracing::warn!(provider_id = %process.id, error = %e, "cannot encode a shutdown request"),
    }
    if tokio::time::timeout(EXIT_GRACE, child.wait()).await.is_err() {
        tracing::warn!(provider_id = %process.id, "provider did not exit after the shutdown request; killing it");
        if let Err(e) = child.kill().await {
            tracing::warn!(provider_id = %process.id, error = %e, "cannot kill provider");
        }
    }
    tracing::info!(provider_id = %process.id, "provider process stopped");
}

/// Checks the provider's health on the host's interval (the first time after at most 5 s),
/// announcing each result, and tells a provider that has just (re)started all of its links
/// once it first answers healthy (links put while it started could have missed it).
async fn check_health(process: Arc<ProviderProcess>, ctx: Arc<HostCtx>, mut stop: watch::Receiver<bool>) {
    let interval = ctx.config.provider_health_interval;
    let mut wait = interval.min(Duration::from_secs(5));
    let mut healthy = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        wait = interval;
        let answer = ask_health(&ctx, &process.id).await;
        let now_healthy = answer.as_ref().is_ok_and(|a| a.healthy);
        if let Err(why) = &answer {
            tracing::debug!(provider_id = %process.id, %why, "provider health check failed");
        }
        let check = HealthCheck {
            host_id: ctx.identity.host_id.clone(),
            provider_id: process.id.clone(),
        };
        let event = match (healthy, now_healthy) {
            (false, true) => LatticeEvent::HealthCheckPassed(check),
            (true, false) => LatticeEvent::HealthCheckFailed(check),
            _ => LatticeEvent::HealthCheckStatus(check),
        };
        ctx.events.publish(event).await;
        healthy = now_healthy;
        if now_healthy && process.settle() {
            process.forget_links();
            links::reconcile(&ctx, &process.id, &process).await;
        }
    }
}

/// One health request; a provider that does not answer in time, or answers with something
/// that is not a health response, is unhealthy.
async fn ask_health(ctx: &HostCtx, id: &ProviderId) -> Result<HealthCheckResponse, String> {
    let subject = subject::health(&ctx.config.lattice, id.as_str());
    let reply = tokio::time::timeout(HEALTH_TIMEOUT, ctx.nats.request(subject, bytes::Bytes::new()))
        .await
        .map_err(|_| "no answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&reply.payload).map_err(|e| format!("the answer is not a health response: {e}"))
}
