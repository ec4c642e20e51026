//! Host-level operations: `host.ping`, `host.stop`, `label.put`, `label.del`.

use std::time::Duration;

use lattice_control_interface::events::data::LabelsChanged;
use lattice_control_interface::{CtlResponse, Host, HostLabel, HostLabelIdentifier, LatticeEvent, StopHostCommand};

use super::{CtlError, decode, done};
use crate::config::DEFAULT_SHUTDOWN_TIMEOUT;
use crate::events::Events;
use crate::host::HostCtx;
use crate::labels::Labels;

/// The `host.ping` answer.
pub(super) fn ping(ctx: &HostCtx) -> Host {
    let id = &ctx.identity;
    Host {
        id: id.host_id.clone(),
        friendly_name: id.friendly_name.clone(),
        labels: ctx.labels.snapshot(),
        lattice: ctx.config.lattice.clone(),
        uptime_seconds: id.started.elapsed().as_secs(),
        uptime_human: Some(crate::heartbeat::human_duration(id.started.elapsed())),
        version: Some(id.version.clone()),
        ctl_host: Some(ctx.config.nats_url.clone()),
        rpc_host: Some(ctx.config.nats_url.clone()),
        js_domain: ctx.config.js_domain.clone(),
    }
}

/// `host.stop`: answers, then stops with the requested deadline.
pub(super) fn stop(ctx: &HostCtx, payload: &[u8]) -> Result<CtlResponse<()>, CtlError> {
    // An empty payload stops with the default timeout.
    let timeout = if payload.is_empty() {
        None
    } else {
        decode::<StopHostCommand>(payload, "stop host")?.timeout
    };
    let timeout = timeout.map_or(DEFAULT_SHUTDOWN_TIMEOUT, Duration::from_millis);
    tracing::info!(?timeout, "stop requested over the control interface");
    ctx.shutdown.request(tokio::time::Instant::now() + timeout);
    Ok(done("successfully handled stop host"))
}

/// `label.put`.
pub(super) async fn put_label(labels: &Labels, events: &Events, payload: &[u8]) -> Result<CtlResponse<()>, CtlError> {
    let label: HostLabel = decode(payload, "put label")?;
    let changed = labels.put(&label.key, &label.value)?;
    announce(events, changed).await;
    Ok(done("successfully put label"))
}

/// `label.del`.
pub(super) async fn delete_label(
    labels: &Labels,
    events: &Events,
    payload: &[u8],
) -> Result<CtlResponse<()>, CtlError> {
    let label: HostLabelIdentifier = decode(payload, "delete label")?;
    let Some(changed) = labels.delete(&label.key)? else {
        return Ok(done("successfully deleted label (no such label)"));
    };
    announce(events, changed).await;
    Ok(done("successfully deleted label"))
}

async fn announce(events: &Events, labels: std::collections::BTreeMap<String, String>) {
    events
        .publish(LatticeEvent::LabelsChanged(LabelsChanged {
            host_id: events.host_id().clone(),
            labels,
        }))
        .await;
}
