//! Bringing what runs on this host in line with the lattice: named config resolved and merged
//! (the one place configs are merged: later names win), running components given their
//! config, built-in http servers routed, and provider processes told their links and config,
//! whenever the watched buckets change.

use std::collections::BTreeMap;

use lattice_control_interface::{ConfigName, Link, ProviderId};

use crate::host::HostCtx;
use crate::state::Change;

/// The named configs merged in order, read from the bucket (so config put
/// through another host a moment ago is seen), falling back to the watched
/// copy when the bucket cannot be read.
pub(crate) async fn resolve_config(ctx: &HostCtx, names: &[ConfigName]) -> BTreeMap<String, String> {
    let mut maps = Vec::with_capacity(names.len());
    for name in names {
        let values = match ctx.store.config(name).await {
            Ok(values) => values,
            Err(e) => {
                tracing::warn!(config = %name, error = %e, "reading config from the watched copy");
                ctx.state.config(name)
            }
        };
        match values {
            Some(values) => maps.push(values),
            None => tracing::warn!(config = %name, "named config not found; ignoring it"),
        }
    }
    lattice_runtime::host::config::merge(maps)
}

/// Routes the http links of built-in provider `provider` as `links` say.
pub(crate) async fn route_links(ctx: &HostCtx, provider: &ProviderId, links: &[Link]) {
    let mut configs = Vec::new();
    for link in links {
        configs.push(resolve_config(ctx, &link.source_config).await);
    }
    ctx.http.reconcile(provider, links, |link| {
        links
            .iter()
            .position(|l| l == link)
            .and_then(|i| configs.get(i).cloned())
            .unwrap_or_default()
    });
}

/// Brings running components and providers in line with a change.
pub(crate) async fn react(ctx: &HostCtx, change: Change) {
    match change {
        Change::Links(source) => {
            if ctx.providers.contains(source.as_str()) {
                let links = ctx.state.links_from(&source);
                route_links(ctx, &source.as_str().into(), &links).await;
            }
            crate::providers::reconcile_all(ctx).await;
        }
        Change::Config(name) => {
            for (id, running) in ctx.components.list() {
                if running.config.contains(&name) {
                    tracing::debug!(component_id = %id, config = %name, "updating component config");
                    running
                        .component
                        .set_config([resolve_config(ctx, &running.config).await]);
                }
            }
            for (id, provider) in ctx.providers.list() {
                let source = id.clone().into();
                let links = ctx.state.links_from(&source);
                if links.iter().any(|l| l.source_config.contains(&name)) {
                    route_links(ctx, &id, &links).await;
                }
                if provider.config.contains(&name) {
                    update_provider_config(ctx, &id, &provider).await;
                }
            }
            // Links whose source or target config names it carry its values.
            crate::providers::reconcile_all(ctx).await;
        }
    }
}

/// Sends a provider process its merged config after one of its named configs changed; a
/// built-in's config applies when it restarts.
async fn update_provider_config(ctx: &HostCtx, id: &ProviderId, provider: &crate::providers::RunningProvider) {
    if provider.process().is_none() {
        tracing::info!(provider_id = %id, "built-in provider config changed; it applies when the provider restarts");
        return;
    }
    let merged = resolve_config(ctx, &provider.config).await;
    let subject = lattice_control_interface::provider::subject::config_update(&ctx.config.lattice, id.as_str());
    match serde_json::to_vec(&merged) {
        Ok(payload) => {
            if let Err(e) = ctx.nats.publish(subject, payload.into()).await {
                tracing::warn!(provider_id = %id, error = %e, "cannot send a provider its new config");
            }
        }
        Err(e) => tracing::warn!(provider_id = %id, error = %e, "cannot encode a provider's config"),
    }
}
