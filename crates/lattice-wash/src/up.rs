//! `wash up` / `wash down`: starting a local `nats-server` and `wasmcloud`
//! host, recording them in the wash state directory, and stopping them again.
//!
//! Processes are spawned in their own process group, so a Ctrl-C in the
//! terminal reaches `wash` alone, which then stops what it started in order
//! (host first, through the control interface, then NATS). The state
//! directory holds `nats.pid`, `wasmcloud.pid`, `up.json` (host ID, lattice,
//! NATS address) and the logs; `wash down` reads them. A process is only ever
//! signalled after checking that its pid still runs the binary we started,
//! so a stale pid file cannot hit an unrelated process.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lattice_control_interface::HostId;
use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};

use crate::lattice::{ConnectionOptions, Lattice, LatticeError, LatticeErrorKind};

/// Overrides the state directory (`~/.wash` otherwise).
pub const DATA_DIR_ENV: &str = "WASH_DATA_DIR";
/// The NATS server binary `wash up` starts.
pub const NATS_BINARY: &str = "nats-server";
/// The host binary `wash up` starts.
pub const HOST_BINARY: &str = "wasmcloud";
/// How to install `nats-server` on Debian and Ubuntu.
pub const NATS_INSTALL: &str = "apt-get install -y nats-server";

/// How long a process we asked to stop may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// How long a fresh `nats-server` may take to accept clients.
const NATS_READY: Duration = Duration::from_secs(20);
/// Pause between readiness probes.
const POLL: Duration = Duration::from_millis(100);

/// What kind of failure an [`UpError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UpErrorKind {
    /// `nats-server` is needed but not on `PATH`.
    NatsMissing,
    /// No `wasmcloud` binary was found.
    HostMissing,
    /// A previous `wash up` still runs.
    AlreadyRunning,
    /// Nothing listens where `--nats-connect-only` said NATS would be.
    NatsUnreachable,
    /// A process could not be started, or exited or stalled while starting.
    Start,
    /// Reading or writing the state directory failed.
    Io,
    /// Talking to the lattice failed.
    Lattice,
}

/// A failed `wash up` or `wash down`.
#[derive(Debug)]
pub struct UpError {
    kind: UpErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl std::fmt::Display for UpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source = self.source.as_deref()?;
        // A lattice error's text is already our message: continue with its cause.
        match source.downcast_ref::<LatticeError>() {
            Some(lattice) => lattice.source(),
            None => Some(source),
        }
    }
}

impl UpError {
    fn new(kind: UpErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    fn io(what: String, error: std::io::Error) -> Self {
        Self {
            source: Some(Box::new(error)),
            ..Self::new(UpErrorKind::Io, what)
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> UpErrorKind {
        self.kind
    }
}

impl From<LatticeError> for UpError {
    fn from(error: LatticeError) -> Self {
        Self {
            message: error.to_string(),
            source: Some(Box::new(error)),
            ..Self::new(UpErrorKind::Lattice, String::new())
        }
    }
}

/// The wash state directory and the files `wash up` keeps in it.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// A state directory at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// `WASH_DATA_DIR`, or `$HOME/.wash`.
    pub fn from_env() -> Self {
        let root = std::env::var_os(DATA_DIR_ENV).map(PathBuf::from).unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".wash")
        });
        Self::new(root)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Pid file of the `nats-server` wash started.
    pub fn nats_pid(&self) -> PathBuf {
        self.root.join("nats.pid")
    }

    /// Pid file of the host wash started.
    pub fn host_pid(&self) -> PathBuf {
        self.root.join("wasmcloud.pid")
    }

    /// Log of the `nats-server` wash started.
    pub fn nats_log(&self) -> PathBuf {
        self.root.join("nats.log")
    }

    /// Log of a detached host.
    pub fn host_log(&self) -> PathBuf {
        self.root.join("wasmcloud.log")
    }

