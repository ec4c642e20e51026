//! Capability providers running on this host. Only the built-in ones exist
//! so far (`wasmcloud+builtin://http-server`); external provider processes
//! come later.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use wasmcloud_control_interface::{ConfigName, ProviderDescription, ProviderId};

/// The reference of the built-in HTTP server provider.
pub(crate) const HTTP_SERVER_REF: &str = "wasmcloud+builtin://http-server";

/// A provider built into the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// `wasmcloud+builtin://http-server`: serves `wasi:http/incoming-handler`
    /// of linked components through the ingress.
    HttpServer,
}

impl Builtin {
    /// The built-in a reference names, if it names one.
    pub(crate) fn from_ref(reference: &str) -> Option<Self> {
        (reference == HTTP_SERVER_REF).then_some(Self::HttpServer)
    }

    /// The name inventories show.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::HttpServer => "http-server",
        }
    }
}

/// One running provider.
#[derive(Debug)]
pub(crate) struct RunningProvider {
    pub(crate) image_ref: String,
    pub(crate) builtin: Builtin,
    pub(crate) annotations: BTreeMap<String, String>,
    /// Named configs, merged in order into the provider's config.
    pub(crate) config: Vec<ConfigName>,
}

impl RunningProvider {
    pub(crate) fn describe(&self, id: &ProviderId) -> ProviderDescription {
        ProviderDescription {
            id: id.clone(),
            image_ref: Some(self.image_ref.clone()),
            name: Some(self.builtin.name().to_owned()),
            revision: 0,
            annotations: (!self.annotations.is_empty()).then(|| self.annotations.clone()),
        }
    }
}

/// The providers running here, by id.
#[derive(Debug, Default)]
pub(crate) struct Providers {
    table: RwLock<HashMap<ProviderId, Arc<RunningProvider>>>,
}

impl Providers {
    pub(crate) fn get(&self, id: &str) -> Option<Arc<RunningProvider>> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Adds a provider unless one with that id runs; `false` if it does.
    pub(crate) fn insert(&self, id: ProviderId, provider: RunningProvider) -> bool {
        let mut table = self.table.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if table.contains_key(&id) {
            return false;
        }
        table.insert(id, Arc::new(provider));
        true
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<RunningProvider>> {
        self.table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id)
    }

    /// Every running provider, ordered by id.
    pub(crate) fn list(&self) -> Vec<(ProviderId, Arc<RunningProvider>)> {
        let table = self.table.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut all: Vec<_> = table.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_http_server_is_built_in() {
        assert_eq!(Builtin::from_ref(HTTP_SERVER_REF), Some(Builtin::HttpServer));
        assert_eq!(Builtin::from_ref("wasmcloud+builtin://messaging-nats"), None);
        assert_eq!(Builtin::from_ref("ghcr.io/wasmcloud/http-server:0.23"), None);
    }

    #[test]
    fn a_provider_id_runs_once() {
        let providers = Providers::default();
        let make = || RunningProvider {
            image_ref: HTTP_SERVER_REF.into(),
            builtin: Builtin::HttpServer,
            annotations: BTreeMap::new(),
            config: Vec::new(),
        };
        assert!(providers.insert(ProviderId::new("http"), make()));
        assert!(!providers.insert(ProviderId::new("http"), make()));
        assert_eq!(providers.list().len(), 1);
        assert!(providers.remove("http").is_some());
        assert!(!providers.contains("http"));
    }
}
