//! [`HostConfig`]: everything a host is started with. The `wasmcloud`
//! binary fills it from flags and environment variables; embedders and tests
//! build it directly.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use lattice_control_interface::subject::{DEFAULT_LATTICE, DEFAULT_TOPIC_PREFIX};
use lattice_runtime::Limits;

use crate::error::{Error, ErrorKind, Result};

/// How long a host waits for in-flight work when stopped without a deadline
/// (wasmCloud v1's default).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the host asks each provider it runs whether it is healthy (wasmCloud v1's
/// interval); the first check comes after at most 5 s.
pub const DEFAULT_PROVIDER_HEALTH_INTERVAL: Duration = Duration::from_secs(30);

/// How long a provider gets to answer a shutdown request (wasmCloud v1's
/// `--provider-shutdown-delay-ms`) before it is stopped by force.
pub const DEFAULT_PROVIDER_SHUTDOWN_DELAY: Duration = Duration::from_millis(300);

/// How often the host publishes its inventory by default.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(30);

/// The configuration a [`crate::Host`] starts with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HostConfig {
    /// NATS server URL, e.g. `nats://127.0.0.1:4222`.
    pub nats_url: String,
    /// The lattice to join.
    pub lattice: String,
    /// The host's server nkey seed (`SN…`); a fresh key when `None`.
    pub host_seed: Option<String>,
    /// Labels besides the `hostcore.*` defaults.
    pub labels: BTreeMap<String, String>,
    /// Limits applied to every component.
    pub limits: Limits,
    /// Whether `file://` component references may be loaded.
    pub allow_file_load: bool,
    /// When set, `file://` references may only name files inside this
    /// directory (after resolving `..` and symbolic links).
    pub allowed_file_root: Option<PathBuf>,
    /// How often the inventory is published as `host_heartbeat`.
    pub heartbeat_interval: Duration,
    /// The control topic prefix (default `wasmbus.ctl`).
    pub ctl_topic_prefix: String,
    /// The JetStream domain of the lattice buckets, if any.
    pub js_domain: Option<String>,
    /// Address of the `/livez` and `/readyz` endpoint, off when `None`.
    pub http_admin: Option<SocketAddr>,
    /// Whether this host answers component auctions.
    pub enable_component_auction: bool,
    /// Whether this host answers provider auctions.
    pub enable_provider_auction: bool,
    /// Whether `wasmcloud+builtin://http-server` may be started.
    pub enable_builtin_http_server: bool,
    /// Where compiled components are cached across restarts (keyed by
    /// content and engine); no cache when `None`. It must be a directory of
    /// the user the host runs as, not writable by group or others, and not
    /// a symbolic link: the host refuses to start otherwise.
    pub compile_cache_dir: Option<PathBuf>,
    /// Cap on the compile cache's total size; the least recently used
    /// entries are evicted past it.
    pub compile_cache_max_bytes: u64,
    /// Refuse components without claims.
    pub require_signed: bool,
    /// Accept claims of `wascap_revision` below 3, which carry no module
    /// hash (so any binary can carry them).
    pub allow_legacy_claims: bool,
    /// When not empty, run only components issued by these account public
    /// keys (`A…`); unsigned components are refused too.
    pub allowed_issuers: Vec<String>,
    /// The subject of a policy service asked before each component or
    /// provider start and before a component's first invocation of each
    /// function; `None`: everything is permitted.
    pub policy_topic: Option<String>,
    /// A subject on which the policy service publishes changed decisions
    /// (`{"requestId", "permitted", "message"?}`); used only with a policy topic.
    pub policy_changes_topic: Option<String>,
    /// How long the policy service may take to answer; no answer denies.
    pub policy_timeout: Duration,
    /// How the host authenticates to NATS.
    pub nats_auth: NatsAuth,
    /// TLS towards NATS.
    pub nats_tls: NatsTls,
    /// How often providers' health is checked.
    pub provider_health_interval: Duration,
    /// How long a provider gets to answer a shutdown request.
    pub provider_shutdown_delay: Duration,
    /// The log level handed to providers (`error` … `trace`), if the host was given one.
    pub log_level: Option<String>,
    /// Whether the host logs JSON, so providers do too.
    pub structured_logging: bool,
    /// Whether components without a key-value link get the built-in store (a JetStream
    /// bucket of the lattice per component); without it, their key-value calls fail naming
    /// the missing link.
    pub builtin_keyvalue: bool,
    /// Bounds of the built-in store, per component.
    pub keyvalue_limits: lattice_runtime::host::keyvalue::KeyValueLimits,
    /// How components and providers are pulled from OCI registries: the `latest` policy,
    /// registries spoken to over plain HTTP, extra root certificates, the cache directory
    /// (default none; the `wasmcloud` binary uses a per-user one) and time bounds.
    pub oci: lattice_oci::Options,
    /// Credentials for OCI registries known from the start (wasmCloud v1's
    /// `--oci-registry/--oci-user/--oci-password`); `registry.put` adds more.
    pub oci_credentials: BTreeMap<String, lattice_oci::Credential>,
    /// Telemetry: which signals are exported over OTLP, where and how (upstream's
    /// `--enable-observability`, `--enable-metrics`, endpoints and protocol). Providers are
    /// handed the same settings. Off by default.
    pub observability: lattice_control_interface::provider::OtelConfig,
}