    /// Where the host ID, lattice and NATS address of the last `wash up` are kept.
    pub fn state_file(&self) -> PathBuf {
        self.root.join("up.json")
    }

    /// JetStream storage of the `nats-server` wash starts.
    pub fn jetstream_dir(&self) -> PathBuf {
        self.root.join("jetstream")
    }

    /// The recorded state, if a `wash up` left one.
    ///
    /// # Errors
    ///
    /// When the file exists but cannot be read or parsed.
    pub fn read_state(&self) -> Result<Option<UpState>, UpError> {
        let path = self.state_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                UpError::new(
                    UpErrorKind::Io,
                    format!(
                        "{} is not valid: {e}; delete it and run `wash down` again",
                        path.display()
                    ),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(UpError::io(format!("reading {}", path.display()), e)),
        }
    }

    fn write(&self, path: &Path, contents: &[u8]) -> Result<(), UpError> {
        std::fs::create_dir_all(&self.root).map_err(|e| UpError::io(format!("creating {}", self.root.display()), e))?;
        std::fs::write(path, contents).map_err(|e| UpError::io(format!("writing {}", path.display()), e))
    }

    fn remove(path: &Path) {
        // Already gone is fine; anything else leaves a stale file `wash down` copes with.
        let _ = std::fs::remove_file(path);
    }
}

/// What `wash up` records about what it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpState {
    /// The host's ID (the public key of the seed wash gave it).
    pub host_id: HostId,
    /// Its lattice.
    pub lattice: String,
    /// NATS host the host connects to.
    pub nats_host: String,
    /// NATS port the host connects to.
    pub nats_port: u16,
    /// Pid of the host.
    pub host_pid: Option<u32>,
    /// Pid of the `nats-server` wash started, if it started one.
    pub nats_pid: Option<u32>,
}

/// Everything `wash up` needs to know.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Where NATS listens (or should listen).
    pub nats_host: String,
    /// Its port.
    pub nats_port: u16,
    /// Never start a `nats-server`; fail if none is reachable.
    pub nats_connect_only: bool,
    /// The host's lattice.
    pub lattice: String,
    /// Extra host labels.
    pub labels: BTreeMap<String, String>,
    /// An explicit host binary.
    pub host_path: Option<PathBuf>,
    /// Host logs go to `wasmcloud.log` instead of the terminal.
    pub detached: bool,
    /// How long the host may take to answer its first control request.
    pub ready_timeout: Duration,
    /// Where pid files, logs and JetStream data go.
    pub state: StateDir,
    /// How wash and the host authenticate to NATS and whether they use TLS:
    /// the host gets them through its environment (`WASMCLOUD_NATS_JWT`,
    /// `WASMCLOUD_NATS_SEED`, `WASMCLOUD_NATS_CREDS`,
    /// `WASMCLOUD_TLS_CA_PATH`, `WASMCLOUD_NATS_TLS_FIRST`).
    pub nats_auth: NatsAuth,
    /// Telemetry settings handed to the host through its environment
    /// (`WASMCLOUD_OBSERVABILITY_ENABLED`, `WASMCLOUD_METRICS_ENABLED`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `WASMCLOUD_OBSERVABILITY_PROTOCOL`).
    pub observability: Observability,
}

/// What `wash up` passes on to the host about exporting telemetry; unset fields leave the
/// host's own defaults (and whatever the environment already says).
#[derive(Debug, Clone, Default)]
pub struct Observability {
    /// Every signal the host exports.
    pub enable_observability: bool,
    /// Metrics.
    pub enable_metrics: bool,
    /// Traces (the host passes the setting on to the providers it starts).
    pub enable_traces: bool,
    /// Log lines, the guests' among them.
    pub enable_logs: bool,
    /// The base OTLP endpoint.
    pub endpoint: Option<String>,
    /// `http` or `grpc`.
    pub protocol: Option<String>,
}

