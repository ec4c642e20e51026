//! Link operations: `link.put`, `link.del`, `link.get`. Links live in the
//! source's spec in `LATTICEDATA`; every host learns of changes through its
//! bucket watch, so only the host that answered emits the event.

use lattice_control_interface::events::data::{LinkdefDeleted, LinkdefSetFailed};
use lattice_control_interface::{CtlResponse, DeleteInterfaceLinkDefinitionRequest, LatticeEvent, Link};

use super::{CtlError, decode, done};
use crate::events::Events;
use crate::host::HostCtx;
use crate::store::{LatticeStore, StoreError};

/// Whether two links have the same identity: source, namespace, package and
/// name.
fn same_identity(a: &Link, b: &Link) -> bool {
    a.source_id == b.source_id
        && a.wit_namespace == b.wit_namespace
        && a.wit_package == b.wit_package
        && a.name == b.name
}

/// Puts `link` into `links`: a link with the same identity and target is
/// replaced; one with the same identity, another target and an interface in
/// common is a conflict.
pub(crate) fn merge_link(links: &mut Vec<Link>, link: &Link) -> Result<(), String> {
    if let Some(existing) = links.iter().find(|l| {
        same_identity(l, link) && l.target != link.target && l.interfaces.iter().any(|i| link.interfaces.contains(i))
    }) {
        return Err(format!(
            "link already exists with different target {}: delete the existing link first or use a different link name",
            existing.target
        ));
    }
    links.retain(|l| !(same_identity(l, link) && l.target == link.target));
    links.push(link.clone());
    Ok(())
}

/// Checks a link before it is stored.
async fn validate(store: &LatticeStore, link: &Link) -> Result<(), String> {
    let token_ok = lattice_control_interface::subject::is_valid_token;
    if !token_ok(link.source_id.as_str()) || !token_ok(link.target.as_str()) {
        return Err("link source_id and target must be non-empty ids without `.`, `*`, `>` or spaces".to_owned());
    }
    if link.wit_namespace.is_empty() || link.wit_package.is_empty() {
        return Err("link needs a wit_namespace and a wit_package".to_owned());
    }
    for name in link.source_config.iter().chain(&link.target_config) {
        if name.is_secret() {
            return Err(format!(
                "link refers to secret {name}, but this host does not support secrets yet: pass plain config names"
            ));
        }
        match store.config(name).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return Err(format!(
                    "failed to validate configuration: configuration {name} not found in config store, put it with config.put first"
                ));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

/// `link.put`.
pub(super) async fn put(store: &LatticeStore, events: &Events, payload: &[u8]) -> Result<CtlResponse<()>, CtlError> {
    let link: Link = decode(payload, "put link")?;
    let stored = match validate(store, &link).await {
        Ok(()) => store
            .update_spec(&link.source_id, |spec| {
                merge_link(&mut spec.links, &link).map_err(StoreError::Rejected)
            })
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    if let Err(error) = stored {
        events
            .publish(LatticeEvent::LinkdefSetFailed(LinkdefSetFailed {
                link,
                error: error.clone(),
            }))
            .await;
        return Err(CtlError::InvalidLink(error));
    }
    events.publish(LatticeEvent::LinkdefSet(link)).await;
    Ok(done("successfully set link"))
}

/// `link.del`: idempotent; always announces `linkdef_deleted`.
pub(super) async fn delete(ctx: &HostCtx, payload: &[u8]) -> Result<CtlResponse<()>, CtlError> {
    let request: DeleteInterfaceLinkDefinitionRequest = decode(payload, "delete link")?;
    let matches = |l: &Link| {
        l.source_id == request.source_id
            && l.wit_namespace == request.wit_namespace
            && l.wit_package == request.wit_package
            && l.name == request.name
    };
    let exists = ctx.store.component_spec(&request.source_id).await?.is_some();
    let removed = if exists {
        ctx.store
            .update_spec(&request.source_id, |spec| {
                let (gone, kept) = std::mem::take(&mut spec.links).into_iter().partition(|l| matches(l));
                spec.links = kept;
                Ok::<Vec<Link>, StoreError>(gone)
            })
            .await?
    } else {
        Vec::new()
    };
    // Upstream hosts rely on the answering host to tell providers, wherever they run.
    crate::providers::announce_deleted(ctx, &removed).await;
    let first = removed.first();
    ctx.events
        .publish(LatticeEvent::LinkdefDeleted(LinkdefDeleted {
            interfaces: first.map(|l| l.interfaces.clone()),
            name: request.name.clone(),
            source_id: request.source_id.clone(),
            target: first.map(|l| l.target.clone()),
            wit_namespace: request.wit_namespace.clone(),
            wit_package: request.wit_package.clone(),
        }))
        .await;
    Ok(done(if exists {
        "successfully deleted link"
    } else {
        "successfully deleted link (spec doesn't exist)"
    }))
}

/// `link.get`: every link in the lattice, read from the bucket.
pub(super) async fn get(store: &LatticeStore) -> Result<CtlResponse<Vec<Link>>, CtlError> {
    let specs = store.component_specs().await?;
    Ok(CtlResponse::ok(
        specs.into_iter().flat_map(|(_, spec)| spec.links).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use lattice_control_interface::{ComponentId, LinkName};

    use super::*;

    fn link(target: &str, name: &str, interfaces: &[&str]) -> Link {
        Link {
            source_id: ComponentId::new("src"),
            target: ComponentId::new(target),
            name: LinkName::new(name),
            wit_namespace: "wasi".into(),
            wit_package: "keyvalue".into(),
            interfaces: interfaces.iter().map(|i| (*i).to_owned()).collect(),
            ..Link::default()
        }
    }

    #[test]
    fn same_target_replaces() {
        let mut links = vec![link("redis", "default", &["store"])];
        merge_link(&mut links, &link("redis", "default", &["store", "atomics"])).unwrap();
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].interfaces, ["store", "atomics"]);
    }

    #[test]
    fn other_target_with_overlap_is_rejected() {
        let mut links = vec![link("redis", "default", &["store"])];
        let err = merge_link(&mut links, &link("nats", "default", &["store"])).unwrap_err();
        assert!(err.contains("different target redis"), "{err}");
        assert_eq!(links.len(), 1);
    }

    #[test]
    fn other_name_or_disjoint_interfaces_coexist() {
        let mut links = vec![link("redis", "default", &["store"])];
        merge_link(&mut links, &link("nats", "cache", &["store"])).unwrap();
        merge_link(&mut links, &link("nats", "default", &["atomics"])).unwrap();
        assert_eq!(links.len(), 3);
    }
}
