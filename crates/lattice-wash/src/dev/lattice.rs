//! `wash dev` on a lattice: a host in this process joins a NATS server (one
//! `wash dev` started, or one it was pointed at), and the build is deployed
//! as any operator would deploy it — a `file://` component, a built-in
//! http-server provider, a config with its address and the link between
//! them, all through the control interface. A rebuild is a
//! `component.update` to the same reference: the host reloads it because its
//! bytes changed. At exit everything `wash dev` put on the lattice is taken
//! off again, and a NATS server it started is stopped; nothing else is
//! touched.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use lattice_control_interface::{ComponentId, ConfigName, ConfigValues, Link, LinkName, ProviderId};
use lattice_host::{Host, HostConfig};

use super::{
    Build, DRAIN, DevError, DevEvent, DevLattice, DevLock, DevNats, DevOptions, FIRST_PORT, LAST_PORT, LatticeInfo,
    Requests, Watch, build_project, served_imports,
};
use crate::build::config::{DevConfigEntry, ImportOverride, ProjectConfig};
use crate::lattice::{ConnectionOptions, Lattice, ProviderStart, ScaleRequest};
use crate::up::{spawn_nats, stop_child};

/// How long one deployment step (a scale, an update, a provider start) may take.
const DEPLOY_WAIT: Duration = Duration::from_secs(120);

/// How many invocations of the component may run at once.
const MAX_INSTANCES: u32 = 100;

/// Runs the inner loop on a lattice until `stop` resolves.
pub(super) async fn run(
    options: &DevOptions,
    config: &ProjectConfig,
    lattice: &DevLattice,
    lock: &DevLock,
    events: &(dyn Fn(DevEvent) + Send + Sync),
    stop: impl Future<Output = ()>,
) -> Result<(), DevError> {
    let nats_dir = config.build_dir.join("dev-nats");
    let (nats_host, nats_port, mut nats) = match &lattice.nats {
        DevNats::Join { host, port } => (host.clone(), *port, None),
        DevNats::Start { binary } => {
            let port = free_port()?;
            std::fs::create_dir_all(&nats_dir)
                .map_err(|e| DevError::Start(format!("cannot create {}: {e}", nats_dir.display())))?;
            let child = spawn_nats(
                binary,
                ("127.0.0.1", port),
                &nats_dir.join("jetstream"),
                &nats_dir.join("nats.log"),
            )
            .await
            .map_err(|e| DevError::Start(e.to_string()))?;
            ("127.0.0.1".to_owned(), port, Some(child))
        }
    };
    let on = On {
        labels: lattice.labels.clone(),
        nats: format!("{nats_host}:{nats_port}"),
        nats_started: nats.is_some(),
        connection: ConnectionOptions {
            host: nats_host,
            port: nats_port,
            lattice: lattice.lattice.clone(),
            ..ConnectionOptions::default()
        },
    };
    let result = with_host(options, config, &on, lock, events, stop).await;
    if let Some(child) = nats.as_mut() {
        stop_child(child).await;
        let _ = std::fs::remove_dir_all(&nats_dir);
    }
    result
}

/// The NATS server and lattice, as `wash dev` reaches them.
struct On {
    labels: BTreeMap<String, String>,
    nats: String,
    nats_started: bool,
    connection: ConnectionOptions,
}

/// Starts the host, serves on it, and stops it again.
async fn with_host(
    options: &DevOptions,
    config: &ProjectConfig,
    on: &On,
    lock: &DevLock,
    events: &(dyn Fn(DevEvent) + Send + Sync),
    stop: impl Future<Output = ()>,
) -> Result<(), DevError> {
    let mut host_config = HostConfig::new(format!("nats://{}", on.nats));
    host_config.lattice.clone_from(&on.connection.lattice);
    host_config.labels.extend(on.labels.clone());
    // The build is a local file: this host, started for it, may load files.
    host_config.allow_file_load = true;
    let host = Host::start(host_config)
        .await
        .map_err(|e| DevError::Start(format!("cannot start a host on the NATS server at {}: {e}", on.nats)))?;
    let (requests, observer) = Requests::new();
    host.observe_http(observer);
    let result = serve(options, config, on, &host, requests, lock, events, stop).await;
    host.stop(Some(tokio::time::Instant::now() + DRAIN)).await;
    result
}