impl Observability {
    fn apply_to(&self, command: &mut Command) {
        if self.enable_observability {
            command.env("WASMCLOUD_OBSERVABILITY_ENABLED", "true");
        }
        if self.enable_metrics {
            command.env("WASMCLOUD_METRICS_ENABLED", "true");
        }
        if self.enable_traces {
            command.env("WASMCLOUD_TRACES_ENABLED", "true");
        }
        if self.enable_logs {
            command.env("WASMCLOUD_LOGS_ENABLED", "true");
        }
        if let Some(endpoint) = &self.endpoint {
            command.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
        }
        if let Some(protocol) = &self.protocol {
            command.env("WASMCLOUD_OBSERVABILITY_PROTOCOL", protocol);
        }
    }
}

/// NATS credentials and TLS settings `wash up` uses and hands to the host.
#[derive(Clone, Default)]
pub struct NatsAuth {
    /// A user JWT (needs `seed`).
    pub jwt: Option<String>,
    /// A user nkey seed.
    pub seed: Option<String>,
    /// A NATS `.creds` file.
    pub creds_file: Option<PathBuf>,
    /// Extra root certificates to trust (PEM).
    pub tls_ca_file: Option<PathBuf>,
    /// TLS before the server's greeting.
    pub tls_first: bool,
}

impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed.
        f.debug_struct("NatsAuth")
            .field("jwt", &self.jwt.as_ref().map(|_| "…"))
            .field("seed", &self.seed.as_ref().map(|_| "<redacted>"))
            .field("creds_file", &self.creds_file)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_first", &self.tls_first)
            .finish()
    }
}

impl NatsAuth {
    /// Sets the host's environment variables for these settings.
    fn apply_to(&self, command: &mut Command) {
        let vars = [
            ("WASMCLOUD_NATS_JWT", self.jwt.clone().map(Into::into)),
            ("WASMCLOUD_NATS_SEED", self.seed.clone().map(Into::into)),
            (
                "WASMCLOUD_NATS_CREDS",
                self.creds_file.clone().map(PathBuf::into_os_string),
            ),
            (
                "WASMCLOUD_TLS_CA_PATH",
                self.tls_ca_file.clone().map(PathBuf::into_os_string),
            ),
            ("WASMCLOUD_NATS_TLS_FIRST", self.tls_first.then(|| "true".into())),
        ];
        for (name, value) in vars {
            match value {
                Some(value) => command.env(name, value),
                // What wash was not given, the host must not pick up from
                // wash's own environment either.
                None => command.env_remove(name),
            };
        }
    }
}

/// What `wash up` started and still holds.
#[derive(Debug)]
pub struct Launched {
    /// The recorded state.
    pub state: UpState,
    /// The host process.
    pub host: Child,
    /// The `nats-server` process, if wash started one.
    pub nats: Option<Child>,
    /// A client on the host's lattice.
    pub lattice: Lattice,
}

/// Looks `name` up on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The host binary: `explicit` if given, else `wasmcloud` beside the running
/// `wash`, else on `PATH`.
///
/// # Errors
///
/// [`UpErrorKind::HostMissing`] naming the places looked at and how to build one.
pub fn find_host_binary(explicit: Option<&Path>) -> Result<PathBuf, UpError> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(UpError::new(
                UpErrorKind::HostMissing,
                format!(
                    "the host binary {} does not exist: fix --host-path / WASMCLOUD_HOST_PATH",
                    path.display()
                ),
            ))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(HOST_BINARY)));
    if let Some(path) = beside.as_ref().filter(|p| p.is_file()) {
        return Ok(path.clone());
    }
    find_on_path(HOST_BINARY).ok_or_else(|| {
        UpError::new(
            UpErrorKind::HostMissing,
            format!(
                "no `{HOST_BINARY}` host binary beside wash or on PATH: build it with \
                 `cargo build -p lattice-host --bin wasmcloud`, or pass --host-path"
            ),
        )
    })
}