/// How the host authenticates to NATS (wasmCloud v1's `--nats-jwt`,
/// `--nats-seed` and `--nats-creds`). At most one of `creds_file` and
/// `jwt`/`seed`; a `jwt` needs the `seed` that signs the server's nonce; a
/// `seed` alone is nkey authentication.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct NatsAuth {
    /// A user JWT.
    pub jwt: Option<String>,
    /// A user nkey seed (`SU…`).
    pub seed: Option<String>,
    /// A NATS `.creds` file (JWT and seed in one).
    pub creds_file: Option<PathBuf>,
}

impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed; the JWT is public but long.
        f.debug_struct("NatsAuth")
            .field("jwt", &self.jwt.as_ref().map(|_| "…"))
            .field("seed", &self.seed.as_ref().map(|_| "<redacted>"))
            .field("creds_file", &self.creds_file)
            .finish()
    }
}

/// TLS towards NATS. Any of these makes the host require TLS.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NatsTls {
    /// A PEM file of extra root certificates to trust (`--tls-ca-path`).
    pub ca_file: Option<PathBuf>,
    /// A PEM client certificate (with `client_key`) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// The PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Start TLS before the server's greeting (servers with
    /// `handshake_first`).
    pub tls_first: bool,
}

impl NatsTls {
    /// Whether any TLS option is set.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        self.ca_file.is_some() || self.client_cert.is_some() || self.client_key.is_some() || self.tls_first
    }
}

/// Accepted range of the heartbeat interval.
pub const HEARTBEAT_INTERVAL_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(86_400);
/// Accepted range of the per-invocation execution time.
pub const MAX_EXECUTION_TIME_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(1)..=Duration::from_secs(86_400);
/// Smallest accepted linear memory cap: one wasm page.
pub const MIN_LINEAR_MEMORY: u64 = 64 * 1024;
/// Smallest accepted maximum component size.
pub const MIN_COMPONENT_SIZE: usize = 1024;
/// Smallest accepted compile cache cap.
pub const MIN_COMPILE_CACHE_BYTES: u64 = 1 << 20;
/// The smallest share of the built-in key-value store a component can be given.
pub const MIN_KEYVALUE_BYTES: u64 = 64 << 10;

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            lattice: DEFAULT_LATTICE.to_owned(),
            host_seed: None,
            labels: BTreeMap::new(),
            limits: Limits::default(),
            allow_file_load: false,
            allowed_file_root: None,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            ctl_topic_prefix: DEFAULT_TOPIC_PREFIX.to_owned(),
            js_domain: None,
            http_admin: None,
            enable_component_auction: true,
            enable_provider_auction: true,
            enable_builtin_http_server: true,
            compile_cache_dir: None,
            compile_cache_max_bytes: lattice_runtime::DEFAULT_CACHE_MAX_BYTES,
            require_signed: false,
            allow_legacy_claims: false,
            allowed_issuers: Vec::new(),
            policy_topic: None,
            policy_changes_topic: None,
            policy_timeout: Duration::from_secs(1),
            nats_auth: NatsAuth::default(),
            nats_tls: NatsTls::default(),
            provider_health_interval: DEFAULT_PROVIDER_HEALTH_INTERVAL,
            provider_shutdown_delay: DEFAULT_PROVIDER_SHUTDOWN_DELAY,
            log_level: None,
            structured_logging: false,
            builtin_keyvalue: true,
            keyvalue_limits: lattice_runtime::host::keyvalue::KeyValueLimits::default(),
            oci: lattice_oci::Options::default(),
            oci_credentials: BTreeMap::new(),
            observability: lattice_control_interface::provider::OtelConfig::default(),
        }
    }
}

