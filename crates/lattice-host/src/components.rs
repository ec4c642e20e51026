//! The table of components running on this host, and the wRPC servers of their exports. The
//! ingress and the wRPC server read it on every request (a read lock and an `Arc` clone), the
//! control interface replaces entries when components are scaled or updated.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use lattice_control_interface::{ComponentDescription, ComponentId, ConfigName};
use tokio::sync::Semaphore;

use crate::ingress::ComponentLookup;
use crate::rpc;

/// One running component.
#[derive(Debug)]
pub(crate) struct RunningComponent {
    /// The reference it was loaded from.
    pub(crate) image_ref: String,
    /// The loaded component.
    pub(crate) component: lattice_runtime::Component,
    /// How many invocations may run at once; `u32::MAX` is unbounded.
    pub(crate) max_instances: u32,
    /// Enforces `max_instances` (the component holds it too); `None` when unbounded.
    pub(crate) permits: Option<Arc<Semaphore>>,
    /// Annotations from the scale request.
    pub(crate) annotations: BTreeMap<String, String>,
    /// Named configs, merged in order into the component's config.
    pub(crate) config: Vec<ConfigName>,
    /// Limits from the scale request, reported in the inventory.
    pub(crate) limits: Option<BTreeMap<String, String>>,
}

impl RunningComponent {
    /// The semaphore for `max_instances` (none when unbounded).
    pub(crate) fn permits_for(max_instances: u32) -> Option<Arc<Semaphore>> {
        let permits = usize::try_from(max_instances).ok()?;
        (max_instances != u32::MAX && permits <= Semaphore::MAX_PERMITS).then(|| Arc::new(Semaphore::new(permits)))
    }

    /// The inventory entry.
    pub(crate) fn describe(&self, id: &ComponentId) -> ComponentDescription {
        let claims = self.component.claims().and_then(|t| t.claims.metadata.as_ref());
        ComponentDescription {
            id: id.clone(),
            image_ref: self.image_ref.clone(),
            name: claims.and_then(|c| c.name.clone()),
            // Upstream writes the map even when it is empty.
            annotations: Some(self.annotations.clone()),
            revision: claims.and_then(|c| c.rev).unwrap_or(0),
            max_instances: self.max_instances,
            limits: self.limits.clone(),
            active_instances: Some(self.component.active_instances()),
        }
    }
}

/// The components running here, by id.
#[derive(Debug, Default)]
pub(crate) struct Components {
    table: RwLock<HashMap<ComponentId, Arc<RunningComponent>>>,
    /// One lock per component id, so scale and update requests for the same
    /// component apply one after another while others proceed.
    op_locks: Mutex<HashMap<ComponentId, Arc<tokio::sync::Mutex<()>>>>,
    /// The wRPC servers of running components' exports.
    servers: Mutex<HashMap<ComponentId, rpc::Server>>,
}

impl Components {
    pub(crate) fn get(&self, id: &str) -> Option<Arc<RunningComponent>> {
        self.read().get(id).cloned()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.read().contains_key(id)
    }

    /// Puts `running` in place of whatever ran under `id`; returns the
    /// replaced entry.
    pub(crate) fn insert(&self, id: ComponentId, running: RunningComponent) -> Option<Arc<RunningComponent>> {
        self.write().insert(id, Arc::new(running))
    }

    /// Takes `id` out of the table and stops serving its exports; calls already running
    /// finish.
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<RunningComponent>> {
        self.lock_servers().remove(id);
        self.write().remove(id)
    }

    /// Serves `id`'s exports with `server` from now on, replacing (and so stopping) the one
    /// that served them before.
    pub(crate) fn set_server(&self, id: ComponentId, server: rpc::Server) {
        let replaced = self.lock_servers().insert(id, server);
        drop(replaced);
    }

    fn lock_servers(&self) -> std::sync::MutexGuard<'_, HashMap<ComponentId, rpc::Server>> {
        self.servers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every running component, ordered by id.
    pub(crate) fn list(&self) -> Vec<(ComponentId, Arc<RunningComponent>)> {
        let mut all: Vec<_> = self.read().iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The lock serialising operations on `id`.
    pub(crate) fn op_lock(&self, id: &ComponentId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.op_locks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Drop locks nobody holds or waits for, so the map stays small.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        Arc::clone(locks.entry(id.clone()).or_default())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<ComponentId, Arc<RunningComponent>>> {
        self.table.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<ComponentId, Arc<RunningComponent>>> {
        self.table.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ComponentLookup for Components {
    fn lookup(&self, component_id: &str) -> Option<lattice_runtime::Component> {
        self.read().get(component_id).map(|c| c.component.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_follow_max_instances() {
        assert!(RunningComponent::permits_for(u32::MAX).is_none());
        assert_eq!(RunningComponent::permits_for(3).unwrap().available_permits(), 3);
    }

    #[test]
    fn op_locks_are_per_component() {
        let components = Components::default();
        let a = components.op_lock(&ComponentId::new("a"));
        let a_again = components.op_lock(&ComponentId::new("a"));
        let b = components.op_lock(&ComponentId::new("b"));
        assert!(Arc::ptr_eq(&a, &a_again));
        assert!(!Arc::ptr_eq(&a, &b));
    }
}