/// What `wash dev` put on the lattice, recorded as it goes, to take off
/// again at exit (also after a deployment that failed half way).
#[derive(Default)]
struct Deployed {
    component: Option<ComponentId>,
    providers: Vec<ProviderId>,
    configs: Vec<ConfigName>,
    links: Vec<Link>,
}

/// Deploys the first build with an HTTP server in front, then redeploys on every change.
#[expect(clippy::too_many_arguments, reason = "the whole run's context, each part named")]
async fn serve(
    options: &DevOptions,
    config: &ProjectConfig,
    on: &On,
    host: &Host,
    requests: Requests,
    lock: &DevLock,
    events: &(dyn Fn(DevEvent) + Send + Sync),
    stop: impl Future<Output = ()>,
) -> Result<(), DevError> {
    let ctl = Lattice::connect(&on.connection).await?;
    events(DevEvent::Building { reason: "start".into() });
    let first = build_project(options, events).await.map_err(DevError::FirstBuild)?;
    let reference = file_ref(&first)?;
    let id = ComponentId::new(component_id(config));
    let mut deployed = Deployed::default();
    let result = async {
        let loading = Instant::now();
        let component_config = put_configs(&ctl, &mut deployed, &format!("{id}-dev"), &config.dev.config).await?;
        let scale = ScaleRequest {
            component_ref: reference.clone(),
            component_id: id.clone(),
            host_id: Some(host.id().clone()),
            max_instances: MAX_INSTANCES,
            config: component_config,
            allow_update: true,
            wait: Some(DEPLOY_WAIT),
            ..ScaleRequest::default()
        };
        deployed.component = Some(id.clone());
        ctl.scale_component(&scale, "start")
            .await
            .map_err(|e| DevError::FirstBuild(e.to_string()))?;
        events(DevEvent::Built {
            build: first.took,
            load: loading.elapsed(),
        });
        let mut links = served_imports(&first.imports, true);
        for import in &config.dev.imports {
            let provider = link_import(&ctl, host, &mut deployed, &id, import).await?;
            let prefix = format!("{}:{}/", import.namespace, import.package);
            for (name, by) in &mut links {
                let served = name.strip_prefix(&prefix).is_some_and(|rest| {
                    import
                        .interfaces
                        .iter()
                        .any(|i| rest.split('@').next() == Some(i.as_str()))
                });
                if served {
                    *by = format!("provider `{provider}` ({}), over a link", import.image_ref);
                }
            }
        }
        let address = http_address(options.address)?;
        expose(&ctl, host, &mut deployed, &id, address).await?;
        let url = format!("http://{address}/");
        // Watching starts before "serving" is said: a save right after it counts.
        let watch = Watch::start(config)?;
        lock.record(&url);
        events(DevEvent::Serving {
            url,
            links,
            lattice: Some(LatticeInfo {
                lattice: ctl.name().to_owned(),
                nats: on.nats.clone(),
                nats_started: on.nats_started,
                host_id: host.id().to_string(),
                component_id: id.to_string(),
            }),
        });
        let running = Running {
            ctl: &ctl,
            host,
            id: &id,
            reference: &reference,
            hash: lattice_runtime::wasm_hash(&first.bytes),
        };
        redeploy_on_change(options, watch, requests, running, events, stop).await
    }
    .await;
    take_down(&ctl, host, &deployed).await;
    result
}

/// Puts the `values` entries of `entries` as configs named `{prefix}-{n}`;
/// returns every entry's name, in order.
async fn put_configs(
    ctl: &Lattice,
    deployed: &mut Deployed,
    prefix: &str,
    entries: &[DevConfigEntry],
) -> Result<Vec<ConfigName>, DevError> {
    let mut names = Vec::new();
    for (n, entry) in entries.iter().enumerate() {
        let name = match entry {
            DevConfigEntry::Named(name) => ConfigName::new(name.clone()),
            DevConfigEntry::Values(values) => {
                let name = ConfigName::new(format!("{prefix}-{n}"));
                let values: ConfigValues = values.clone().into_iter().collect();
                ctl.client()
                    .put_config(&name, &values)
                    .await
                    .map_err(|e| ctl.any_host_error(e))?;
                deployed.configs.push(name.clone());
                name
            }
        };
        names.push(name);
    }
    Ok(names)
}

