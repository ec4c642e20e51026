//! `wash dev`: the inner loop. Builds the project, serves it, and on every
//! save of a source file rebuilds and swaps the new build in. A failed build
//! leaves the last good one serving; requests in flight finish on the
//! instance they started on.
//!
//! Two ways to serve ([`DevMode`]): embedded in this process (the runtime,
//! the built-in HTTP ingress and the built-in key-value store; no NATS), or
//! on a lattice ([`lattice`]): a host in this process joins a NATS server (or
//! one `wash dev` starts), and the component, an HTTP server and the link
//! between them are deployed through the control interface, so other `wash`
//! commands and providers work alongside.
//!
//! One `wash dev` per project: a lock file in the build folder, held for the
//! whole run, turns a second one away with the URL of the first.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

mod lattice;

use lattice_host::ingress::{HttpIngress, IngressError, IngressSettings, RequestObserver, RouteKey, ServedRequest};
use lattice_runtime::{Component, Runtime};
use notify::Watcher as _;

use crate::build::config::{DevConfigEntry, ProjectConfig};
use crate::build::{BuildOptions, build};

/// The id the component is served under.
const COMPONENT_ID: &str = "dev";

/// The port tried first, then the next ones up to [`LAST_PORT`].
const FIRST_PORT: u16 = 8000;
const LAST_PORT: u16 = 8099;

/// Quiet time after the last file change before a rebuild starts.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// How long requests in flight may take to finish at exit.
const DRAIN: Duration = Duration::from_secs(5);

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct DevOptions {
    /// `wasmcloud.toml` or the folder holding it (default: the current directory).
    pub config_path: Option<PathBuf>,
    /// Where to serve HTTP; default `127.0.0.1:8000` or the next free port.
    pub address: Option<SocketAddr>,
    /// The signing keys' directory (default: wash's).
    pub keys_directory: Option<PathBuf>,
    /// Where the component runs.
    pub mode: DevMode,
}

/// Where `wash dev` runs the component.
#[derive(Debug, Clone, Default)]
pub enum DevMode {
    /// In this process, with the built-ins; no NATS.
    #[default]
    Embedded,
    /// On a lattice, through a host in this process.
    Lattice(DevLattice),
}

/// The lattice `wash dev` serves on.
#[derive(Debug, Clone)]
pub struct DevLattice {
    /// Its NATS server.
    pub nats: DevNats,
    /// The lattice name.
    pub lattice: String,
    /// Labels of the host wash dev runs.
    pub labels: BTreeMap<String, String>,
}

/// The NATS server of a [`DevLattice`].
#[derive(Debug, Clone)]
pub enum DevNats {
    /// Join the server at `host:port` (someone else's: left running at exit).
    Join {
        /// Its host.
        host: String,
        /// Its port.
        port: u16,
    },
    /// Start this `nats-server` on a free loopback port, and stop it at exit.
    Start {
        /// The binary.
        binary: PathBuf,
    },
}

/// Where a lattice-mode `wash dev` runs, for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatticeInfo {
    /// The lattice name.
    pub lattice: String,
    /// `host:port` of its NATS server.
    pub nats: String,
    /// Whether `wash dev` started that server (and stops it at exit).
    pub nats_started: bool,
    /// The host wash dev runs in this process.
    pub host_id: String,
    /// The id the component runs under.
    pub component_id: String,
}

/// What happened, for the status lines (or JSON lines) the caller prints.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DevEvent {
    /// A build started; `reason` says why.
    Building {
        /// `start` or the first changed path.
        reason: String,
    },
    /// A line of toolchain progress.
    Progress(String),
    /// A build finished and was loaded.
    Built {
        /// `wash build`: the toolchain and signing.
        build: Duration,
        /// Loading it into the runtime (compile, or the compile cache).
        load: Duration,
    },
    /// A build failed; the last good build keeps serving.
    BuildFailed {
        /// The error, with the compiler's output.
        error: String,
    },
    /// Serving started.
    Serving {
        /// Where.
        url: String,
        /// The component's imports and what serves each.
        links: Vec<(String, String)>,
        /// The lattice, when not embedded.
        lattice: Option<LatticeInfo>,
    },
    /// A request was answered.
    Request {
        /// Its method.
        method: String,
        /// Its path.
        path: String,
        /// The response's status.
        status: u16,
        /// From the request head to the response head.
        elapsed: Duration,
    },
    /// A new build replaced the running one.
    Reloaded {
        /// From the change to the swap.
        elapsed: Duration,
    },
}

