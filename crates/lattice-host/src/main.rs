//! The `wasmcloud` host binary: reads flags and environment variables
//! (wasmCloud v1's names and defaults), sets up logging, starts a
//! [`lattice_host::Host`] and stops it gracefully on SIGINT, SIGTERM or a
//! `host.stop` control request.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{ArgAction, Parser};
use lattice_control_interface::provider::OtelConfig;
use lattice_host::{
    DEFAULT_SHUTDOWN_TIMEOUT, Host, HostConfig, MIN_COMPILE_CACHE_BYTES, MIN_COMPONENT_SIZE, MIN_LINEAR_MEMORY,
    parse_label,
};
use lattice_telemetry::{KeyValue, Logs};
use tracing_subscriber::EnvFilter;

/// Environment variables `WASMCLOUD_LABEL_<key>=<value>` add host labels.
const LABEL_ENV_PREFIX: &str = "WASMCLOUD_LABEL_";

#[derive(Debug, Parser)]
#[command(name = "wasmcloud", version, about = "A wasmCloud-compatible WebAssembly host")]
struct Args {
    /// NATS server host
    #[arg(long, env = "WASMCLOUD_NATS_HOST", default_value = "127.0.0.1")]
    nats_host: String,
    /// NATS server port
    #[arg(long, env = "WASMCLOUD_NATS_PORT", default_value_t = 4222)]
    nats_port: u16,
    /// User JWT to authenticate to NATS with (needs --nats-seed to sign the server's nonce)
    #[arg(long, env = "WASMCLOUD_NATS_JWT", hide_env_values = true, requires = "nats_seed")]
    nats_jwt: Option<String>,
    /// User nkey seed (SU…): signs the nonce for --nats-jwt, or alone authenticates as an nkey
    /// user
    #[arg(long, env = "WASMCLOUD_NATS_SEED", hide_env_values = true)]
    nats_seed: Option<String>,
    /// NATS credentials file (a user JWT and its seed)
    #[arg(
        long,
        env = "WASMCLOUD_NATS_CREDS",
        value_name = "FILE",
        conflicts_with_all = ["nats_jwt", "nats_seed"]
    )]
    nats_creds: Option<PathBuf>,
    /// PEM file of extra root certificates to trust for NATS; turns TLS on
    #[arg(long, env = "WASMCLOUD_TLS_CA_PATH", value_name = "FILE")]
    tls_ca_path: Option<PathBuf>,
    /// PEM client certificate for NATS (mutual TLS, with --nats-tls-key); turns TLS on
    #[arg(
        long,
        env = "WASMCLOUD_NATS_TLS_CERT",
        value_name = "FILE",
        requires = "nats_tls_key"
    )]
    nats_tls_cert: Option<PathBuf>,
    /// PEM private key of --nats-tls-cert
    #[arg(
        long,
        env = "WASMCLOUD_NATS_TLS_KEY",
        value_name = "FILE",
        requires = "nats_tls_cert"
    )]
    nats_tls_key: Option<PathBuf>,
    /// Start TLS before the NATS server's greeting (servers with handshake_first)
    #[arg(long, env = "WASMCLOUD_NATS_TLS_FIRST")]
    nats_tls_first: bool,
    /// Lattice to join
    #[arg(short = 'x', long, env = "WASMCLOUD_LATTICE", default_value = "default")]
    lattice: String,
    /// Server nkey seed (SN…) of the host; a fresh key when absent
    #[arg(long, env = "WASMCLOUD_HOST_SEED", hide_env_values = true)]
    host_seed: Option<String>,
    /// Host label, repeatable: -l zone=eu (also WASMCLOUD_LABEL_<key>=<value>)
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// JetStream domain of the lattice buckets
    #[arg(long, env = "WASMCLOUD_JS_DOMAIN")]
    js_domain: Option<String>,
    /// Control topic prefix
    #[arg(long, env = "WASMCLOUD_CTL_TOPIC_PREFIX", default_value = "wasmbus.ctl", hide = true)]
    ctl_topic_prefix: String,
    /// Allow loading components from file:// references
    #[arg(long, env = "WASMCLOUD_ALLOW_FILE_LOAD")]
    allow_file_load: bool,
    /// Only load file:// references inside this directory (`..` and symbolic links resolved)
    #[arg(long, env = "WASMCLOUD_ALLOWED_FILE_ROOT", value_name = "DIR")]
    allowed_file_root: Option<PathBuf>,
    /// Refuse components that carry no signed claims
    #[arg(long, env = "WASMCLOUD_REQUIRE_SIGNED")]
    require_signed: bool,
    /// Run only components whose claims were issued by this account key (A…); repeatable.
    /// Unsigned components are then refused too
    #[arg(
        long = "allowed-issuer",
        env = "WASMCLOUD_ALLOWED_ISSUERS",
        value_name = "ACCOUNT_KEY",
        value_delimiter = ','
    )]
    allowed_issuers: Vec<String>,
    /// Ask the policy service on this NATS subject before starting any component or provider
    /// and before invoking a component; no answer, or a denial, refuses it
    #[arg(long, env = "WASMCLOUD_POLICY_TOPIC", value_name = "SUBJECT")]
    policy_topic: Option<String>,
    /// Apply the changed decisions the policy service publishes on this NATS subject
    #[arg(
        long,
        env = "WASMCLOUD_POLICY_CHANGES_TOPIC",
        value_name = "SUBJECT",
        requires = "policy_topic"
    )]
    policy_changes_topic: Option<String>,
    /// How long the policy service may take to answer
    #[arg(
        long,
        env = "WASMCLOUD_POLICY_TIMEOUT",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u64).range(1..=60_000)
    )]
    policy_timeout_ms: u64,
    /// Accept claims of wascap revision < 3: they carry no module hash, so any binary can carry
    /// them
    #[arg(long, env = "WASMCLOUD_ALLOW_LEGACY_CLAIMS")]
    allow_legacy_claims: bool,
    /// Log level (error, warn, info, debug, trace); RUST_LOG overrides it
    #[arg(
        long,
        alias = "structured-log-level",
        env = "WASMCLOUD_LOG_LEVEL",
        default_value = "info"
    )]
    log_level: String,
    /// Log JSON lines instead of text
    #[arg(long, env = "WASMCLOUD_STRUCTURED_LOGGING_ENABLED")]
    enable_structured_logging: bool,
    /// Export the host's telemetry over OTLP: its wasmcloud_host.* metrics, its spans and its
    /// log lines (guests' among them)
    #[arg(long, env = "WASMCLOUD_OBSERVABILITY_ENABLED")]
    enable_observability: bool,
    /// Export the host's wasmcloud_host.* metrics over OTLP
    #[arg(long, env = "WASMCLOUD_METRICS_ENABLED")]
    enable_metrics: bool,
    /// Export the host's spans over OTLP (control requests, component starts, invocations,
    /// linked calls), and give providers the same setting
    #[arg(long, env = "WASMCLOUD_TRACES_ENABLED")]
    enable_traces: bool,
    /// Export the host's log lines over OTLP, guests' lines among them (in the invocation's
    /// trace when traces are on)
    #[arg(long, env = "WASMCLOUD_LOGS_ENABLED")]
    enable_logs: bool,
    /// Base OTLP endpoint, e.g. http://127.0.0.1:4318 (OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
    /// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_EXPORTER_OTLP_LOGS_ENDPOINT name a signal's
    /// own endpoint)
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    override_observability_endpoint: Option<String>,
    /// OTLP transport: http (to port 4318) or grpc (to port 4317)
    #[arg(
        long,
        env = "WASMCLOUD_OBSERVABILITY_PROTOCOL",
        default_value = "http",
        value_parser = ["http", "grpc"],
        ignore_case = true
    )]
    observability_protocol: String,
    /// Wall-clock budget of one invocation, in milliseconds (1 ms to 24 h)
    #[arg(
        long,
        env = "WASMCLOUD_MAX_EXECUTION_TIME_MS",
        default_value_t = 600_000,
        value_parser = clap::value_parser!(u64).range(1..=86_400_000)
    )]
    max_execution_time_ms: u64,
    /// Linear memory cap of one component instance, in bytes (at least one 64 KiB page)
    #[arg(
        long,
        env = "WASMCLOUD_MAX_LINEAR_MEMORY",
        default_value_t = 256 * 1024 * 1024,
        value_parser = clap::value_parser!(u64).range(MIN_LINEAR_MEMORY..)
    )]
    max_linear_memory_bytes: u64,
    /// Largest component accepted, in bytes (at least 1 KiB)
    #[arg(
        long,
        env = "WASMCLOUD_MAX_COMPONENT_SIZE",
        default_value_t = 50 * 1024 * 1024,
        value_parser = clap::value_parser!(u64).range(MIN_COMPONENT_SIZE as u64..)
    )]
    max_component_size_bytes: u64,
    /// Most component instances live at once
    #[arg(
        long,
        env = "WASMCLOUD_MAX_COMPONENTS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    max_components: u32,
    /// Most lines a component may log (stdout, stderr and wasi:logging together) per second;
    /// lines past it are dropped and counted. 0: no limit
    #[arg(
        long,
        env = "WASMCLOUD_MAX_LOG_LINES_PER_SECOND",
        default_value_t = 1000,
        value_parser = clap::value_parser!(u32).range(0..=1_000_000)
    )]
    max_log_lines_per_second: u32,
    /// Most host resources (streams, pollables, …) one instance may hold at once
    #[arg(
        long,
        env = "WASMCLOUD_MAX_RESOURCE_ENTRIES",
        default_value_t = 4096,
        value_parser = clap::value_parser!(u64).range(64..=1_000_000)
    )]
    max_resource_entries: u64,
    /// Most elements of any one table of an instance
    #[arg(
        long,
        env = "WASMCLOUD_MAX_TABLE_ELEMENTS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1024..=10_000_000)
    )]
    max_table_elements: u64,
    /// Seconds between heartbeats (1 to 86400)
    #[arg(
        long,
        env = "WASMCLOUD_HEARTBEAT_INTERVAL",
        default_value_t = 30,
        hide = true,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    heartbeat_interval_seconds: u64,
    /// Serve /livez and /readyz on this address, e.g. 127.0.0.1:8081
    #[arg(long, env = "WASMCLOUD_HTTP_ADMIN")]
    http_admin: Option<SocketAddr>,
    /// Take part in component auctions
    #[arg(long, env = "WASMCLOUD_COMPONENT_AUCTION_ENABLED", default_value_t = true, action = ArgAction::Set)]
    enable_component_auction: bool,
    /// Cache compiled components here, so a restart or a re-scale skips compilation; it must be
    /// yours and not writable by group or others
    /// [default: $XDG_CACHE_HOME/wasmcloud/compile-cache, else ~/.cache/wasmcloud/compile-cache]
    #[arg(long, env = "WASMCLOUD_COMPILE_CACHE_DIR", value_name = "DIR")]
    compile_cache_dir: Option<PathBuf>,
    /// Most bytes the compile cache may hold; least recently used entries are evicted past it
    #[arg(
        long,
        env = "WASMCLOUD_COMPILE_CACHE_MAX_BYTES",
        default_value_t = lattice_runtime::DEFAULT_CACHE_MAX_BYTES,
        value_parser = clap::value_parser!(u64).range(MIN_COMPILE_CACHE_BYTES..)
    )]
    compile_cache_max_bytes: u64,
    /// Compile every component afresh instead of using the compile cache
    #[arg(long, env = "WASMCLOUD_NO_COMPILE_CACHE", conflicts_with = "compile_cache_dir")]
    no_compile_cache: bool,
    /// Take part in provider auctions
    #[arg(long, env = "WASMCLOUD_PROVIDER_AUCTION_ENABLED", default_value_t = true, action = ArgAction::Set)]
    enable_provider_auction: bool,
    /// How long a provider may take to answer a shutdown request before it is stopped by force, in milliseconds
    #[arg(
        long,
        env = "WASMCLOUD_PROV_SHUTDOWN_DELAY_MS",
        default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(0..=600_000)
    )]
    provider_shutdown_delay_ms: u64,
    /// Most bytes one component may keep in the built-in key-value store (used when it has no key-value link)
    #[arg(
        long,
        env = "WASMCLOUD_BUILTIN_KEYVALUE_MAX_BYTES",
        default_value_t = 64 << 20,
        value_parser = clap::value_parser!(u64).range(lattice_host::MIN_KEYVALUE_BYTES..)
    )]
    builtin_keyvalue_max_bytes: u64,
    /// Serve no built-in key-value store: components need a key-value link
    #[arg(long, env = "WASMCLOUD_DISABLE_BUILTIN_KEYVALUE")]
    disable_builtin_keyvalue: bool,
    /// Allow OCI references to the `latest` tag (or to no tag)
    #[arg(long, env = "WASMCLOUD_OCI_ALLOW_LATEST")]
    allow_latest: bool,
    /// Registries (host or host:port) reached over plain HTTP instead of HTTPS; comma-separated
    #[arg(
        long = "allowed-insecure",
        env = "WASMCLOUD_OCI_ALLOWED_INSECURE",
        value_name = "REGISTRY",
        value_delimiter = ','
    )]
    allowed_insecure: Vec<String>,
    /// OCI registry that --oci-user and --oci-password are for
    #[arg(long, env = "WASMCLOUD_OCI_REGISTRY", requires_all = ["oci_user", "oci_password"])]
    oci_registry: Option<String>,
    /// User name for --oci-registry
    #[arg(long, env = "WASMCLOUD_OCI_REGISTRY_USER", requires = "oci_registry")]
    oci_user: Option<String>,
    /// Password for --oci-registry
    #[arg(
        long,
        env = "WASMCLOUD_OCI_REGISTRY_PASSWORD",
        hide_env_values = true,
        requires = "oci_registry"
    )]
    oci_password: Option<String>,
    /// PEM file of extra root certificates to trust for OCI registries; repeatable
    #[arg(
        long = "oci-ca-file",
        env = "WASMCLOUD_OCI_CA_FILES",
        value_name = "FILE",
        value_delimiter = ','
    )]
    oci_ca_files: Vec<PathBuf>,
    /// Keep pulled components and providers here, by digest; it must be yours and not writable
    /// by group or others [default: $XDG_CACHE_HOME/wasmcloud/oci, else ~/.cache/wasmcloud/oci]
    #[arg(long, env = "WASMCLOUD_OCI_CACHE_DIR", value_name = "DIR")]
    oci_cache_dir: Option<PathBuf>,
    /// The most seconds one pull from a registry may take
    #[arg(
        long,
        env = "WASMCLOUD_OCI_TIMEOUT_SECS",
        default_value_t = 120,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    oci_timeout_secs: u64,
}

