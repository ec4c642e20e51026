//! `wash up`: start a local lattice (a `nats-server` unless one is already
//! reachable, then a `wasmcloud` host) in the foreground or detached.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use lattice_wash::lattice::parse_key_values;
use lattice_wash::up::{NATS_BINARY, NatsAuth, Observability, StateDir, UpOptions, launch, shutdown};
use serde_json::json;

use super::Output;
use super::conn::block_on;

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Lattice the host joins.
    #[arg(short = 'x', long = "lattice", env = "WASMCLOUD_LATTICE", default_value = "default")]
    lattice: String,
    /// A host label as KEY=VALUE (repeatable).
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,
    /// Address NATS listens on (or should listen on).
    #[arg(long, env = "WASMCLOUD_NATS_HOST", default_value = "127.0.0.1")]
    nats_host: String,
    /// Port NATS listens on (or should listen on).
    #[arg(long, env = "WASMCLOUD_NATS_PORT", default_value_t = 4222)]
    nats_port: u16,
    /// Never start a nats-server: use the one already running.
    #[arg(long, env = "NATS_CONNECT_ONLY")]
    nats_connect_only: bool,
    /// The `wasmcloud` host binary [default: beside wash, then on PATH].
    #[arg(long, env = "WASMCLOUD_HOST_PATH", value_name = "PATH")]
    host_path: Option<PathBuf>,
    /// Run in the background (logs and pid files in the wash state dir,
    /// `~/.wash` or WASH_DATA_DIR); stop with `wash down`.
    #[arg(short = 'd', long)]
    detached: bool,
    /// User JWT for NATS (with --nats-seed); passed on to the host.
    #[arg(long, env = "WASMCLOUD_NATS_JWT", hide_env_values = true, requires = "nats_seed")]
    nats_jwt: Option<String>,
    /// User nkey seed for NATS (signs the nonce for --nats-jwt, or alone is nkey
    /// authentication); passed on to the host.
    #[arg(long, env = "WASMCLOUD_NATS_SEED", hide_env_values = true)]
    nats_seed: Option<String>,
    /// NATS credentials file; passed on to the host.
    #[arg(
        long,
        env = "WASMCLOUD_NATS_CREDS",
        value_name = "FILE",
        conflicts_with_all = ["nats_jwt", "nats_seed"]
    )]
    nats_creds: Option<PathBuf>,
    /// PEM file of extra root certificates to trust for NATS (turns TLS on); passed on to
    /// the host.
    #[arg(long, env = "WASMCLOUD_TLS_CA_PATH", value_name = "FILE")]
    tls_ca_path: Option<PathBuf>,
    /// Start TLS before the NATS server's greeting; passed on to the host.
    #[arg(long, env = "WASMCLOUD_NATS_TLS_FIRST")]
    nats_tls_first: bool,
    /// How long the host may take to answer its first request, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    wait_timeout_ms: u64,
    /// Have the host export its telemetry over OTLP: its wasmcloud_host.* metrics, its spans
    /// and its log lines
    #[arg(long, env = "WASMCLOUD_OBSERVABILITY_ENABLED")]
    enable_observability: bool,
    /// Have the host export its wasmcloud_host.* metrics over OTLP
    #[arg(long, env = "WASMCLOUD_METRICS_ENABLED")]
    enable_metrics: bool,
    /// Have the host (and the providers it starts) export spans over OTLP
    #[arg(long, env = "WASMCLOUD_TRACES_ENABLED")]
    enable_traces: bool,
    /// Have the host export its log lines (its guests' among them) over OTLP
    #[arg(long, env = "WASMCLOUD_LOGS_ENABLED")]
    enable_logs: bool,
    /// Base OTLP endpoint for the host's telemetry, e.g. http://127.0.0.1:4318
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", value_name = "URL")]
    override_observability_endpoint: Option<String>,
    /// OTLP transport of the host's telemetry: http (to port 4318) or grpc (to port 4317)
    #[arg(long, env = "WASMCLOUD_OBSERVABILITY_PROTOCOL", value_parser = ["http", "grpc"], ignore_case = true)]
    observability_protocol: Option<String>,
}

pub(crate) fn run(args: UpArgs) -> anyhow::Result<Output> {
    let state = StateDir::from_env();
    let opts = UpOptions {
        nats_host: args.nats_host,
        nats_port: args.nats_port,
        nats_connect_only: args.nats_connect_only,
        lattice: args.lattice,
        labels: parse_key_values("label", &args.labels)?,
        host_path: args.host_path,
        detached: args.detached,
        ready_timeout: Duration::from_millis(args.wait_timeout_ms),
        state: state.clone(),
        nats_auth: NatsAuth {
            jwt: args.nats_jwt,
            seed: args.nats_seed,
            creds_file: args.nats_creds,
            tls_ca_file: args.tls_ca_path,
            tls_first: args.nats_tls_first,
        },
        observability: Observability {
            enable_observability: args.enable_observability,
            enable_metrics: args.enable_metrics,
            enable_traces: args.enable_traces,
            enable_logs: args.enable_logs,
            endpoint: args.override_observability_endpoint,
            protocol: args.observability_protocol,
        },
    };
    block_on(async move {
        let mut launched = launch(&opts).await?;
        let nats_url = format!("nats://{}:{}", opts.nats_host, opts.nats_port);
        let host_id = launched.state.host_id.clone();
        let started_nats = launched.nats.is_some();
        if opts.detached {
            let text = format!(
                "host {host_id} is up on lattice `{}` with NATS at {nats_url}{}\nlogs: {}\nstop it with `wash down`",
                opts.lattice,
                if started_nats { " (started by wash)" } else { "" },
                state.host_log().display(),
            );
            return Ok(Output::new(
                text,
                json!({
                    "success": true,
                    "host_id": host_id,
                    "lattice": opts.lattice,
                    "nats_url": nats_url,
                    "host_pid": launched.state.host_pid,
                    "nats_pid": launched.state.nats_pid,
                    "host_log": state.host_log(),
                }),
            ));
        }
        eprintln!(
            "wash: host {host_id} is up on lattice `{}` with NATS at {nats_url}; press Ctrl-C to stop",
            opts.lattice
        );
        let exited = tokio::select! {
            _ = stop_signal() => None,
            status = launched.host.wait() => Some(status),
        };
        let stopped = shutdown(&mut launched, &state).await;
        if let Some(status) = exited {
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            let also = if started_nats {
                format!("; stopped the {NATS_BINARY} wash started")
            } else {
                String::new()
            };
            anyhow::bail!("the host exited on its own ({status}): see its log above{also}");
        }
        Ok(Output::new(
            format!("stopped {}", stopped.join(" and ")),
            json!({ "success": true, "host_id": host_id, "stopped": stopped }),
        ))
    })
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
