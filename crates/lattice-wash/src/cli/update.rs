//! `wash update component`: replace a running component's image.

use clap::{Args, Subcommand};
use lattice_control_interface::{ComponentId, HostId};
use lattice_wash::lattice::resolve_reference;
use serde_json::json;

use super::Output;
use super::conn::{CliConnectionOpts, block_on, wait};

#[derive(Debug, Subcommand)]
pub(crate) enum UpdateCommand {
    /// Load a running component from a new reference, keeping its ID.
    Component(UpdateComponentArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UpdateComponentArgs {
    /// The running component's ID.
    component_id: String,
    /// The reference to load the new version from (a local .wasm file, `file://…` or OCI).
    new_component_ref: String,
    /// The host it runs on [default: found from the inventories].
    #[arg(long)]
    host_id: Option<String>,
    /// Return once the host acknowledges, without waiting for the new version to run
    /// (an update to the reference already running never waits).
    #[arg(long)]
    skip_wait: bool,
    /// How long to wait for the new version to run, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    wait_timeout_ms: u64,
    #[command(flatten)]
    conn: CliConnectionOpts,
}

pub(crate) fn run(cmd: UpdateCommand) -> anyhow::Result<Output> {
    let UpdateCommand::Component(mut args) = cmd;
    args.new_component_ref = resolve_reference(&args.new_component_ref);
    block_on(async move {
        let lattice = args.conn.connect().await?;
        let host_id = args.host_id.map(HostId::new);
        let id = ComponentId::new(args.component_id.clone());
        // A host announces nothing when the reference it already runs still names the same
        // content, so a reload of the running reference has no outcome to wait for.
        let (_, running_ref) = lattice.find_component(&id, host_id.as_ref()).await?;
        let wait = wait(args.skip_wait, args.wait_timeout_ms).filter(|_| running_ref != args.new_component_ref);
        let (done, old_ref) = lattice
            .update_component(&id, &args.new_component_ref, host_id.as_ref(), wait)
            .await?;
        let text = if done.message.is_empty() {
            format!(
                "updating component `{id}` on host {} from {old_ref} to {}",
                done.host_id, args.new_component_ref
            )
        } else {
            done.message.clone()
        };
        Ok(Output::new(
            text,
            json!({
                "success": true,
                "component_id": args.component_id,
                "old_component_ref": old_ref,
                "new_component_ref": args.new_component_ref,
                "host_id": done.host_id,
                "message": done.message,
            }),
        ))
    })
}
