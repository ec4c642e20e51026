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
use crate::store::{self, LatticeStore, StoreError};

/// Which bucket a watcher follows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bucket {
    Data,
    Config,
}

impl Bucket {
    fn store(self, store: &LatticeStore) -> &kv::Store {
        match self {
            Self::Data => store.data_bucket(),
            Self::Config => store.config_bucket(),
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
pub(crate) async fn load(store: &LatticeStore, state: &LatticeState, bucket: Bucket) -> Result<kv::Watch, StoreError> {
    let store = bucket.store(store);
    let watch = store
        .watch_all()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    for entry in store::snapshot(store).await? {
        bucket.apply(state, &entry);
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
                    crate::reconcile::react(&ctx, change).await;
                }
            }
            Some(Err(e)) => tracing::warn!(?bucket, error = %e, "lattice bucket watch error"),
            None => {
                tracing::warn!(?bucket, "lattice bucket watch ended; resuming");
                watch = loop {
                    let resumed = bucket
                        .store(&ctx.store)
                        .watch_all_from_revision(last_revision + 1)
                        .await;
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