/// Errors that end `wash dev`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevError {
    /// The project could not be read.
    #[error(transparent)]
    Config(#[from] crate::build::config::ConfigError),
    /// Another `wash dev` serves this project.
    #[error("wash dev is already running for {dir} (pid {pid}{url}): use it, or stop it with Ctrl-C first")]
    AlreadyRunning {
        /// The project folder.
        dir: PathBuf,
        /// The other process.
        pid: String,
        /// `, serving URL` when known.
        url: String,
    },
    /// The first build failed: there is nothing to serve.
    #[error("the first build failed, so there is nothing to serve yet; fix it and run wash dev again:\n{0}")]
    FirstBuild(String),
    /// The runtime, the ingress, NATS or the host could not start.
    #[error("{0}")]
    Start(String),
    /// `[dev]` asks for what only a lattice has, and wash dev runs embedded.
    #[error(
        "[dev] in {file} asks for {what}, which needs a lattice: install nats-server (`apt-get install -y nats-server`) or pass --nats HOST:PORT, without --embedded"
    )]
    NeedsLattice {
        /// The `wasmcloud.toml`.
        file: PathBuf,
        /// What it asks for.
        what: String,
    },
    /// The lattice refused a deployment step.
    #[error(transparent)]
    Lattice(#[from] crate::lattice::LatticeError),
    /// No free port.
    #[error("no free port from 127.0.0.1:{FIRST_PORT} to 127.0.0.1:{LAST_PORT}: free one or pass --address")]
    NoFreePort,
    /// The file watcher failed.
    #[error("cannot watch {dir} for changes: {message}")]
    Watch {
        /// The project folder.
        dir: PathBuf,
        /// What the watcher said.
        message: String,
    },
    /// The lock file could not be used.
    #[error("cannot use the lock file {path}: {source}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs the inner loop until `stop` resolves.
///
/// # Errors
///
/// See [`DevError`]: a project that does not load, another `wash dev` on the
/// same project, a first build that fails, no port to serve on.
pub async fn run(
    options: &DevOptions,
    events: &(dyn Fn(DevEvent) + Send + Sync),
    stop: impl Future<Output = ()>,
) -> Result<(), DevError> {
    let config_path = options.config_path.clone().unwrap_or_else(|| PathBuf::from("."));
    let config = ProjectConfig::load(&config_path)?;
    let lock = DevLock::acquire(&config.build_dir)?;
    let result = match &options.mode {
        DevMode::Embedded => run_embedded(options, &config, &lock, events, stop).await,
        DevMode::Lattice(lattice) => lattice::run(options, &config, lattice, &lock, events, stop).await,
    };
    drop(lock);
    result
}

/// Serves from the runtime and ingress in this process.
async fn run_embedded(
    options: &DevOptions,
    config: &ProjectConfig,
    lock: &DevLock,
    events: &(dyn Fn(DevEvent) + Send + Sync),
    stop: impl Future<Output = ()>,
) -> Result<(), DevError> {
    let values = embedded_config(config)?;
    let runtime = Runtime::builder()
        .build()
        .map_err(|e| DevError::Start(format!("cannot start the runtime: {e}")))?;
    events(DevEvent::Building { reason: "start".into() });
    let (component, imports) = build_and_load(options, &runtime, events)
        .await
        .map_err(DevError::FirstBuild)?;
    component.set_config(values.iter().cloned());
    let links = served_imports(&imports, false);
    let current = Arc::new(RwLock::new(component));
    let lookup = {
        let current = Arc::clone(&current);
        move |id: &str| (id == COMPONENT_ID).then(|| read(&current).clone())
    };
    let (mut requests, observer) = Requests::new();
    let ingress = HttpIngress::observed(IngressSettings::default(), lookup, Some(observer))
        .map_err(|e| DevError::Start(format!("cannot start the HTTP ingress: {e}")))?;
    let address = serve(&ingress, options.address)?;
    let url = format!("http://{address}/");
    // Watching starts before "serving" is said: a save right after it counts.
    let mut watch = Watch::start(config)?;
    lock.record(&url);
    events(DevEvent::Serving {
        url,
        links,
        lattice: None,
    });

    tokio::pin!(stop);
    while let Some((reason, changed_at)) = requests.during(watch.next(&mut stop), events).await {
        events(DevEvent::Building { reason });
        match requests.during(build_and_load(options, &runtime, events), events).await {
            Ok((component, _)) => {
                component.set_config(values.iter().cloned());
                *current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = component;
                events(DevEvent::Reloaded {
                    elapsed: changed_at.elapsed(),
                });
            }
            Err(error) => events(DevEvent::BuildFailed { error }),
        }
        watch.settle();
    }
    drop(watch);
    ingress.shutdown(DRAIN).await;
    Ok(())
}

/// How many answered requests may wait to be reported; past that they are
/// not reported (the terminal is not worth slowing the server for).
const REQUEST_BACKLOG: usize = 1024;

/// The requests the ingress answered, reported as [`DevEvent::Request`]
/// whatever else `wash dev` is waiting for.
struct Requests {
    answered: tokio::sync::mpsc::Receiver<DevEvent>,
}

/// The ingress's side of [`Requests`].
struct RequestLines {
    answered: tokio::sync::mpsc::Sender<DevEvent>,
}

impl RequestObserver for RequestLines {
    fn served(&self, request: &ServedRequest<'_>) {
        let _ = self.answered.try_send(DevEvent::Request {
            method: request.method.to_string(),
            path: request.path.to_owned(),
            status: request.status.as_u16(),
            elapsed: request.elapsed,
        });
    }
}

impl Requests {
    /// The receiving end, and the observer to give the ingress.
    fn new() -> (Self, Arc<dyn RequestObserver>) {
        let (answered, receiver) = tokio::sync::mpsc::channel(REQUEST_BACKLOG);
        (Self { answered: receiver }, Arc::new(RequestLines { answered }))
    }

    /// Awaits `work`, reporting answered requests meanwhile.
    async fn during<F: Future>(&mut self, work: F, events: &(dyn Fn(DevEvent) + Send + Sync)) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return done,
                Some(request) = self.answered.recv() => events(request),
            }
        }
    }
}

