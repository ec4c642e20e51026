//! A fresh lattice per scenario: `nats-server`, `wasmcloud` hosts and
//! provider processes, deployed through the control interface as `wash`
//! would, then held up until standard input closes.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use lattice_control_interface::{
    Client, ComponentId, ConfigName, ConfigValues, EventStream, EventType, HostId, LatticeEvent, Link, ProviderId,
    ScaleComponentCommand, StartProviderCommand,
};
use tokio::time::Instant;

use crate::probe;
use crate::{Scenario, record};

const LATTICE: &str = "bench";

/// How long any one step (a host starting, a provider starting, the first
/// answer) may take.
const STEP: Duration = Duration::from_secs(120);

/// Instances a component may run at once, the same in every scenario.
const MAX_INSTANCES: u32 = 1000;

/// How many exports of each signal the OTLP receiver keeps (it decodes them all).
const KEPT_EXPORTS: usize = 16;

/// The provider binaries the `kvcounter-providers` scenario runs.
#[derive(Debug)]
pub(crate) struct ProviderBinaries {
    pub(crate) http_server: Option<PathBuf>,
    pub(crate) keyvalue_redis: Option<PathBuf>,
}

/// Runs `scenario` until standard input closes; everything started is
/// stopped on the way out.
pub(crate) async fn run(scenario: Scenario, host_bin: &Path, providers: &ProviderBinaries) -> Result<()> {
    let nats_server = lattice_test_support::nats::NatsServer::start();
    let nats = async_nats::connect(nats_server.url())
        .await
        .with_context(|| format!("connecting to {}", nats_server.url()))?;
    // With observability on, every host exports its metrics each second, and its spans in
    // batches, to a receiver that decodes it all and keeps only the latest exports (a long
    // run traces tens of thousands of requests a second).
    let observed = matches!(
        scenario,
        Scenario::HelloObservability | Scenario::HelloObservabilitySampled
    );
    let receiver = observed.then(|| lattice_test_support::otlp::Receiver::start_keeping_latest(KEPT_EXPORTS));
    let host_env: Vec<(&str, &str)> = if scenario == Scenario::HelloObservabilitySampled {
        vec![
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.01"),
        ]
    } else {
        Vec::new()
    };
    let host_flags = match &receiver {
        Some(receiver) => vec![
            "--enable-metrics".into(),
            "--enable-traces".into(),
            "--override-observability-endpoint".into(),
            receiver.endpoint().into(),
        ],
        None => Vec::new(),
    };
    let lattice = Lattice {
        client: Client::builder(nats).lattice(LATTICE).timeout(STEP).build(),
        host_bin: host_bin.to_path_buf(),
        nats_port: nats_server.port(),
        cache: tempfile::Builder::new()
            .prefix("lattice-bench-cache-")
            .tempdir()
            .context("creating a compile cache directory")?,
        host_flags,
        host_env,
    };
    let address = free_address()?;
    let url = format!("http://{address}/");
    match scenario {
        Scenario::Hello | Scenario::HelloObservability | Scenario::HelloObservabilitySampled => {
            let host = hello(&lattice, address, &url).await?;
            serve(&url, host.child.id()).await
        }
        Scenario::KvcounterBuiltin => {
            let host = lattice.host("fresh").await?;
            lattice.listen(address).await?;
            lattice.link_http("http-server", "kvcounter").await?;
            lattice
                .start_provider(&host, "http-server", "wasmcloud+builtin://http-server")
                .await?;
            lattice
                .scale(
                    &host,
                    "kvcounter",
                    lattice_test_support::guests::HTTP_KVCOUNTER,
                    MAX_INSTANCES,
                )
                .await?;
            probe::wait_status(&url, 200, STEP).await?;
            serve(&url, host.child.id()).await
        }
        Scenario::OciStart => {
            let host = start_by_reference(&lattice, address, &url).await?;
            serve(&url, host.child.id()).await
        }
        Scenario::KvcounterProviders => {
            let (Some(http_server), Some(keyvalue_redis)) = (&providers.http_server, &providers.keyvalue_redis) else {
                bail!("scenario kvcounter-providers needs --http-server-provider and --keyvalue-redis-provider");
            };
            let redis = lattice_test_support::redis::RedisServer::start();
            let host = lattice.host("fresh").await?;
            lattice.listen(address).await?;
            let redis_url = ConfigValues::from([("URL".to_owned(), redis.url())]);
            lattice.client.put_config(&ConfigName::new("redis"), &redis_url).await?;
            lattice.link_http("http", "kvcounter").await?;
            lattice
                .client
                .put_link(&Link {
                    source_id: ComponentId::new("kvcounter"),
                    target: ComponentId::new("kv-redis"),
                    wit_namespace: "wasi".into(),
                    wit_package: "keyvalue".into(),
                    interfaces: vec!["store".into(), "atomics".into(), "batch".into()],
                    target_config: vec![ConfigName::new("redis")],
                    ..Link::default()
                })
                .await?;
            lattice
                .scale(
                    &host,
                    "kvcounter",
                    lattice_test_support::guests::HTTP_KVCOUNTER,
                    MAX_INSTANCES,
                )
                .await?;
            lattice
                .start_provider(&host, "kv-redis", &file_ref(keyvalue_redis)?)
                .await?;
            lattice.start_provider(&host, "http", &file_ref(http_server)?).await?;
            probe::wait_status(&url, 200, STEP).await?;
            serve(&url, host.child.id()).await
        }
    }
}

