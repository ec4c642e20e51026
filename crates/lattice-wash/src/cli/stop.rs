//! `wash stop component|provider|host`: stop a workload (finding its host
//! from the inventories when not given) or a whole host.

use std::time::Duration;

use clap::{Args, Subcommand};
use lattice_control_interface::{ComponentId, HostId, ProviderId};
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on, wait};

#[derive(Debug, Subcommand)]
pub(crate) enum StopCommand {
    /// Stop a component (scale it to 0) and wait for `component_scaled`.
    Component(StopWorkloadArgs),
    /// Stop a provider and wait for `provider_stopped`.
    Provider(StopWorkloadArgs),
    /// Ask a host to shut down.
    Host(StopHostArgs),
}

#[derive(Debug, Args)]
pub(crate) struct StopWorkloadArgs {
    /// The component's or provider's ID.
    id: String,
    /// The host it runs on [default: found from the inventories].
    #[arg(long)]
    host_id: Option<String>,
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
pub(crate) struct StopHostArgs {
    /// The host's ID (see `wash get hosts`).
    host_id: String,
    /// How long the host may take to stop its workloads, in milliseconds [default: the host's own].
    #[arg(long = "host-timeout")]
    host_timeout_ms: Option<u64>,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

pub(crate) fn run(cmd: StopCommand) -> anyhow::Result<Output> {
    block_on(async move {
        match cmd {
            StopCommand::Component(args) => {
                let lattice = args.conn.connect().await?;
                let host_id = args.host_id.map(HostId::new);
                let id = ComponentId::new(args.id.clone());
                let outcome = lattice
                    .stop_component(&id, host_id.as_ref(), wait(args.skip_wait, args.wait_timeout_ms))
                    .await?;
                let verb = if outcome.confirmed {
                    "stopped"
                } else {
                    "asked host to stop"
                };
                Ok(Output::new(
                    format!("{verb} component `{id}` on host {}", outcome.host_id),
                    json!({ "success": true, "component_id": id, "host_id": outcome.host_id, "message": outcome.message }),
                ))
            }
            StopCommand::Provider(args) => {
                let lattice = args.conn.connect().await?;
                let host_id = args.host_id.map(HostId::new);
                let id = ProviderId::new(args.id.clone());
                let done = lattice
                    .stop_provider(&id, host_id.as_ref(), wait(args.skip_wait, args.wait_timeout_ms))
                    .await?;
                let verb = if args.skip_wait {
                    "asked host to stop"
                } else {
                    "stopped"
                };
                Ok(Output::new(
                    format!("{verb} provider `{id}` on host {}", done.host_id),
                    json!({ "success": true, "provider_id": id, "host_id": done.host_id, "message": done.message }),
                ))
            }
            StopCommand::Host(args) => {
                let lattice = args.conn.connect().await?;
                let host_id = HostId::new(args.host_id.clone());
                let message = lattice
                    .client()
                    .stop_host(&host_id, args.host_timeout_ms.map(Duration::from_millis))
                    .await
                    .map_err(|e| lattice.host_error(e, &host_id))?;
                Ok(Output::new(
                    format!("asked host {host_id} to stop"),
                    json!({ "success": true, "host_id": host_id, "message": message }),
                ))
            }
        }
    })
}