/// The component's config from `[dev] config`, for the embedded mode: inline
/// values only, since named configs and provider links live on a lattice.
fn embedded_config(config: &ProjectConfig) -> Result<Vec<BTreeMap<String, String>>, DevError> {
    let needs_lattice = |what: String| DevError::NeedsLattice {
        file: config.file.clone(),
        what,
    };
    if let Some(import) = config.dev.imports.first() {
        return Err(needs_lattice(format!(
            "`{}:{}` served by the provider {}",
            import.namespace, import.package, import.image_ref
        )));
    }
    config
        .dev
        .config
        .iter()
        .map(|entry| match entry {
            DevConfigEntry::Values(values) => Ok(values.clone()),
            DevConfigEntry::Named(name) => Err(needs_lattice(format!("the named config `{name}`"))),
        })
        .collect()
}

/// The project's sources, watched: changes arrive debounced, with the first
/// changed path as the reason.
struct Watch {
    _watcher: notify::RecommendedWatcher,
    changes: tokio::sync::mpsc::UnboundedReceiver<PathBuf>,
    project_dir: PathBuf,
}

impl Watch {
    fn start(config: &ProjectConfig) -> Result<Self, DevError> {
        let (tx, changes) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
        let ignored = Ignored::new(config);
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            for path in event.paths {
                if !ignored.contains(&path) {
                    let _ = tx.send(path);
                }
            }
        })
        .map_err(|e| watch_error(&config.project_dir, &e))?;
        watcher
            .watch(&config.project_dir, notify::RecursiveMode::Recursive)
            .map_err(|e| watch_error(&config.project_dir, &e))?;
        Ok(Self {
            _watcher: watcher,
            changes,
            project_dir: config.project_dir.clone(),
        })
    }

    /// The next change (what changed first, and when), once the editor has
    /// been quiet for [`DEBOUNCE`]; `None` when `stop` resolves first.
    async fn next(&mut self, stop: &mut (impl Future<Output = ()> + Unpin)) -> Option<(String, Instant)> {
        let first = tokio::select! {
            () = stop => return None,
            changed = self.changes.recv() => changed?,
        };
        let changed_at = Instant::now();
        // Editors write a file in several steps: wait for a quiet moment.
        while let Ok(Some(_)) = tokio::time::timeout(DEBOUNCE, self.changes.recv()).await {}
        let reason = first
            .strip_prefix(&self.project_dir)
            .unwrap_or(&first)
            .display()
            .to_string();
        Some((reason, changed_at))
    }

    /// Forgets what changed during a build: what the build itself wrote is not
    /// a change to rebuild for.
    fn settle(&mut self) {
        while self.changes.try_recv().is_ok() {}
    }
}