/// Starts the provider of one `[[dev.overrides.imports]]` on `host` and
/// links the component to it; returns the provider's id.
async fn link_import(
    ctl: &Lattice,
    host: &Host,
    deployed: &mut Deployed,
    id: &ComponentId,
    import: &ImportOverride,
) -> Result<ProviderId, DevError> {
    let mut provider = format!("{id}-{}", import.package);
    let mut n = 1;
    while deployed.providers.iter().any(|p| p.as_str() == provider) {
        n += 1;
        provider = format!("{id}-{}-{n}", import.package);
    }
    let provider = ProviderId::new(provider);
    let provider_config = put_configs(ctl, deployed, &format!("{provider}-config"), &import.config).await?;
    let link_config = put_configs(ctl, deployed, &format!("{provider}-link"), &import.link_config).await?;
    let start = ProviderStart {
        provider_ref: import.image_ref.clone(),
        provider_id: provider.clone(),
        host_id: Some(host.id().clone()),
        config: provider_config,
        wait: Some(DEPLOY_WAIT),
        ..ProviderStart::default()
    };
    deployed.providers.push(provider.clone());
    ctl.start_provider(&start).await?;
    wait_answering(ctl, &provider).await?;
    let link = Link {
        source_id: id.clone(),
        target: ComponentId::new(provider.as_str()),
        name: import
            .link_name
            .as_deref()
            .map_or_else(LinkName::default, LinkName::new),
        wit_namespace: import.namespace.clone(),
        wit_package: import.package.clone(),
        interfaces: import.interfaces.clone(),
        target_config: link_config,
        ..Link::default()
    };
    deployed.links.push(link.clone());
    ctl.client().put_link(&link).await.map_err(|e| ctl.any_host_error(e))?;
    Ok(provider)
}

