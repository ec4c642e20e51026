//! Host-level operations: `host.ping`, `host.stop`, `label.put`, `label.del`, `registry.put`.

use std::time::Duration;

use lattice_control_interface::events::data::LabelsChanged;
use lattice_control_interface::{
    CtlResponse, Host, HostLabel, HostLabelIdentifier, LatticeEvent, RegistryCredential, RegistryCredentialMap,
    StopHostCommand,
};

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

/// `registry.put`: keeps the credentials for the registries named (adding to, or replacing,
/// what the host had for them) and uses them for every later pull. They are never logged: only
/// the registries' names are.
pub(super) fn put_registries(ctx: &HostCtx, payload: &[u8]) -> Result<CtlResponse<()>, CtlError> {
    let map: RegistryCredentialMap = decode(payload, "put registries")?;
    let mut kept = Vec::new();
    let credentials: Vec<(String, lattice_oci::Credential)> = map
        .into_iter()
        .filter_map(|(registry, credential)| {
            let converted = oci_credential(&credential);
            if converted.is_none() {
                tracing::warn!(%registry, registry_type = %credential.registry_type, "registry.put: no usable credential for this registry (an OCI registry needs a user name and password, or a token); ignored");
            }
            converted.map(|c| {
                kept.push(registry.clone());
                (registry, c)
            })
        })
        .collect();
    ctx.oci.put_credentials(credentials);
    tracing::info!(registries = ?kept, "registry credentials updated");
    Ok(done("successfully put registries"))
}

/// The credential a `registry.put` entry gives, when it is a usable one for an OCI registry.
fn oci_credential(credential: &RegistryCredential) -> Option<lattice_oci::Credential> {
    if !credential.registry_type.eq_ignore_ascii_case("oci") {
        return None;
    }
    if let Some(token) = credential.token.clone().filter(|t| !t.is_empty()) {
        return Some(lattice_oci::Credential::Bearer(token));
    }
    Some(lattice_oci::Credential::Basic {
        username: credential.username.clone()?,
        password: credential.password.clone()?,
    })
}