impl Args {
    /// What the host exports over OTLP, and where.
    fn observability(&self) -> OtelConfig {
        let signal_endpoint = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        OtelConfig {
            enable_observability: self.enable_observability,
            enable_metrics: self.enable_metrics.then_some(true),
            enable_traces: self.enable_traces.then_some(true),
            enable_logs: self.enable_logs.then_some(true),
            observability_endpoint: self.override_observability_endpoint.clone(),
            metrics_endpoint: signal_endpoint("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
            traces_endpoint: signal_endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            logs_endpoint: signal_endpoint("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"),
            protocol: match self.observability_protocol.to_ascii_lowercase().as_str() {
                "grpc" => "Grpc".to_owned(),
                _ => "Http".to_owned(),
            },
            ..OtelConfig::default()
        }
    }

    fn host_config(self) -> Result<HostConfig> {
        let observability = self.observability();
        let mut labels = BTreeMap::new();
        for (key, value) in std::env::vars() {
            if let Some(label) = key.strip_prefix(LABEL_ENV_PREFIX)
                && !label.is_empty()
            {
                labels.insert(label.to_owned(), value);
            }
        }
        // Command-line labels win over the environment.
        for text in &self.labels {
            let (key, value) = parse_label(text)?;
            labels.insert(key, value);
        }
        let mut config = HostConfig::new(format!("nats://{}:{}", self.nats_host, self.nats_port));
        config.lattice = self.lattice;
        config.nats_auth.jwt = self.nats_jwt;
        config.nats_auth.seed = self.nats_seed;
        config.nats_auth.creds_file = self.nats_creds;
        config.nats_tls.ca_file = self.tls_ca_path;
        config.nats_tls.client_cert = self.nats_tls_cert;
        config.nats_tls.client_key = self.nats_tls_key;
        config.nats_tls.tls_first = self.nats_tls_first;
        config.host_seed = self.host_seed;
        config.labels = labels;
        config.js_domain = self.js_domain;
        config.ctl_topic_prefix = self.ctl_topic_prefix;
        config.allow_file_load = self.allow_file_load;
        config.allowed_file_root = self.allowed_file_root;
        config.require_signed = self.require_signed;
        config.policy_topic = self.policy_topic.clone();
        config.policy_changes_topic = self.policy_changes_topic.clone();
        config.policy_timeout = Duration::from_millis(self.policy_timeout_ms);
        config.allowed_issuers = self.allowed_issuers;
        config.allow_legacy_claims = self.allow_legacy_claims;
        config.limits.max_execution_time = Duration::from_millis(self.max_execution_time_ms);
        config.limits.max_linear_memory = self.max_linear_memory_bytes;
        config.limits.max_component_size = usize::try_from(self.max_component_size_bytes).unwrap_or(usize::MAX);
        config.limits.max_components = self.max_components;
        config.limits.max_log_lines_per_second = self.max_log_lines_per_second;
        config.limits.max_resource_entries = usize::try_from(self.max_resource_entries).unwrap_or(usize::MAX);
        config.limits.max_table_elements = usize::try_from(self.max_table_elements).unwrap_or(usize::MAX);
        config.heartbeat_interval = Duration::from_secs(self.heartbeat_interval_seconds);
        config.http_admin = self.http_admin;
        config.enable_component_auction = self.enable_component_auction;
        config.enable_provider_auction = self.enable_provider_auction;
        config.compile_cache_dir = if self.no_compile_cache {
            None
        } else {
            self.compile_cache_dir.or_else(|| {
                let dir = default_compile_cache_dir(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"));
                if dir.is_none() {
                    tracing::warn!(
                        "neither XDG_CACHE_HOME nor HOME is set: running without a compile cache; set --compile-cache-dir to use one"
                    );
                }
                dir
            })
        };
        config.compile_cache_max_bytes = self.compile_cache_max_bytes;
        config.provider_shutdown_delay = Duration::from_millis(self.provider_shutdown_delay_ms);
        config.builtin_keyvalue = !self.disable_builtin_keyvalue;
        config.keyvalue_limits.max_bytes_per_component = self.builtin_keyvalue_max_bytes;
        // Providers log as the host does, when the level is a plain one they understand.
        let level = self.log_level.to_ascii_lowercase();
        config.log_level = ["error", "warn", "info", "debug", "trace"]
            .contains(&level.as_str())
            .then_some(level);
        config.structured_logging = self.enable_structured_logging;
        config.observability = observability;
        config.oci.allow_latest = self.allow_latest;
        config.oci.allowed_insecure = self.allowed_insecure;
        config.oci.extra_root_certificates = self.oci_ca_files;
        config.oci.timeout = Duration::from_secs(self.oci_timeout_secs);
        config.oci.cache_dir = self.oci_cache_dir.or_else(|| {
            user_cache_dir(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME")).map(|dir| dir.join("oci"))
        });
        if let (Some(registry), Some(username), Some(password)) = (self.oci_registry, self.oci_user, self.oci_password)
        {
            config
                .oci_credentials
                .insert(registry, lattice_oci::Credential::Basic { username, password });
        }
        Ok(config)
    }
}

/// The per-user compile cache: `$XDG_CACHE_HOME/wasmcloud/compile-cache`,
/// else `$HOME/.cache/wasmcloud/compile-cache`.
fn default_compile_cache_dir(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    user_cache_dir(xdg_cache_home, home).map(|dir| dir.join("compile-cache"))
}

/// The host's per-user cache directory: `$XDG_CACHE_HOME/wasmcloud`, else
/// `$HOME/.cache/wasmcloud` (relative values are ignored, as the XDG base
/// directory spec says). Never the shared temp directory, where another user
/// could plant compiled code or artifacts.
fn user_cache_dir(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let absolute = |value: Option<OsString>| value.map(PathBuf::from).filter(|p| p.is_absolute());
    let cache = absolute(xdg_cache_home).or_else(|| absolute(home).map(|home| home.join(".cache")))?;
    Some(cache.join("wasmcloud"))
}

/// Logs on stderr at `level` (`RUST_LOG` wins), JSON lines when `json`, and exported over
/// OTLP too when `logs` is given.
fn init_logging(level: &str, json: bool, logs: Option<&Logs>) -> Result<()> {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) => EnvFilter::try_new(level).with_context(|| format!("invalid --log-level `{level}`"))?,
    };
    lattice_telemetry::init_logging(filter, json, logs).context("cannot install the log subscriber")
}

/// The log pipeline, when logs are exported. Its records come from the host whose key `seed`
/// is (the host refuses a bad one itself, with the reason).
fn start_logs(observability: &OtelConfig, seed: &str) -> Result<Option<Logs>> {
    let mut attributes = vec![KeyValue::new("host.version", env!("CARGO_PKG_VERSION"))];
    if let Ok(key) = nkeys::KeyPair::from_seed(seed.trim()) {
        attributes.push(KeyValue::new("host.id", key.public_key()));
    }
    let service = lattice_telemetry::Service {
        name: lattice_host::SERVICE_NAME,
        scope: (lattice_host::SERVICE_NAME, env!("CARGO_PKG_VERSION")),
        attributes,
    };
    Logs::start(observability, service).map_err(anyhow::Error::msg)
}

/// Resolves on SIGINT or SIGTERM.
async fn signalled() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot listen for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("cannot listen for ctrl-c")?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    // The host's key is settled here, so exported log lines name the host from the first.
    let seed = match args.host_seed.take() {
        Some(seed) => seed,
        None => nkeys::KeyPair::new_server()
            .seed()
            .context("cannot write the host's new key")?,
    };
    let logs = start_logs(&args.observability(), &seed)?;
    init_logging(&args.log_level, args.enable_structured_logging, logs.as_ref())?;
    if let Some(logs) = &logs {
        logs.announce();
    }
    let mut config = args.host_config()?;
    config.host_seed = Some(seed);
    let served = serve(config).await;
    if let Some(logs) = &logs {
        logs.shut_down(LOGS_FLUSH_TIMEOUT).await;
    }
    served
}

/// How long the last log records may take to export at exit.
const LOGS_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs a host until it stops or a signal stops it.
async fn serve(config: HostConfig) -> Result<()> {
    let host = Host::start(config).await.context("cannot start the host")?;
    tokio::select! {
        () = host.stopped() => {}
        signal = signalled() => {
            signal?;
            tracing::info!("signal received, stopping");
            host.stop(Some(tokio::time::Instant::now() + DEFAULT_SHUTDOWN_TIMEOUT)).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_cache_defaults_to_a_per_user_dir() {
        let dir = |xdg: Option<&str>, home: Option<&str>| {
            default_compile_cache_dir(xdg.map(Into::into), home.map(Into::into))
        };
        assert_eq!(
            dir(Some("/x/cache"), Some("/home/u")),
            Some(PathBuf::from("/x/cache/wasmcloud/compile-cache"))
        );
        assert_eq!(
            dir(None, Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/wasmcloud/compile-cache"))
        );
        assert_eq!(
            dir(Some("relative"), Some("/home/u")),
            Some(PathBuf::from("/home/u/.cache/wasmcloud/compile-cache"))
        );
        assert_eq!(dir(Some(""), None), None);
        assert_eq!(dir(None, None), None);
    }
}
