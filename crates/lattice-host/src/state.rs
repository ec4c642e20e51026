//! The watched copy of the lattice buckets each host acts on: links by
//! source and named config. Every host applies the same bucket changes
//! in the same order, so link and config changes made through any host reach
//! all of them; a restarted host rebuilds this from the buckets.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_nats::jetstream::kv;
use lattice_control_interface::{ComponentId, ConfigName, ConfigValues, Link};

use crate::store::{COMPONENT_PREFIX, ComponentSpec};

/// One bucket entry as the state reads it: a put carries the value, a
/// delete or purge carries `None`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryRef<'a> {
    pub(crate) key: &'a str,
    pub(crate) revision: u64,
    pub(crate) value: Option<&'a [u8]>,
}

impl<'a> From<&'a kv::Entry> for EntryRef<'a> {
    fn from(entry: &'a kv::Entry) -> Self {
        Self {
            key: &entry.key,
            revision: entry.revision,
            value: (entry.operation == kv::Operation::Put).then_some(&entry.value[..]),
        }
    }
}

/// What changed in the lattice state, for the parts of the host that react.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// The links from this source changed.
    Links(ComponentId),
    /// This named config was put or deleted.
    Config(ConfigName),
}

/// A value with the bucket revision it came from, so an older value never
/// replaces a newer one (the initial load and the watch may overlap).
#[derive(Debug)]
struct Versioned<T> {
    revision: u64,
    value: Option<T>,
}

#[derive(Debug)]
struct Table<K, T> {
    entries: RwLock<HashMap<K, Versioned<T>>>,
}

impl<K: std::hash::Hash + Eq, T> Default for Table<K, T> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, T: Clone> Table<K, T> {
    /// Applies a put (`Some`) or delete (`None`); `false` when the entry is
    /// older than what is held.
    fn apply(&self, key: K, revision: u64, value: Option<T>) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.get(&key).is_some_and(|held| held.revision >= revision) {
            return false;
        }
        entries.insert(key, Versioned { revision, value });
        true
    }

    /// Every value held, in no particular order.
    fn values(&self) -> Vec<T> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.values().filter_map(|v| v.value.clone()).collect()
    }

    fn get<Q>(&self, key: &Q) -> Option<T>
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(key).and_then(|v| v.value.clone())
    }
}

/// The lattice state as this host last saw it in the buckets.
#[derive(Debug, Default)]
pub(crate) struct LatticeState {
    specs: Table<ComponentId, ComponentSpec>,
    configs: Table<ConfigName, ConfigValues>,
    targets: Arc<LinkTargets>,
}

/// Where each source's links lead, by link name and `namespace:package/interface`: what a
/// linked call looks up, so it is one hash lookup under a read lock, not a scan of specs.
#[derive(Debug, Default)]
pub(crate) struct LinkTargets {
    by_source: RwLock<HashMap<ComponentId, TargetsOf>>,
}

/// One source's link targets by (link name, `namespace:package/interface`).
type TargetsOf = HashMap<(String, String), Arc<str>>;

impl LinkTargets {
    /// The target of `source`'s link `link_name` providing `interface`.
    pub(crate) fn get(&self, source: &str, link_name: &str, interface: &str) -> Option<Arc<str>> {
        let by_source = self.by_source.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        by_source
            .get(source)?
            .get(&(link_name.to_owned(), interface.to_owned()))
            .cloned()
    }

    /// Replaces what `source`'s links lead to.
    fn set(&self, source: &ComponentId, links: &[Link]) {
        let mut targets = HashMap::new();
        for link in links {
            let target: Arc<str> = link.target.as_str().into();
            for interface in &link.interfaces {
                let name = format!("{}:{}/{interface}", link.wit_namespace, link.wit_package);
                targets.insert((link.name.to_string(), name), Arc::clone(&target));
            }
        }
        let mut by_source = self
            .by_source
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if targets.is_empty() {
            by_source.remove(source);
        } else {
            by_source.insert(source.clone(), targets);
        }
    }
}