fn read(current: &RwLock<Component>) -> std::sync::RwLockReadGuard<'_, Component> {
    current.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn watch_error(dir: &Path, error: &notify::Error) -> DevError {
    DevError::Watch {
        dir: dir.to_path_buf(),
        message: error.to_string(),
    }
}

/// What one good build produced.
struct Build {
    /// The signed component.
    path: PathBuf,
    bytes: Vec<u8>,
    /// The interfaces it imports.
    imports: Vec<String>,
    /// How long `wash build` took.
    took: Duration,
}

/// Builds and signs the project on a blocking thread, passing the
/// toolchain's lines on as progress.
async fn build_project(options: &DevOptions, events: &(dyn Fn(DevEvent) + Send + Sync)) -> Result<Build, String> {
    let build_options = BuildOptions {
        config_path: options.config_path.clone(),
        keys_directory: options.keys_directory.clone(),
        disable_keygen: false,
        build_only: false,
        sign_only: false,
        stream_output: false,
    };
    let started = Instant::now();
    let (lines, mut progress) = tokio::sync::mpsc::unbounded_channel::<String>();
    let built = tokio::task::spawn_blocking(move || {
        build(&build_options, &mut |line| {
            let _ = lines.send(line.to_owned());
        })
    });
    while let Some(line) = progress.recv().await {
        events(DevEvent::Progress(line));
    }
    let report = built
        .await
        .map_err(|e| format!("the build stopped unexpectedly: {e}"))?
        .map_err(|e| e.to_string())?;
    let bytes = std::fs::read(&report.component_path)
        .map_err(|e| format!("cannot read {}: {e}", report.component_path.display()))?;
    let imports = crate::inspect::component_wit(&bytes)
        .map(|world| world.imports)
        .unwrap_or_default();
    Ok(Build {
        path: report.component_path,
        bytes,
        imports,
        took: started.elapsed(),
    })
}

/// Builds the project, then compiles it into `runtime`, reporting both
/// times; returns it with the interfaces it imports.
async fn build_and_load(
    options: &DevOptions,
    runtime: &Runtime,
    events: &(dyn Fn(DevEvent) + Send + Sync),
) -> Result<(Component, Vec<String>), String> {
    let Build {
        bytes, imports, took, ..
    } = build_project(options, events).await?;
    let loading = Instant::now();
    let runtime = runtime.clone();
    let component = tokio::task::spawn_blocking(move || runtime.load(COMPONENT_ID, &bytes))
        .await
        .map_err(|e| format!("loading the component stopped unexpectedly: {e}"))?
        .map_err(|e| format!("the build does not load: {e}"))?;
    events(DevEvent::Built {
        build: took,
        load: loading.elapsed(),
    });
    Ok((component, imports))
}