impl HostConfig {
    /// A configuration with wasmCloud v1's defaults connecting to `nats_url`.
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            ..Self::default()
        }
    }

    /// Checks what can be checked before connecting anywhere.
    pub(crate) fn validate(&self) -> Result<()> {
        let token_ok = lattice_control_interface::subject::is_valid_token;
        if !token_ok(&self.lattice) {
            return Err(Error::new(ErrorKind::InvalidConfig(format!(
                "lattice name `{}` cannot be used in a NATS subject: use letters, digits, `-` and `_`",
                self.lattice
            ))));
        }
        if let Some(root) = &self.allowed_file_root
            && !std::fs::canonicalize(root).is_ok_and(|real| real.is_dir())
        {
            return Err(Error::new(ErrorKind::InvalidConfig(format!(
                "allowed file root {} is not an existing directory: create it or fix --allowed-file-root",
                root.display()
            ))));
        }
        self.validate_limits()?;
        self.validate_trust()?;
        self.validate_nats()?;
        let signals = [
            (self.observability.metrics_enabled(), crate::telemetry::Signal::Metrics),
            (self.observability.traces_enabled(), crate::telemetry::Signal::Traces),
        ];
        for (_, signal) in signals.into_iter().filter(|(enabled, _)| *enabled) {
            crate::telemetry::endpoint(&self.observability, signal)
                .map_err(|e| Error::new(ErrorKind::InvalidConfig(e)))?;
        }
        Ok(())
    }

    /// Every number in range, so none can overflow a timer or an allocation.
    fn validate_limits(&self) -> Result<()> {
        let invalid = |what: String| Err(Error::new(ErrorKind::InvalidConfig(what)));
        if !HEARTBEAT_INTERVAL_RANGE.contains(&self.heartbeat_interval) {
            return invalid(format!(
                "heartbeat interval {:?} is out of range: use 1 to 86400 seconds (--heartbeat-interval-seconds)",
                self.heartbeat_interval
            ));
        }
        let limits = &self.limits;
        if !MAX_EXECUTION_TIME_RANGE.contains(&limits.max_execution_time) {
            return invalid(format!(
                "max execution time {:?} is out of range: use 1 ms to 24 h (--max-execution-time-ms 1..=86400000)",
                limits.max_execution_time
            ));
        }
        if limits.max_linear_memory < MIN_LINEAR_MEMORY {
            return invalid(format!(
                "max linear memory of {} bytes is less than one 64 KiB page: use at least {MIN_LINEAR_MEMORY} (--max-linear-memory-bytes)",
                limits.max_linear_memory
            ));
        }
        if limits.max_component_size < MIN_COMPONENT_SIZE {
            return invalid(format!(
                "max component size of {} bytes is too small for any component: use at least {MIN_COMPONENT_SIZE} (--max-component-size-bytes)",
                limits.max_component_size
            ));
        }
        if limits.max_components == 0 {
            return invalid("max components is 0, so nothing could run: use at least 1 (--max-components)".to_owned());
        }
        if !HEARTBEAT_INTERVAL_RANGE.contains(&self.provider_health_interval) {
            return invalid(format!(
                "provider health interval {:?} is out of range: use 1 to 86400 seconds",
                self.provider_health_interval
            ));
        }
        if self.provider_shutdown_delay > Duration::from_secs(600) {
            return invalid(format!(
                "provider shutdown delay {:?} is out of range: use at most 600000 ms (--provider-shutdown-delay-ms)",
                self.provider_shutdown_delay
            ));
        }
        if self.keyvalue_limits.max_bytes_per_component < MIN_KEYVALUE_BYTES {
            return invalid(format!(
                "built-in key-value share of {} bytes is too small: use at least {MIN_KEYVALUE_BYTES} (--builtin-keyvalue-max-bytes)",
                self.keyvalue_limits.max_bytes_per_component
            ));
        }
        if self.compile_cache_max_bytes < MIN_COMPILE_CACHE_BYTES {
            return invalid(format!(
                "compile cache cap of {} bytes is too small: use at least {MIN_COMPILE_CACHE_BYTES} (--compile-cache-max-bytes)",
                self.compile_cache_max_bytes
            ));
        }
        Ok(())
    }

    /// Allowed issuers must be account public keys.
    fn validate_trust(&self) -> Result<()> {
        for issuer in &self.allowed_issuers {
            let is_account = issuer.starts_with('A') && nkeys::KeyPair::from_public_key(issuer).is_ok();
            if !is_account {
                return Err(Error::new(ErrorKind::InvalidConfig(format!(
                    "allowed issuer `{issuer}` is not an account public key: pass the `A…` key that signs your components (`wash keys get account`)"
                ))));
            }
        }
        Ok(())
    }

    /// NATS credentials that can be used together, and seeds of the right
    /// kind (never echoed back).
    fn validate_nats(&self) -> Result<()> {
        let invalid = |what: &str| Err(Error::new(ErrorKind::InvalidConfig(what.to_owned())));
        let auth = &self.nats_auth;
        if auth.creds_file.is_some() && (auth.jwt.is_some() || auth.seed.is_some()) {
            return invalid("--nats-creds holds a JWT and a seed already: pass either it or --nats-jwt/--nats-seed");
        }
        if auth.jwt.is_some() && auth.seed.is_none() {
            return invalid("--nats-jwt needs --nats-seed to sign the server's nonce: pass both, or use --nats-creds");
        }
        if let Some(seed) = &auth.seed {
            let seed = seed.trim();
            if !seed.starts_with("SU") || nkeys::KeyPair::from_seed(seed).is_err() {
                return invalid("--nats-seed is not a user nkey seed: pass the `SU…` seed of the NATS user");
            }
        }
        let tls = &self.nats_tls;
        if tls.client_cert.is_some() != tls.client_key.is_some() {
            return invalid("--nats-tls-cert and --nats-tls-key go together: pass both");
        }
        Ok(())
    }

    /// The host's key pair: from the seed, or freshly generated.
    pub(crate) fn host_key(&self) -> Result<nkeys::KeyPair> {
        match &self.host_seed {
            None => Ok(nkeys::KeyPair::new_server()),
            Some(seed) => parse_host_seed(seed),
        }
    }
}