/// Whether a NATS server greets clients at `host:port`.
pub fn nats_reachable(host: &str, port: u16) -> bool {
    let Ok(mut addrs) = (host, port).to_socket_addrs() else {
        return false;
    };
    let Some(addr) = addrs.next() else {
        return false;
    };
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    if stream.set_read_timeout(Some(Duration::from_secs(2))).is_err() {
        return false;
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("INFO ")
}

/// Starts NATS if needed and a host, and waits until the host answers.
/// On failure, whatever was started is stopped again.
///
/// # Errors
///
/// [`UpErrorKind::NatsMissing`] (naming the install command),
/// [`UpErrorKind::HostMissing`], [`UpErrorKind::AlreadyRunning`],
/// [`UpErrorKind::Start`] with the tail of the failing process's log, or I/O.
pub async fn launch(opts: &UpOptions) -> Result<Launched, UpError> {
    refuse_if_running(&opts.state)?;
    let need_nats = !nats_reachable(&opts.nats_host, opts.nats_port);
    let address = format!("{}:{}", opts.nats_host, opts.nats_port);
    let nats_binary = match (need_nats, opts.nats_connect_only) {
        (false, _) => None,
        (true, true) => {
            return Err(UpError::new(
                UpErrorKind::NatsUnreachable,
                format!("no NATS server answers at {address}: start one, or drop --nats-connect-only"),
            ));
        }
        (true, false) => Some(find_on_path(NATS_BINARY).ok_or_else(|| {
            UpError::new(
                UpErrorKind::NatsMissing,
                format!(
                    "`{NATS_BINARY}` not found on PATH and no NATS server answers at {address}: \
                     install it with `{NATS_INSTALL}`, or point --nats-port at a running server"
                ),
            )
        })?),
    };
    let host_binary = find_host_binary(opts.host_path.as_deref())?;

    let mut nats = match nats_binary {
        Some(binary) => Some(start_nats(&binary, opts).await?),
        None => None,
    };
    let launched = start_host(&host_binary, opts, nats.as_ref().and_then(Child::id)).await;
    match launched {
        Ok((state, host, lattice)) => Ok(Launched {
            state,
            host,
            nats,
            lattice,
        }),
        Err(e) => {
            if let Some(nats) = nats.as_mut() {
                stop_child(nats).await;
            }
            StateDir::remove(&opts.state.nats_pid());
            Err(e)
        }
    }
}

fn refuse_if_running(state: &StateDir) -> Result<(), UpError> {
    for (pid_file, binary) in [(state.host_pid(), HOST_BINARY), (state.nats_pid(), NATS_BINARY)] {
        if let Some(pid) = read_pid(&pid_file)
            && runs(pid, binary)
        {
            return Err(UpError::new(
                UpErrorKind::AlreadyRunning,
                format!(
                    "a `{binary}` started by wash up still runs (pid {pid}, {}): stop it with `wash down`",
                    pid_file.display()
                ),
            ));
        }
    }
    Ok(())
}

async fn start_nats(binary: &Path, opts: &UpOptions) -> Result<Child, UpError> {
    let state = &opts.state;
    std::fs::create_dir_all(state.root())
        .map_err(|e| UpError::io(format!("creating {}", state.root().display()), e))?;
    let child = spawn_nats(
        binary,
        (&opts.nats_host, opts.nats_port),
        &state.jetstream_dir(),
        &state.nats_log(),
    )
    .await?;
    if let Some(pid) = child.id() {
        state.write(&state.nats_pid(), format!("{pid}\n").as_bytes())?;
    }
    Ok(child)
}

/// Starts `nats-server` with JetStream on `host:port`, storing under `store`
/// and logging to `log`, in its own process group, and waits until it greets
/// clients. A server that exits or is not ready in time is stopped, and the
/// error quotes the end of its log.
pub(crate) async fn spawn_nats(
    binary: &Path,
    (host, port): (&str, u16),
    store: &Path,
    log_path: &Path,
) -> Result<Child, UpError> {
    let log = log_file(log_path)?;
    let mut command = Command::new(binary);
    command
        .arg("-js")
        .args(["-a", host, "-p", &port.to_string()])
        .arg("-sd")
        .arg(store)
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .map_err(|e| UpError::io("opening the nats log".into(), e))?,
        )
        .stderr(log)
        .process_group(0);
    let mut child = command
        .spawn()
        .map_err(|e| UpError::new(UpErrorKind::Start, format!("could not start {}: {e}", binary.display())))?;
    let deadline = tokio::time::Instant::now() + NATS_READY;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(start_failed("nats-server", &format!("exited ({status})"), log_path));
        }
        let probe_host = host.to_owned();
        if tokio::task::spawn_blocking(move || nats_reachable(&probe_host, port))
            .await
            .unwrap_or(false)
        {
            return Ok(child);
        }
        if tokio::time::Instant::now() >= deadline {
            stop_child(&mut child).await;
            return Err(start_failed(
                "nats-server",
                &format!("is not ready after {NATS_READY:?}"),
                log_path,
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn start_host(
    binary: &Path,
    opts: &UpOptions,
    nats_pid: Option<u32>,
) -> Result<(UpState, Child, Lattice), UpError> {
    let state = &opts.state;
    let key = nkeys::KeyPair::new_server();
    let seed = key
        .seed()
        .map_err(|e| UpError::new(UpErrorKind::Start, format!("could not generate a host key: {e}")))?;
    let host_id = HostId::new(key.public_key());
    let port = opts.nats_port.to_string();
    let mut command = Command::new(binary);
    command
        .env("WASMCLOUD_HOST_SEED", seed)
        .env("WASMCLOUD_LATTICE", &opts.lattice)
        .env("WASMCLOUD_ALLOW_FILE_LOAD", "true")
        .stdin(Stdio::null())
        .process_group(0);
    for prefix in ["WASMCLOUD_NATS", "WASMCLOUD_CTL", "WASMCLOUD_RPC"] {
        command
            .env(format!("{prefix}_HOST"), &opts.nats_host)
            .env(format!("{prefix}_PORT"), &port);
    }
    if std::env::var_os("WASMCLOUD_LOG_LEVEL").is_none() {
        command.env("WASMCLOUD_LOG_LEVEL", "info");
    }
    for (key, value) in &opts.labels {
        command.env(format!("WASMCLOUD_LABEL_{key}"), value);
    }
    opts.nats_auth.apply_to(&mut command);
    opts.observability.apply_to(&mut command);
    let log_path = state.host_log();
    if opts.detached {
        std::fs::create_dir_all(state.root())
            .map_err(|e| UpError::io(format!("creating {}", state.root().display()), e))?;
        let log = log_file(&log_path)?;
        command
            .stdout(
                log.try_clone()
                    .map_err(|e| UpError::io("opening the host log".into(), e))?,
            )
            .stderr(log);
    }
    let mut child = command
        .spawn()
        .map_err(|e| UpError::new(UpErrorKind::Start, format!("could not start {}: {e}", binary.display())))?;
    let record = UpState {
        host_id: host_id.clone(),
        lattice: opts.lattice.clone(),
        nats_host: opts.nats_host.clone(),
        nats_port: opts.nats_port,
        host_pid: child.id(),
        nats_pid,
    };
    let written = write_state(state, &record);
    let ready = match written {
        Ok(()) => wait_until_ready(opts, &host_id, &mut child).await,
        Err(e) => Err(e),
    };
    match ready {
        Ok(lattice) => Ok((record, child, lattice)),
        Err(e) => {
            stop_child(&mut child).await;
            StateDir::remove(&state.host_pid());
            StateDir::remove(&state.state_file());
            Err(e)
        }
    }
}

fn write_state(state: &StateDir, record: &UpState) -> Result<(), UpError> {
    if let Some(pid) = record.host_pid {
        state.write(&state.host_pid(), format!("{pid}\n").as_bytes())?;
    }
    let json = serde_json::to_vec_pretty(record).unwrap_or_default();
    state.write(&state.state_file(), &json)
}

async fn wait_until_ready(opts: &UpOptions, host_id: &HostId, child: &mut Child) -> Result<Lattice, UpError> {
    let auth = &opts.nats_auth;
    let connection = ConnectionOptions {
        host: opts.nats_host.clone(),
        port: opts.nats_port,
        lattice: opts.lattice.clone(),
        jwt: auth.jwt.clone(),
        seed: auth.seed.clone(),
        credsfile: auth.creds_file.clone(),
        tls_ca_file: auth.tls_ca_file.clone(),
        tls_first: auth.tls_first,
        ..ConnectionOptions::default()
    };
    let lattice = Lattice::connect(&connection).await?;
    let deadline = tokio::time::Instant::now() + opts.ready_timeout;
    let log_hint = if opts.detached {
        opts.state.host_log()
    } else {
        PathBuf::new()
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(start_failed(
                "the host",
                &format!("exited ({status}) before answering"),
                &log_hint,
            ));
        }
        match lattice.inventory(host_id).await {
            Ok(_) => return Ok(lattice),
            Err(e) if matches!(e.kind(), LatticeErrorKind::HostNotFound | LatticeErrorKind::Ctl) => {}
            Err(e) => return Err(e.into()),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(start_failed(
                "the host",
                &format!(
                    "did not answer on lattice `{}` within {:?}",
                    opts.lattice, opts.ready_timeout
                ),
                &log_hint,
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn log_file(path: &Path) -> Result<std::fs::File, UpError> {
    std::fs::File::create(path).map_err(|e| UpError::io(format!("creating {}", path.display()), e))
}

/// An error for a process that failed to start, with the end of its log.
fn start_failed(what: &str, how: &str, log: &Path) -> UpError {
    let tail = std::fs::read_to_string(log)
        .map(|text| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        })
        .unwrap_or_default();
    let mut message = format!("{what} {how}");
    if log.as_os_str().is_empty() {
        message.push_str(": see its output above");
    } else if tail.is_empty() {
        message.push_str(&format!(": its log {} is empty", log.display()));
    } else {
        message.push_str(&format!(": see {}; its last lines:\n{tail}", log.display()));
    }
    UpError::new(UpErrorKind::Start, message)
}

/// Stops the processes of a foreground `wash up`: the host through the
/// control interface (killed if it lingers), then NATS if wash started it.
/// Returns what was stopped, for the report.
pub async fn shutdown(launched: &mut Launched, state: &StateDir) -> Vec<String> {
    let mut stopped = Vec::new();
    if launched.host.try_wait().ok().flatten().is_none() {
        let asked = launched
            .lattice
            .client()
            .stop_host(&launched.state.host_id, Some(STOP_GRACE))
            .await
            .is_ok();
        let exited = asked && tokio::time::timeout(STOP_GRACE, launched.host.wait()).await.is_ok();
        if !exited {
            stop_child(&mut launched.host).await;
        }
    }
    stopped.push(format!("host {}", launched.state.host_id));
    if let Some(nats) = launched.nats.as_mut() {
        stop_child(nats).await;
        stopped.push(NATS_BINARY.to_owned());
    }
    for path in [state.host_pid(), state.nats_pid(), state.state_file()] {
        StateDir::remove(&path);
    }
    stopped
}

/// Stops a child we hold: SIGTERM, then SIGKILL after the grace period.
pub(crate) async fn stop_child(child: &mut Child) {
    if let Some(pid) = child.id() {
        signal(pid, "TERM");
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

/// What `wash down` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DownReport {
    /// The host it stopped, if one ran.
    pub host_id: Option<HostId>,
    /// Whether the host had to be killed rather than stopping on request.
    pub host_killed: bool,
    /// Pid of the `nats-server` it stopped, if one ran.
    pub nats_pid: Option<u32>,
}

/// Stops what a detached (or abandoned) `wash up` started, from its state files.
///
/// # Errors
///
/// Only when the state files cannot be read; processes that are already
/// gone are simply cleaned up after.
pub async fn down(state: &StateDir) -> Result<DownReport, UpError> {
    let record = state.read_state()?;
    let mut report = DownReport::default();
    if let Some(pid) = read_pid(&state.host_pid()).filter(|pid| runs(*pid, HOST_BINARY)) {
        let mut asked = false;
        if let Some(record) = &record {
            let connection = ConnectionOptions {
                host: record.nats_host.clone(),
                port: record.nats_port,
                lattice: record.lattice.clone(),
                ..ConnectionOptions::default()
            };
            if let Ok(lattice) = Lattice::connect(&connection).await {
                asked = lattice
                    .client()
                    .stop_host(&record.host_id, Some(STOP_GRACE))
                    .await
                    .is_ok();
            }
            report.host_id = Some(record.host_id.clone());
        }
        if !asked {
            signal(pid, "TERM");
        }
        if !wait_gone(pid, HOST_BINARY, STOP_GRACE).await {
            signal(pid, "KILL");
            report.host_killed = true;
            wait_gone(pid, HOST_BINARY, STOP_GRACE).await;
        }
    }
    if let Some(pid) = read_pid(&state.nats_pid()).filter(|pid| runs(*pid, NATS_BINARY)) {
        signal(pid, "TERM");
        if !wait_gone(pid, NATS_BINARY, STOP_GRACE).await {
            signal(pid, "KILL");
            wait_gone(pid, NATS_BINARY, STOP_GRACE).await;
        }
        report.nats_pid = Some(pid);
    }
    for path in [state.host_pid(), state.nats_pid(), state.state_file()] {
        StateDir::remove(&path);
    }
    Ok(report)
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` is alive and (where `/proc` tells) runs `binary`, so that
/// a reused pid is never mistaken for a process wash started.
fn runs(pid: u32, binary: &str) -> bool {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if Path::new("/proc/self").exists() {
        let Ok(stat) = std::fs::read_to_string(proc_dir.join("stat")) else {
            return false;
        };
        // The state follows the parenthesised command name; `Z` is a zombie.
        let zombie = stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z'));
        let cmdline = std::fs::read(proc_dir.join("cmdline")).unwrap_or_default();
        let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let name = Path::new(std::str::from_utf8(program).unwrap_or_default())
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        !zombie && name == binary
    } else {
        std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

/// Sends a signal by name with the system `kill`, which keeps this crate free of unsafe code.
fn signal(pid: u32, name: &str) {
    let _ = std::process::Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

async fn wait_gone(pid: u32, binary: &str, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while runs(pid, binary) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_live_in_the_state_dir() {
        let state = StateDir::new("/tmp/wash-state");
        assert_eq!(state.host_pid(), Path::new("/tmp/wash-state/wasmcloud.pid"));
        assert_eq!(state.nats_pid(), Path::new("/tmp/wash-state/nats.pid"));
        assert_eq!(state.state_file(), Path::new("/tmp/wash-state/up.json"));
    }

    #[test]
    fn a_missing_host_binary_names_the_build_command() {
        let err = find_host_binary(Some(Path::new("/no/such/wasmcloud"))).unwrap_err();
        assert_eq!(err.kind(), UpErrorKind::HostMissing);
        assert!(err.to_string().contains("--host-path"), "{err}");
    }

    #[test]
    fn the_current_process_is_alive_and_named() {
        let me = std::process::id();
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_str().unwrap();
        assert!(runs(me, name));
        assert!(!runs(me, "surely-not-this-binary"));
    }

    #[test]
    fn read_state_tolerates_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(StateDir::new(dir.path()).read_state().unwrap(), None);
    }
}
