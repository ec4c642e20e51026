//! `CliConnectionOpts`: the NATS/lattice flags every lattice command shares,
//! and the tokio runtime those commands run on.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use lattice_wash::lattice::{ConnectionOptions, Lattice, LatticeError};

/// How to reach the lattice (flags shared by every lattice command).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Lattice connection")]
pub(crate) struct CliConnectionOpts {
    /// NATS host of the lattice's control connection.
    #[arg(
        short = 'r',
        long = "ctl-host",
        env = "WASMCLOUD_CTL_HOST",
        default_value = "127.0.0.1"
    )]
    ctl_host: String,
    /// NATS port of the lattice's control connection.
    #[arg(short = 'p', long = "ctl-port", env = "WASMCLOUD_CTL_PORT", default_value_t = 4222)]
    ctl_port: u16,
    /// User JWT for NATS authentication (with --ctl-seed).
    #[arg(long = "ctl-jwt", env = "WASMCLOUD_CTL_JWT", hide_env_values = true)]
    ctl_jwt: Option<String>,
    /// User nkey seed for NATS authentication.
    #[arg(long = "ctl-seed", env = "WASMCLOUD_CTL_SEED", hide_env_values = true)]
    ctl_seed: Option<String>,
    /// NATS credentials file (JWT and seed).
    #[arg(long = "ctl-credsfile", env = "WASH_CTL_CREDS", value_name = "FILE")]
    ctl_credsfile: Option<PathBuf>,
    /// PEM file of extra root certificates to trust for NATS (turns TLS on).
    #[arg(long = "ctl-tls-ca-file", env = "WASH_CTL_TLS_CA_FILE", value_name = "FILE")]
    ctl_tls_ca_file: Option<PathBuf>,
    /// Start TLS before the NATS server's greeting (servers with handshake_first).
    #[arg(long = "ctl-tls-first", env = "WASH_CTL_TLS_FIRST")]
    ctl_tls_first: bool,
    /// JetStream domain of the lattice's NATS servers.
    #[arg(long = "js-domain", env = "WASMCLOUD_JS_DOMAIN")]
    js_domain: Option<String>,
    /// Lattice name.
    #[arg(short = 'x', long = "lattice", env = "WASMCLOUD_LATTICE", default_value = "default")]
    lattice: String,
    /// How long a control request waits for its reply, and how long host
    /// pings and auctions collect answers, in milliseconds.
    #[arg(
        short = 't',
        long = "timeout-ms",
        env = "WASMCLOUD_CTL_TIMEOUT_MS",
        default_value_t = 2000
    )]
    timeout_ms: u64,
}

impl CliConnectionOpts {
    pub(crate) fn options(&self) -> ConnectionOptions {
        ConnectionOptions {
            host: self.ctl_host.clone(),
            port: self.ctl_port,
            jwt: self.ctl_jwt.clone(),
            seed: self.ctl_seed.clone(),
            credsfile: self.ctl_credsfile.clone(),
            tls_ca_file: self.ctl_tls_ca_file.clone(),
            tls_first: self.ctl_tls_first,
            js_domain: self.js_domain.clone(),
            lattice: self.lattice.clone(),
            timeout: Duration::from_millis(self.timeout_ms),
        }
    }

    pub(crate) async fn connect(&self) -> Result<Lattice, LatticeError> {
        Lattice::connect(&self.options()).await
    }
}

/// Runs an async command to completion on a fresh multi-threaded runtime.
pub(crate) fn block_on<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("could not start the async runtime: {e}"))?;
    runtime.block_on(future)
}

/// `--wait-timeout-ms` and `--skip-wait` as the library's `Option<Duration>`.
pub(crate) fn wait(skip: bool, timeout_ms: u64) -> Option<Duration> {
    (!skip).then(|| Duration::from_millis(timeout_ms))
}