/// Waits until `provider` answers a health check. The host's `provider_started` event says
/// only that the process was spawned; the answer says it is connected and its subscriptions
/// are on the NATS server, so a request right after "serving" finds it (a slow start used
/// to give that request a 500 saying nothing answers for the provider).
async fn wait_answering(ctl: &Lattice, provider: &ProviderId) -> Result<(), DevError> {
    let subject = lattice_control_interface::provider::subject::health(ctl.name(), provider.as_str());
    let nats = ctl.client().nats();
    let deadline = Instant::now() + DEPLOY_WAIT;
    loop {
        // Without a subscriber the server answers "no responders" at once.
        let asked = tokio::time::timeout(HEALTH_ASK, nats.request(subject.clone(), bytes::Bytes::new())).await;
        if matches!(asked, Ok(Ok(_))) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(DevError::Start(format!(
                "provider `{provider}` did not answer its health check within {DEPLOY_WAIT:?}: see its log lines above"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How long one health check of a starting provider may wait for its answer.
const HEALTH_ASK: Duration = Duration::from_secs(2);

/// The component as deployed: where, under which reference, and the hash of
/// the bytes the host runs.
struct Running<'a> {
    ctl: &'a Lattice,
    host: &'a Host,
    id: &'a ComponentId,
    reference: &'a str,
    hash: String,
}

/// Each good build after a change is a `component.update` to the same
/// reference, which the host reloads because the bytes changed.
async fn redeploy_on_change(
    options: &DevOptions,
    mut watch: Watch,
    mut requests: Requests,
    mut running: Running<'_>,
    events: &(dyn Fn(DevEvent) + Send + Sync),
    stop: impl Future<Output = ()>,
) -> Result<(), DevError> {
    tokio::pin!(stop);
    while let Some((reason, changed_at)) = requests.during(watch.next(&mut stop), events).await {
        events(DevEvent::Building { reason });
        match requests.during(build_project(options, events), events).await {
            Ok(build) => {
                let hash = lattice_runtime::wasm_hash(&build.bytes);
                let loading = Instant::now();
                let updated = if hash == running.hash {
                    // The host publishes nothing for bytes it already runs.
                    Ok(())
                } else {
                    let update = running.ctl.update_component(
                        running.id,
                        running.reference,
                        Some(running.host.id()),
                        Some(DEPLOY_WAIT),
                    );
                    requests.during(update, events).await.map(drop)
                };
                match updated {
                    Ok(()) => {
                        running.hash = hash;
                        events(DevEvent::Built {
                            build: build.took,
                            load: loading.elapsed(),
                        });
                        events(DevEvent::Reloaded {
                            elapsed: changed_at.elapsed(),
                        });
                    }
                    Err(error) => events(DevEvent::BuildFailed {
                        error: error.to_string(),
                    }),
                }
            }
            Err(error) => events(DevEvent::BuildFailed { error }),
        }
        watch.settle();
    }
    Ok(())
}

/// Starts the built-in http-server on `host` with `address`, linked to the
/// component, and waits until the address accepts connections.
async fn expose(
    ctl: &Lattice,
    host: &Host,
    deployed: &mut Deployed,
    id: &ComponentId,
    address: SocketAddr,
) -> Result<(), DevError> {
    let name = format!("{id}-http");
    let values = BTreeMap::from([("address".to_owned(), address.to_string())]);
    let config = put_configs(ctl, deployed, &name, &[DevConfigEntry::Values(values)]).await?;
    let provider = ProviderId::new(name.clone());
    let start = ProviderStart {
        provider_ref: "wasmcloud+builtin://http-server".into(),
        provider_id: provider.clone(),
        host_id: Some(host.id().clone()),
        wait: Some(DEPLOY_WAIT),
        ..ProviderStart::default()
    };
    deployed.providers.push(provider);
    ctl.start_provider(&start).await?;
    let link = Link {
        source_id: ComponentId::new(name),
        target: id.clone(),
        name: LinkName::default(),
        wit_namespace: "wasi".into(),
        wit_package: "http".into(),
        interfaces: vec!["incoming-handler".into()],
        source_config: config,
        ..Link::default()
    };
    deployed.links.push(link.clone());
    ctl.client().put_link(&link).await.map_err(|e| ctl.any_host_error(e))?;
    // The link reaches the provider through the lattice's bucket watch: serving
    // begins once the address accepts.
    let deadline = Instant::now() + DEPLOY_WAIT;
    while tokio::net::TcpStream::connect(address).await.is_err() {
        if Instant::now() >= deadline {
            return Err(DevError::Start(format!(
                "the http-server provider did not start serving on {address} within {DEPLOY_WAIT:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Takes what `wash dev` deployed off the lattice, newest first. Each step
/// is tried even when an earlier one failed: nothing is left behind.
async fn take_down(ctl: &Lattice, host: &Host, deployed: &Deployed) {
    let client = ctl.client();
    for link in deployed.links.iter().rev() {
        let _ = client
            .delete_link(&link.source_id, &link.name, &link.wit_namespace, &link.wit_package)
            .await;
    }
    for provider in deployed.providers.iter().rev() {
        let _ = ctl.stop_provider(provider, Some(host.id()), Some(DEPLOY_WAIT)).await;
    }
    if let Some(component) = &deployed.component {
        let _ = ctl.stop_component(component, Some(host.id()), Some(DEPLOY_WAIT)).await;
    }
    for config in &deployed.configs {
        let _ = client.delete_config(config).await;
    }
}

/// The component's id on the lattice: the project's name, as an id may spell it.
fn component_id(config: &ProjectConfig) -> String {
    let name = config.name.as_deref().unwrap_or("dev");
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if id.is_empty() { "dev".to_owned() } else { id }
}

/// The build's `file://` reference, absolute.
fn file_ref(build: &Build) -> Result<String, DevError> {
    let path = build
        .path
        .canonicalize()
        .map_err(|e| DevError::FirstBuild(format!("cannot resolve {}: {e}", build.path.display())))?;
    Ok(format!("file://{}", path.display()))
}

/// Where the http-server listens: the asked address (port 0: a free one), or
/// the first free port from 8000.
fn http_address(asked: Option<SocketAddr>) -> Result<SocketAddr, DevError> {
    match asked {
        Some(address) if address.port() == 0 => TcpListener::bind(address)
            .and_then(|listener| listener.local_addr())
            .map_err(|e| DevError::Start(format!("cannot find a free port on {}: {e}", address.ip()))),
        Some(address) => Ok(address),
        None => (FIRST_PORT..=LAST_PORT)
            .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
            .find(|address| TcpListener::bind(address).is_ok())
            .ok_or(DevError::NoFreePort),
    }
}

/// A free loopback port for a `nats-server` of wash dev's own.
fn free_port() -> Result<u16, DevError> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| DevError::Start(format!("cannot find a free loopback port for nats-server: {e}")))
}