/// The hello guest: a host with a cold compile cache, scaled up, down and
/// up again, then a second host with that cache warm, as a restarted host
/// would find it. The second one serves the load.
async fn hello(lattice: &Lattice, address: SocketAddr, url: &str) -> Result<HostProcess> {
    let wasm = lattice_test_support::guests::HELLO_HTTP;
    let cold = lattice.host("cold").await?;
    // Stored in the lattice: the second host finds them.
    lattice.listen(address).await?;
    lattice.link_http("http-server", "hello").await?;
    deploy_hello(lattice, &cold, "cold", url).await?;
    lattice.scale(&cold, "hello", wasm, 0).await?;
    probe::wait_status(url, 503, STEP).await?;
    let scaled = Instant::now();
    lattice.scale(&cold, "hello", wasm, MAX_INSTANCES).await?;
    probe::wait_status(url, 200, STEP).await?;
    record(&[
        "first-200",
        "scale → first 200 again in the same host",
        &millis(scaled.elapsed()),
    ]);
    // The process goes; its compile cache stays for the next one.
    drop(cold);
    let warm = lattice.host("warm").await?;
    deploy_hello(lattice, &warm, "warm", url).await?;
    Ok(warm)
}

/// Starting hello by reference, each time on a fresh host process and timed from the scale
/// request to the first 200: from a `file://` reference (cold, then warm compile cache) and
/// from a local OCI registry (`docker-registry`) — cold (pull + compile), warm by tag (the
/// manifest is asked for, the layer is cached, the compile cache is warm) and warm by digest
/// (nothing asked of the registry). The last host serves.
async fn start_by_reference(lattice: &Lattice, address: SocketAddr, url: &str) -> Result<HostProcess> {
    let registry = lattice_test_support::registry::Registry::start();
    let oci = lattice_oci::Oci::new(lattice_oci::Options {
        allowed_insecure: vec![registry.addr()],
        docker_config: false,
        ..lattice_oci::Options::default()
    })?;
    let wasm = lattice_test_support::guests::HELLO_HTTP;
    let tag = format!("{}/hello:0.1.0", registry.addr());
    let pushed = oci
        .push(
            &tag,
            std::fs::read(wasm).context("reading the hello guest")?,
            Default::default(),
        )
        .await?;
    let digest = format!("{}/hello@{}", registry.addr(), pushed.digest);
    let dir = tempfile::Builder::new().prefix("lattice-bench-oci-").tempdir()?;
    let file_compile = dir.path().join("compile-file");
    let oci_compile = dir.path().join("compile-oci");
    let oci_cache = dir.path().join("oci");
    let file = format!("file://{wasm}");
    let runs: [(&str, &str, &Path); 5] = [
        ("file://, cold compile cache", &file, &file_compile),
        ("file://, warm compile cache", &file, &file_compile),
        ("OCI tag, cold (pull + compile)", &tag, &oci_compile),
        ("OCI tag, warm (cached layer + compile cache)", &tag, &oci_compile),
        ("OCI digest, warm (no registry request)", &digest, &oci_compile),
    ];
    let mut last: Option<HostProcess> = None;
    for (run, (label, reference, compile_cache)) in runs.into_iter().enumerate() {
        drop(last.take());
        let extra = [
            "--allowed-insecure".into(),
            registry.addr().into(),
            "--oci-cache-dir".into(),
            oci_cache.clone().into_os_string(),
        ];
        let host = lattice.host_in("fresh", compile_cache, &extra).await?;
        if run == 0 {
            // Stored in the lattice once a host serves it: every later host finds them.
            lattice.listen(address).await?;
            lattice.link_http("http-server", "hello").await?;
        }
        lattice
            .start_provider(&host, "http-server", "wasmcloud+builtin://http-server")
            .await?;
        let scaled = Instant::now();
        lattice.scale_ref(&host, "hello", reference, MAX_INSTANCES).await?;
        probe::wait_status(url, 200, STEP).await?;
        record(&["first-200", label, &millis(scaled.elapsed())]);
        last = Some(host);
    }
    last.context("no host ran")
}