/// Binds the route: the asked address, or the first free port from 8000.
fn serve(ingress: &HttpIngress, address: Option<SocketAddr>) -> Result<SocketAddr, DevError> {
    let key = RouteKey::new(COMPONENT_ID, "default");
    let add = |addr: SocketAddr| ingress.add_route(key.clone(), [("address", addr.to_string())]);
    if let Some(address) = address {
        return add(address).map_err(|e| DevError::Start(format!("cannot serve HTTP on {address}: {e}")));
    }
    for port in FIRST_PORT..=LAST_PORT {
        match add(SocketAddr::from(([127, 0, 0, 1], port))) {
            Ok(bound) => return Ok(bound),
            Err(IngressError::Bind { .. } | IngressError::AddressInUse { .. }) => {}
            Err(e) => return Err(DevError::Start(e.to_string())),
        }
    }
    Err(DevError::NoFreePort)
}

/// The capabilities the component uses, and what serves each here:
/// incoming HTTP from the ingress, imports from the built-ins. WASI's
/// basics (clocks, random, I/O, stdio) are left out; an import nothing here
/// serves is listed as such, since its calls will fail.
fn served_imports(imports: &[String], on_lattice: bool) -> Vec<(String, String)> {
    let http = if on_lattice {
        "the built-in http-server provider, over a link"
    } else {
        "the HTTP ingress"
    };
    let mut served = vec![("wasi:http/incoming-handler".to_owned(), http.to_owned())];
    for import in imports {
        let by = if import.starts_with("wasi:keyvalue/") {
            if on_lattice {
                "the host's built-in key-value store (a JetStream bucket of the lattice)"
            } else {
                "the built-in key-value store (in memory)"
            }
        } else if import.starts_with("wasi:config/") {
            "the built-in config store"
        } else if import.starts_with("wasi:http/outgoing-handler") {
            "the built-in HTTP client"
        } else if import.starts_with("wasi:logging/") {
            "wash dev's log"
        } else if [
            "wasi:clocks/",
            "wasi:random/",
            "wasi:io/",
            "wasi:cli/",
            "wasi:http/types",
            "wasi:filesystem/",
            "wasi:sockets/",
        ]
        .iter()
        .any(|basic| import.starts_with(basic))
        {
            continue;
        } else {
            "nothing (no link in wash dev): its calls fail"
        };
        served.push((import.clone(), by.to_owned()));
    }
    served
}

/// Paths whose changes are ours, not the user's: the build output, cargo's
/// target folder, version control, the lock file.
#[derive(Debug)]
struct Ignored {
    dirs: Vec<PathBuf>,
}

impl Ignored {
    fn new(config: &ProjectConfig) -> Self {
        let dir = &config.project_dir;
        let mut dirs = vec![config.build_dir.clone(), dir.join("target"), dir.join(".git")];
        dirs.extend(dirs.clone().iter().filter_map(|d| d.canonicalize().ok()));
        Self { dirs }
    }

    fn contains(&self, path: &Path) -> bool {
        self.dirs.iter().any(|dir| path.starts_with(dir))
    }
}

/// The lock that keeps one `wash dev` per project: an exclusive `flock` on
/// `<build>/.wash-dev.lock`, which also holds the pid and URL for the next
/// one to name. The kernel drops the lock when the process ends, however it
/// ends.
#[derive(Debug)]
struct DevLock {
    file: File,
}

impl DevLock {
    fn acquire(build_dir: &Path) -> Result<Self, DevError> {
        let path = build_dir.join(".wash-dev.lock");
        let lock_error = |source| DevError::Lock {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(build_dir).map_err(lock_error)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(lock_error)?;
        if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let mut lines = text.lines();
            let pid = lines.next().unwrap_or("unknown").to_owned();
            let url = lines.next().map(|u| format!(", serving {u}")).unwrap_or_default();
            return Err(DevError::AlreadyRunning {
                dir: build_dir.parent().unwrap_or(build_dir).to_path_buf(),
                pid,
                url,
            });
        }
        let lock = Self { file };
        lock.write(&std::process::id().to_string());
        Ok(lock)
    }

    /// Records the URL next to the pid.
    fn record(&self, url: &str) {
        self.write(&format!("{}\n{url}", std::process::id()));
    }

    fn write(&self, text: &str) {
        let mut file = &self.file;
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = writeln!(file, "{text}");
    }
}