/// Reads a server seed, refusing seeds of other key types.
fn parse_host_seed(seed: &str) -> Result<nkeys::KeyPair> {
    let seed = seed.trim();
    if !seed.starts_with("SN") {
        return Err(Error::new(ErrorKind::InvalidHostSeed));
    }
    nkeys::KeyPair::from_seed(seed).map_err(|e| Error::with_source(ErrorKind::InvalidHostSeed, e))
}

/// Parses one `key=value` label as given to `-l` or found in the
/// environment.
///
/// # Errors
///
/// [`ErrorKind::InvalidConfig`] when there is no `=` or the key is empty.
pub fn parse_label(text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.to_owned())),
        _ => Err(Error::new(ErrorKind::InvalidConfig(format!(
            "label `{text}` is not `key=value`: write labels as `-l key=value`"
        )))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_seed_must_be_a_server_seed() {
        let server = nkeys::KeyPair::new_server();
        let seed = server.seed().unwrap();
        let parsed = parse_host_seed(&seed).unwrap();
        assert_eq!(parsed.public_key(), server.public_key());

        let account = nkeys::KeyPair::new_account().seed().unwrap();
        let err = parse_host_seed(&account).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidHostSeed);
        assert!(err.to_string().contains("SN"), "{err}");

        let err = parse_host_seed("SNnotaseed").unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::InvalidHostSeed);
    }

    #[test]
    fn labels_parse() {
        assert_eq!(parse_label("zone=eu").unwrap(), ("zone".into(), "eu".into()));
        assert_eq!(parse_label("k=a=b").unwrap(), ("k".into(), "a=b".into()));
        assert_eq!(parse_label("empty=").unwrap(), ("empty".into(), String::new()));
        assert!(parse_label("novalue").is_err());
        assert!(parse_label("=v").is_err());
    }

    #[test]
    fn numbers_out_of_range_are_refused() {
        let check = |change: fn(&mut HostConfig), expected: &str| {
            let mut config = HostConfig::default();
            change(&mut config);
            let err = config.validate().unwrap_err();
            assert!(matches!(err.kind(), ErrorKind::InvalidConfig(_)), "{err:?}");
            assert!(err.to_string().contains(expected), "{expected:?} not in {err}");
        };
        check(
            |c| c.heartbeat_interval = Duration::ZERO,
            "--heartbeat-interval-seconds",
        );
        check(
            |c| c.heartbeat_interval = Duration::from_secs(u64::MAX),
            "1 to 86400 seconds",
        );
        check(
            |c| c.limits.max_execution_time = Duration::ZERO,
            "--max-execution-time-ms",
        );
        check(
            |c| c.limits.max_execution_time = Duration::from_secs(86_401),
            "1 ms to 24 h",
        );
        check(|c| c.limits.max_linear_memory = 65_535, "--max-linear-memory-bytes");
        check(|c| c.limits.max_component_size = 1023, "--max-component-size-bytes");
        check(|c| c.limits.max_components = 0, "--max-components");
        check(|c| c.compile_cache_max_bytes = 1000, "--compile-cache-max-bytes");
        let edges = HostConfig {
            heartbeat_interval: Duration::from_secs(86_400),
            limits: Limits {
                max_execution_time: Duration::from_millis(1),
                max_linear_memory: MIN_LINEAR_MEMORY,
                max_component_size: MIN_COMPONENT_SIZE,
                max_components: 1,
                ..Limits::default()
            },
            compile_cache_max_bytes: MIN_COMPILE_CACHE_BYTES,
            ..HostConfig::default()
        };
        edges.validate().unwrap();
    }

    #[test]
    fn allowed_issuers_must_be_account_keys() {
        let mut config = HostConfig {
            allowed_issuers: vec![nkeys::KeyPair::new_account().public_key()],
            ..HostConfig::default()
        };
        config.validate().unwrap();
        for bad in [
            nkeys::KeyPair::new_module().public_key(),
            nkeys::KeyPair::new_account().seed().unwrap(),
            "Anotakey".to_owned(),
        ] {
            config.allowed_issuers = vec![bad.clone()];
            let err = config.validate().unwrap_err();
            assert!(err.to_string().contains("not an account public key"), "{err}");
        }
    }

    #[test]
    fn nats_credentials_must_fit_together_and_seeds_stay_secret() {
        let user = nkeys::KeyPair::new_user().seed().unwrap();
        let account = nkeys::KeyPair::new_account().seed().unwrap();
        let mut config = HostConfig {
            nats_auth: NatsAuth {
                seed: Some(user.clone()),
                ..NatsAuth::default()
            },
            ..HostConfig::default()
        };
        config.validate().unwrap();
        assert!(!format!("{config:?}").contains(&user), "seed in {config:?}");
        config.nats_auth.seed = Some(account.clone());
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("SU"), "{err}");
        assert!(!err.to_string().contains(&account), "{err}");
        config.nats_auth.seed = None;
        config.nats_auth.jwt = Some("eyJ0eXAiOiJKV1QifQ.e30.x".into());
        assert!(config.validate().unwrap_err().to_string().contains("--nats-seed"));
        config.nats_auth.seed = Some(user);
        config.nats_auth.creds_file = Some("/x.creds".into());
        assert!(config.validate().unwrap_err().to_string().contains("--nats-creds"));
        let tls = HostConfig {
            nats_tls: NatsTls {
                client_cert: Some("/cert.pem".into()),
                ..NatsTls::default()
            },
            ..HostConfig::default()
        };
        assert!(tls.validate().unwrap_err().to_string().contains("--nats-tls-key"));
    }

    #[test]
    fn validation() {
        assert!(HostConfig::default().validate().is_ok());
        let bad = HostConfig {
            lattice: "a.b".into(),
            ..HostConfig::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("lattice"));
    }
}