/// Starts the built-in HTTP server and hello on `host`, timed to the first 200.
async fn deploy_hello(lattice: &Lattice, host: &HostProcess, cache: &str, url: &str) -> Result<()> {
    lattice
        .start_provider(host, "http-server", "wasmcloud+builtin://http-server")
        .await?;
    let scaled = Instant::now();
    lattice
        .scale(host, "hello", lattice_test_support::guests::HELLO_HTTP, MAX_INSTANCES)
        .await?;
    probe::wait_status(url, 200, STEP).await?;
    let label = format!("scale → first 200, {cache} compile cache");
    record(&["first-200", &label, &millis(scaled.elapsed())]);
    let rss = rss_kib(host.child.id()).to_string();
    record(&["idle-rss-kib", &format!("{cache} compile cache"), &rss]);
    Ok(())
}

/// Prints `serving` with the host's pid (its provider processes are its
/// children), then waits for standard input to close.
async fn serve(url: &str, host_pid: u32) -> Result<()> {
    record(&["serving", url, &host_pid.to_string()]);
    tokio::task::spawn_blocking(|| {
        let mut sink = [0_u8; 64];
        let mut stdin = std::io::stdin().lock();
        while stdin.read(&mut sink)? > 0 {}
        std::io::Result::Ok(())
    })
    .await??;
    Ok(())
}

struct Lattice {
    client: Client,
    host_bin: PathBuf,
    nats_port: u16,
    cache: tempfile::TempDir,
    /// Flags every host of the scenario gets.
    host_flags: Vec<std::ffi::OsString>,
    /// Extra environment of every host.
    host_env: Vec<(&'static str, &'static str)>,
}

impl Lattice {
    /// Starts a host and times it to its `host_started` event.
    async fn host(&self, cache: &str) -> Result<HostProcess> {
        self.host_in(cache, self.cache.path(), &[]).await
    }

