//! Telling provider processes about their links. A provider learns the links it is the
//! source or target of from its host data, then from link puts (to its curve key's subject)
//! and deletions (to its id's subject). Each host keeps what it last told each of its
//! provider processes and, whenever links or their config change, sends only the
//! difference, so every host converges on the bucket whichever host changed it.

use std::collections::BTreeMap;

use lattice_control_interface::provider::{InterfaceLinkDefinition, subject};
use lattice_control_interface::{ComponentId, Link, LinkName, ProviderId};

use super::ProviderProcess;
use crate::host::HostCtx;

/// Identifies a link as a provider sees it.
pub(super) type LinkKey = (ComponentId, ComponentId, LinkName, String, String);

pub(super) fn key(link: &InterfaceLinkDefinition) -> LinkKey {
    (
        link.source_id.clone(),
        link.target.clone(),
        link.name.clone(),
        link.wit_namespace.clone(),
        link.wit_package.clone(),
    )
}

/// The links provider `id` is the source or target of, with their config resolved.
pub(super) async fn desired(ctx: &HostCtx, id: &ProviderId) -> BTreeMap<LinkKey, InterfaceLinkDefinition> {
    let mut links = BTreeMap::new();
    for link in ctx.state.links_involving(id.as_str()) {
        let resolved = InterfaceLinkDefinition {
            source_config: crate::reconcile::resolve_config(ctx, &link.source_config)
                .await
                .into_iter()
                .collect(),
            target_config: crate::reconcile::resolve_config(ctx, &link.target_config)
                .await
                .into_iter()
                .collect(),
            ..provider_view(&link)
        };
        links.insert(key(&resolved), resolved);
    }
    links
}

/// A control-interface link as a provider sees it, without config.
fn provider_view(link: &Link) -> InterfaceLinkDefinition {
    InterfaceLinkDefinition {
        source_id: link.source_id.clone(),
        target: link.target.clone(),
        name: link.name.clone(),
        wit_namespace: link.wit_namespace.clone(),
        wit_package: link.wit_package.clone(),
        interfaces: link.interfaces.clone(),
        ..InterfaceLinkDefinition::default()
    }
}

/// Brings what every provider process here knows of its links in line with the lattice.
pub(crate) async fn reconcile_all(ctx: &HostCtx) {
    for (id, process) in ctx.providers.processes() {
        reconcile(ctx, &id, &process).await;
    }
}

/// Sends provider `id` the links it is missing or that changed, and the deletions of those
/// that are gone.
pub(super) async fn reconcile(ctx: &HostCtx, id: &ProviderId, process: &ProviderProcess) {
    let _one_at_a_time = process.reconcile_lock().lock().await;
    let desired = desired(ctx, id).await;
    let (puts, deletes, put_key) = process.link_changes(desired);
    let lattice = &ctx.config.lattice;
    for link in puts {
        tracing::debug!(provider_id = %id, source_id = %link.source_id, target = %link.target, "telling provider about a link");
        publish(ctx, subject::link_put(lattice, &put_key), &link).await;
    }
    for link in deletes {
        tracing::debug!(provider_id = %id, source_id = %link.source_id, target = %link.target, "telling provider a link is gone");
        publish(ctx, subject::link_del(lattice, id.as_str()), &link).await;
    }
}

/// After `link.del`, tells the deleted links' sources and targets on their id subjects, as
/// upstream hosts do: providers on any host, ours or upstream's, hear of it.
pub(crate) async fn announce_deleted(ctx: &HostCtx, links: &[Link]) {
    let lattice = &ctx.config.lattice;
    for link in links {
        let gone = provider_view(link);
        publish(ctx, subject::link_del(lattice, link.source_id.as_str()), &gone).await;
        publish(ctx, subject::link_del(lattice, link.target.as_str()), &gone).await;
    }
}

async fn publish(ctx: &HostCtx, subject: String, link: &InterfaceLinkDefinition) {
    let payload = match serde_json::to_vec(link) {
        Ok(payload) => payload,
        Err(e) => {
            tracing::warn!(%subject, error = %e, "cannot encode a link for a provider");
            return;
        }
    };
    if let Err(e) = ctx.nats.publish(subject.clone(), payload.into()).await {
        tracing::warn!(%subject, error = %e, "cannot tell a provider about a link");
    }
}
