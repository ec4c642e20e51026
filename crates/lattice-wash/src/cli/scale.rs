//! `wash scale component`: set a component's instance limit on one host.

use clap::{Args, Subcommand};
use lattice_control_interface::{ComponentId, ConfigName, HostId};
use lattice_wash::lattice::{ScaleRequest, resolve_reference, validate_id};
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on, wait};

#[derive(Debug, Subcommand)]
pub(crate) enum ScaleCommand {
    /// Scale a component on a host (0 stops it) and wait for `component_scaled`.
    Component(ScaleComponentArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ScaleComponentArgs {
    /// The host to scale it on.
    host_id: String,
    /// Where to load the component from: a local .wasm file, `file:///abs/path.wasm` or an OCI reference.
    component_ref: String,
    /// The component's lattice-unique ID.
    component_id: String,
    /// How many instances may run at once [default: unbounded].
    #[arg(short = 'c', long, alias = "count", default_value_t = u32::MAX, hide_default_value = true)]
    max_instances: u32,
    /// A named configuration to give the component (repeatable).
    #[arg(long = "config", value_name = "NAME")]
    config: Vec<String>,
    /// Let a different reference replace the running one.
    #[arg(long)]
    allow_update: bool,
    /// Return once the host acknowledges, without waiting for the outcome.
    #[arg(long)]
    skip_wait: bool,
    /// How long to wait for the outcome, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    wait_timeout_ms: u64,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

pub(crate) fn run(cmd: ScaleCommand) -> anyhow::Result<Output> {
    let ScaleCommand::Component(mut args) = cmd;
    args.component_ref = resolve_reference(&args.component_ref);
    block_on(async move {
        validate_id("component", &args.component_id)?;
        let request = ScaleRequest {
            component_ref: args.component_ref.clone(),
            component_id: ComponentId::new(args.component_id.clone()),
            host_id: Some(HostId::new(args.host_id.clone())),
            max_instances: args.max_instances,
            config: args.config.into_iter().map(ConfigName::new).collect(),
            allow_update: args.allow_update,
            wait: wait(args.skip_wait, args.wait_timeout_ms),
            ..ScaleRequest::default()
        };
        let lattice = args.conn.connect().await?;
        let outcome = lattice.scale_component(&request, "scale").await?;
        let limit = if args.max_instances == u32::MAX {
            "unbounded".to_owned()
        } else {
            args.max_instances.to_string()
        };
        let verb = if outcome.confirmed {
            "scaled"
        } else {
            "asked host to scale"
        };
        let mut text = format!(
            "{verb} component `{}` on host {} to {limit} max instances",
            args.component_id, outcome.host_id
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
                "max_instances": args.max_instances,
                "message": outcome.message,
                "confirmed": outcome.confirmed,
            }),
        ))
    })
}