    /// A host with its compile cache in `compile_cache` and `extra` flags.
    async fn host_in(&self, cache: &str, compile_cache: &Path, extra: &[std::ffi::OsString]) -> Result<HostProcess> {
        let mut events = self.client.events(Some(&[EventType::HostStarted])).await?;
        let started = Instant::now();
        let child = Command::new(&self.host_bin)
            .args(["--nats-host", "127.0.0.1", "--nats-port", &self.nats_port.to_string()])
            .args(["--lattice", LATTICE])
            .args(["--allow-file-load", "--log-level", "warn", "--compile-cache-dir"])
            .arg(compile_cache)
            .args(&self.host_flags)
            .args(extra)
            .env("RUST_LOG", "warn")
            .env("OTEL_METRIC_EXPORT_INTERVAL", "1000")
            .envs(self.host_env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", self.host_bin.display()))?;
        let mut host = HostProcess {
            child,
            id: HostId::new(""),
        };
        let event = next_event(&mut events, "host_started", |e| {
            matches!(e, LatticeEvent::HostStarted(_))
        })
        .await?;
        record(&["ready", &format!("{cache} compile cache"), &millis(started.elapsed())]);
        host.id = event;
        Ok(host)
    }

    /// The address the HTTP server (built-in or provider) listens on.
    async fn listen(&self, address: SocketAddr) -> Result<()> {
        let listen = ConfigValues::from([("address".to_owned(), address.to_string())]);
        self.client.put_config(&ConfigName::new("listen"), &listen).await?;
        Ok(())
    }

    async fn link_http(&self, server: &str, component: &str) -> Result<()> {
        self.client
            .put_link(&Link {
                source_id: ComponentId::new(server),
                target: ComponentId::new(component),
                wit_namespace: "wasi".into(),
                wit_package: "http".into(),
                interfaces: vec!["incoming-handler".into()],
                source_config: vec![ConfigName::new("listen")],
                ..Link::default()
            })
            .await?;
        Ok(())
    }

    /// Starts a provider and waits for `provider_started`.
    async fn start_provider(&self, host: &HostProcess, id: &str, reference: &str) -> Result<()> {
        let mut events = self
            .client
            .events(Some(&[EventType::ProviderStarted, EventType::ProviderStartFailed]))
            .await?;
        self.client
            .start_provider(&StartProviderCommand {
                provider_id: ProviderId::new(id),
                provider_ref: reference.to_owned(),
                host_id: host.id.clone(),
                ..StartProviderCommand::default()
            })
            .await?;
        let pick = |event: &LatticeEvent| match event {
            LatticeEvent::ProviderStarted(p) => p.provider_id == id,
            LatticeEvent::ProviderStartFailed(p) => p.provider_id == id,
            _ => false,
        };
        let deadline = Instant::now() + STEP;
        loop {
            let event = tokio::time::timeout_at(deadline, events.next())
                .await
                .with_context(|| format!("provider `{id}` did not start within {STEP:?}"))?
                .context("the event stream ended")??;
            if !pick(&event.event) {
                continue;
            }
            if let LatticeEvent::ProviderStartFailed(failed) = event.event {
                bail!("provider `{id}` failed to start: {}", failed.error);
            }
            return Ok(());
        }
    }

    async fn scale(&self, host: &HostProcess, id: &str, wasm: &str, count: u32) -> Result<()> {
        self.scale_ref(host, id, &format!("file://{wasm}"), count).await
    }

    async fn scale_ref(&self, host: &HostProcess, id: &str, reference: &str, count: u32) -> Result<()> {
        self.client
            .scale_component(&ScaleComponentCommand {
                component_ref: reference.to_owned(),
                component_id: ComponentId::new(id),
                max_instances: count,
                host_id: host.id.clone(),
                ..ScaleComponentCommand::default()
            })
            .await?;
        Ok(())
    }
}

/// A host process, killed and reaped on drop.
struct HostProcess {
    child: Child,
    id: HostId,
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for the first event `pick` accepts and returns the host that sent it.
async fn next_event(events: &mut EventStream, what: &str, pick: impl Fn(&LatticeEvent) -> bool) -> Result<HostId> {
    let deadline = Instant::now() + STEP;
    loop {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .with_context(|| format!("no {what} event within {STEP:?}"))?
            .context("the event stream ended")??;
        if pick(&event.event) {
            return Ok(event.source);
        }
    }
}

fn file_ref(path: &Path) -> Result<String> {
    let path = path
        .canonicalize()
        .with_context(|| format!("provider binary {} not found", path.display()))?;
    Ok(format!("file://{}", path.display()))
}

fn free_address() -> Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn millis(elapsed: Duration) -> String {
    format!("{:.3}", elapsed.as_secs_f64() * 1000.0)
}

/// Resident memory of `pid` in KiB (0 when unknown).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
