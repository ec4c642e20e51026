//! `wash start component|provider`: run a workload on a host (picked by
//! auction unless `--host-id` is given) and wait until the host says it runs.

use clap::{Args, Subcommand};
use lattice_control_interface::{ComponentId, ConfigName, HostId, ProviderId};
use lattice_wash::lattice::{ProviderStart, ScaleRequest, parse_key_values, resolve_reference, validate_id};
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on, wait};

#[derive(Debug, Subcommand)]
pub(crate) enum StartCommand {
    /// Start a component and wait for `component_scaled`.
    Component(StartComponentArgs),
    /// Start a provider and wait for `provider_started`: a provider archive or
    /// executable, or the host's built-in `wasmcloud+builtin://http-server`.
    Provider(StartProviderArgs),
}

#[derive(Debug, Args)]
pub(crate) struct StartComponentArgs {
    /// Where to load the component from: a local .wasm file, `file:///abs/path.wasm` or an OCI reference.
    component_ref: String,
    /// The lattice-unique ID to run it under (letters, digits, `_`, `-`).
    component_id: String,
    /// The host to start it on [default: one that accepts the auction].
    #[arg(long)]
    host_id: Option<String>,
    /// How many instances may run at once.
    #[arg(long, default_value_t = 1)]
    max_instances: u32,
    /// A label the auction's host must carry, as KEY=VALUE (repeatable).
    #[arg(short = 'c', long = "constraint", value_name = "KEY=VALUE")]
    constraints: Vec<String>,
    /// A named configuration to give the component (repeatable).
    #[arg(long = "config", value_name = "NAME")]
    config: Vec<String>,
    /// Return once the host acknowledges, without waiting for the outcome.
    #[arg(long)]
    skip_wait: bool,
    /// How long to wait for the outcome, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    wait_timeout_ms: u64,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

#[derive(Debug, Args)]
pub(crate) struct StartProviderArgs {
    /// Where to load the provider from: a local provider archive (.par, .par.gz) or
    /// executable, `file:///abs/path`, or `wasmcloud+builtin://http-server`.
    provider_ref: String,
    /// The lattice-unique ID to run it under (letters, digits, `_`, `-`).
    provider_id: String,
    /// The host to start it on [default: one that accepts the auction].
    #[arg(long)]
    host_id: Option<String>,
    /// A label the auction's host must carry, as KEY=VALUE (repeatable).
    #[arg(short = 'c', long = "constraint", value_name = "KEY=VALUE")]
    constraints: Vec<String>,
    /// A named configuration to give the provider (repeatable).
    #[arg(long = "config", value_name = "NAME")]
    config: Vec<String>,
    /// Return once the host acknowledges, without waiting for the outcome.
    #[arg(long)]
    skip_wait: bool,
    /// How long to wait for the outcome, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    wait_timeout_ms: u64,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

pub(crate) fn run(cmd: StartCommand) -> anyhow::Result<Output> {
    match cmd {
        StartCommand::Component(args) => block_on(start_component(args)),
        StartCommand::Provider(args) => block_on(start_provider(args)),
    }
}

async fn start_component(mut args: StartComponentArgs) -> anyhow::Result<Output> {
    args.component_ref = resolve_reference(&args.component_ref);
    validate_id("component", &args.component_id)?;
    let request = ScaleRequest {
        component_ref: args.component_ref.clone(),
        component_id: ComponentId::new(args.component_id.clone()),
        host_id: args.host_id.map(HostId::new),
        max_instances: args.max_instances,
        constraints: parse_key_values("constraint", &args.constraints)?,
        config: args.config.into_iter().map(ConfigName::new).collect(),
        allow_update: false,
        wait: wait(args.skip_wait, args.wait_timeout_ms),
    };
    let lattice = args.conn.connect().await?;
    let outcome = lattice.scale_component(&request, "start").await?;
    let verb = if outcome.confirmed {
        "started"
    } else {
        "asked host to start"
    };
    let mut text = format!(
        "{verb} component `{}` from {} on host {}",
        args.component_id, args.component_ref, outcome.host_id
    );
    if !outcome.message.is_empty() {
        text.push_str(&format!("\nthe host said: {}", outcome.message));
    }
    Ok(Output::new(
        text,
        json!({
            "success": true,
            "component_id": args.component_id,
            "component_ref": args.component_ref,
            "host_id": outcome.host_id,
            "message": outcome.message,
            "confirmed": outcome.confirmed,
        }),
    ))
}

async fn start_provider(mut args: StartProviderArgs) -> anyhow::Result<Output> {
    args.provider_ref = resolve_reference(&args.provider_ref);
    validate_id("provider", &args.provider_id)?;
    let reference = args.provider_ref.as_str();
    let looks_like_path =
        reference.starts_with(['/', '.']) || reference.ends_with(".par") || reference.ends_with(".par.gz");
    if !reference.contains("://") && looks_like_path {
        anyhow::bail!(
            "no provider archive or executable at `{reference}`: pass an existing file, a file:// URL \
             or wasmcloud+builtin://http-server"
        );
    }
    let request = ProviderStart {
        provider_ref: args.provider_ref.clone(),
        provider_id: ProviderId::new(args.provider_id.clone()),
        host_id: args.host_id.map(HostId::new),
        constraints: parse_key_values("constraint", &args.constraints)?,
        config: args.config.into_iter().map(ConfigName::new).collect(),
        wait: wait(args.skip_wait, args.wait_timeout_ms),
    };
    let lattice = args.conn.connect().await?;
    let started = lattice.start_provider(&request).await?;
    let verb = if args.skip_wait {
        "asked host to start"
    } else {
        "started"
    };
    Ok(Output::new(
        format!(
            "{verb} provider `{}` from {} on host {}",
            args.provider_id, args.provider_ref, started.host_id
        ),
        json!({
            "success": true,
            "provider_id": args.provider_id,
            "provider_ref": args.provider_ref,
            "host_id": started.host_id,
            "message": started.message,
        }),
    ))
}
