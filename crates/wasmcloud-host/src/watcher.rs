//! Keeps [`crate::state::LatticeState`] in step with the lattice buckets and
//! reacts to what changed: running components get their merged config
//! anew, built-in http servers re-route their links. The watch starts before
//! the initial load so nothing written in between is missed; a watch that
//! ends (a NATS reconnect) resumes from the last revision seen.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::kv;
use futures::StreamExt as _;

use crate::host::HostCtx;
use crate::state::{Change, EntryRef, LatticeState};
use crate::store::{self, StoreError};

/// Which bucket a watcher follows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bucket {
    Data,
    Config,
}

impl Bucket {
    fn store(self, ctx: &HostCtx) -> &kv::Store {
        match self {
            Self::Data => ctx.store.data_bucket(),
            Self::Config => ctx.store.config_bucket(),
        }
    }

    fn apply(self, state: &LatticeState, entry: &kv::Entry) -> Option<Change> {
        match self {
            Self::Data => state.apply_data(EntryRef::from(entry)),
            Self::Config => state.apply_config(EntryRef::from(entry)),
        }
    }
}

/// Starts watching `bucket` and loads its current entries into the state.
/// Returns the watch to hand to [`follow`].
pub(crate) async fn load(ctx: &HostCtx, bucket: Bucket) -> Result<kv::Watch, StoreError> {
    let store = bucket.store(ctx);
    let watch = store
        .watch_all()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    for entry in store::snapshot(store).await? {
        bucket.apply(&ctx.state, &entry);
    }
    Ok(watch)
}

/// Applies watched changes until the host stops.
pub(crate) async fn follow(ctx: Arc<HostCtx>, bucket: Bucket, mut watch: kv::Watch) {
    let mut stopping = ctx.shutdown.requested();
    let mut last_revision = 0;
    loop {
        let next = tokio::select! {
            next = watch.next() => next,
            _ = stopping.wait() => return,
        };
        match next {
            Some(Ok(entry)) => {
                last_revision = entry.revision;
                if let Some(change) = bucket.apply(&ctx.state, &entry) {
                    react(&ctx, change).await;
                }
            }
            Some(Err(e)) => tracing::warn!(?bucket, error = %e, "lattice bucket watch error"),
            None => {
                tracing::warn!(?bucket, "lattice bucket watch ended; resuming");
                watch = loop {
                    let resumed = bucket.store(&ctx).watch_all_from_revision(last_revision + 1).await;
                    match resumed {
                        Ok(watch) => break watch,
                        Err(e) => {
                            tracing::warn!(?bucket, error = %e, "cannot resume the bucket watch; retrying");
                            tokio::select! {
                                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                                _ = stopping.wait() => return,
                            }
                        }
                    }
                };
            }
        }
    }
}

/// Brings running components and providers in line with a change.
async fn react(ctx: &HostCtx, change: Change) {
    match change {
        Change::Links(source) => {
            if ctx.providers.contains(source.as_str()) {
                let links = ctx.state.links_from(&source);
                crate::host::route_links(ctx, &source.as_str().into(), &links).await;
            }
            crate::providers::reconcile_all(ctx).await;
        }
        Change::Config(name) => {
            for (id, running) in ctx.components.list() {
                if running.config.contains(&name) {
                    tracing::debug!(component_id = %id, config = %name, "updating component config");
                    running.component.set_config([ctx.state.merged_config(&running.config)]);
                }
            }
            for (id, provider) in ctx.providers.list() {
                let source = id.clone().into();
                let links = ctx.state.links_from(&source);
                if links.iter().any(|l| l.source_config.contains(&name)) {
                    crate::host::route_links(ctx, &id, &links).await;
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
async fn update_provider_config(
    ctx: &HostCtx,
    id: &wasmcloud_control_interface::ProviderId,
    provider: &crate::providers::RunningProvider,
) {
    if provider.process().is_none() {
        tracing::info!(provider_id = %id, "built-in provider config changed; it applies when the provider restarts");
        return;
    }
    let merged = ctx.state.merged_config(&provider.config);
    let subject = wasmcloud_control_interface::provider::subject::config_update(&ctx.config.lattice, id.as_str());
    match serde_json::to_vec(&merged) {
        Ok(payload) => {
            if let Err(e) = ctx.nats.publish(subject, payload.into()).await {
                tracing::warn!(provider_id = %id, error = %e, "cannot send a provider its new config");
            }
        }
        Err(e) => tracing::warn!(provider_id = %id, error = %e, "cannot encode a provider's config"),
    }
}