impl LatticeState {
    /// Applies one entry of `LATTICEDATA`; returns what changed.
    pub(crate) fn apply_data(&self, entry: EntryRef<'_>) -> Option<Change> {
        if let Some(id) = entry.key.strip_prefix(COMPONENT_PREFIX) {
            let spec = if let Some(value) = entry.value {
                match serde_json::from_slice::<ComponentSpec>(value) {
                    Ok(spec) => Some(spec),
                    Err(e) => {
                        tracing::warn!(key = %entry.key, error = %e, "ignoring a component spec that does not decode");
                        return None;
                    }
                }
            } else {
                None
            };
            let id = ComponentId::new(id);
            let before = self.specs.get(&id).map(|s| s.links);
            let after = spec.as_ref().map(|s| s.links.clone());
            if self.specs.apply(id.clone(), entry.revision, spec) && before != after {
                self.targets.set(&id, after.as_deref().unwrap_or_default());
                return Some(Change::Links(id));
            }
        }
        // Claims are read from the bucket when asked for; `LINKDEF_*` and
        // `REFMAP_*` are legacy and ignored.
        None
    }

    /// Applies one entry of `CONFIGDATA`; returns what changed.
    pub(crate) fn apply_config(&self, entry: EntryRef<'_>) -> Option<Change> {
        let name = ConfigName::new(entry.key);
        let values = if let Some(value) = entry.value {
            match serde_json::from_slice::<ConfigValues>(value) {
                Ok(values) => Some(values),
                Err(e) => {
                    // Secret references and foreign values are not config maps.
                    tracing::debug!(key = %entry.key, error = %e, "config entry is not a string map");
                    None
                }
            }
        } else {
            None
        };
        self.configs
            .apply(name.clone(), entry.revision, values)
            .then_some(Change::Config(name))
    }

    /// Where links lead, kept in step with the specs.
    pub(crate) fn link_targets(&self) -> &Arc<LinkTargets> {
        &self.targets
    }

    /// The links whose source is `source`.
    pub(crate) fn links_from(&self, source: &ComponentId) -> Vec<Link> {
        self.specs.get(source).map(|s| s.links).unwrap_or_default()
    }

    /// The links whose source or target is `id`.
    pub(crate) fn links_involving(&self, id: &str) -> Vec<Link> {
        self.specs
            .values()
            .into_iter()
            .flat_map(|spec| spec.links)
            .filter(|link| link.source_id == id || link.target == id)
            .collect()
    }

    /// A named config, if known.
    pub(crate) fn config(&self, name: &ConfigName) -> Option<ConfigValues> {
        self.configs.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(key: &'a str, revision: u64, value: Option<&'a str>) -> EntryRef<'a> {
        EntryRef {
            key,
            revision,
            value: value.map(str::as_bytes),
        }
    }

    const LINK: &str = r#"{"url":"u","links":[{"source_id":"p","target":"c","wit_namespace":"wasi","wit_package":"http","interfaces":["incoming-handler"]}]}"#;

    #[test]
    fn links_follow_the_bucket_and_ignore_stale_entries() {
        let state = LatticeState::default();
        assert_eq!(
            state.apply_data(entry("COMPONENT_p", 2, Some(LINK))),
            Some(Change::Links(ComponentId::new("p")))
        );
        assert_eq!(state.links_from(&ComponentId::new("p")).len(), 1);
        let targets = state.link_targets();
        assert_eq!(
            targets.get("p", "default", "wasi:http/incoming-handler").as_deref(),
            Some("c")
        );
        assert_eq!(targets.get("p", "other", "wasi:http/incoming-handler"), None);
        assert_eq!(targets.get("p", "default", "wasi:http/outgoing-handler"), None);
        assert_eq!(state.links_involving("c").len(), 1);
        assert_eq!(state.links_involving("p").len(), 1);
        assert!(state.links_involving("x").is_empty());
        // An older revision arriving late changes nothing.
        assert_eq!(
            state.apply_data(entry("COMPONENT_p", 1, Some(r#"{"url":"u","links":[]}"#))),
            None
        );
        assert_eq!(state.links_from(&ComponentId::new("p")).len(), 1);
        assert_eq!(
            state.apply_data(entry("COMPONENT_p", 3, None)),
            Some(Change::Links(ComponentId::new("p")))
        );
        assert!(state.links_from(&ComponentId::new("p")).is_empty());
        assert_eq!(targets.get("p", "default", "wasi:http/incoming-handler"), None);
        assert_eq!(state.apply_data(entry("LINKDEF_legacy", 4, Some("{}"))), None);
    }

    #[test]
    fn configs_follow_the_bucket() {
        let state = LatticeState::default();
        state.apply_config(entry("a", 1, Some(r#"{"k":"a","x":"1"}"#)));
        assert_eq!(state.config(&ConfigName::new("a")).unwrap()["x"], "1");
        state.apply_config(entry("a", 3, None));
        assert_eq!(state.config(&ConfigName::new("a")), None);
    }
}
