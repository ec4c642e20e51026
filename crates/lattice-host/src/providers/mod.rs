//! Capability providers running on this host: the built-in http-server
//! (`wasmcloud+builtin://http-server`, served by the host's own ingress) and provider
//! processes started from a `file://` executable or provider archive. A process gets its
//! host data on stdin, is health-checked, restarted when it dies, told about its links as
//! they change, and asked to shut down before it is stopped.

mod host_data;
mod links;
mod process;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use lattice_claims::jwt::{CapabilityProvider, Token};
use lattice_control_interface::{ConfigName, ProviderDescription, ProviderId};

pub(crate) use links::{announce_deleted, reconcile_all};
pub(crate) use process::ProviderProcess;

/// The reference of the built-in HTTP server provider.
pub(crate) const HTTP_SERVER_REF: &str = "wasmcloud+builtin://http-server";

/// The scheme of references to built-in providers.
pub(crate) const BUILTIN_SCHEME: &str = "wasmcloud+builtin://";

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

/// A provider reference as upstream hosts spell it in inventories, events and
/// the provider's spec: without the `wasmcloud+builtin://`, `file://` or
/// `oci://` scheme (`http-server`, `/path/to/kv.par`). Tools that compare a
/// running provider with a manifest see the same string whichever host runs it.
pub(crate) fn reported_ref(reference: &str) -> &str {
    [BUILTIN_SCHEME, "file://", "oci://"]
        .iter()
        .find_map(|scheme| reference.strip_prefix(scheme))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(reference)
}

/// What runs a provider.
#[derive(Debug)]
pub(crate) enum Kind {
    /// The host itself.
    Builtin(Builtin),
    /// A process the host supervises.
    Process(Arc<ProviderProcess>),
}

/// One running provider.
#[derive(Debug)]
pub(crate) struct RunningProvider {
    pub(crate) image_ref: String,
    pub(crate) kind: Kind,
    pub(crate) annotations: BTreeMap<String, String>,
    /// Named configs, merged in order into the provider's config.
    pub(crate) config: Vec<ConfigName>,
    /// The claims of a provider started from an archive.
    pub(crate) claims: Option<Token<CapabilityProvider>>,
}

impl RunningProvider {
    pub(crate) fn describe(&self, id: &ProviderId) -> ProviderDescription {
        let meta = self.claims.as_ref().and_then(|c| c.claims.metadata.as_ref());
        let name = match &self.kind {
            Kind::Builtin(builtin) => Some(builtin.name().to_owned()),
            Kind::Process(_) => meta.and_then(|m| m.name.clone()),
        };
        ProviderDescription {
            id: id.clone(),
            image_ref: Some(self.image_ref.clone()),
            name,
            revision: meta.and_then(|m| m.rev).unwrap_or(0),
            // Upstream writes the map even when it is empty.
            annotations: Some(self.annotations.clone()),
        }
    }

    /// The process, for a provider that runs as one.
    pub(crate) fn process(&self) -> Option<&Arc<ProviderProcess>> {
        match &self.kind {
            Kind::Process(process) => Some(process),
            Kind::Builtin(_) => None,
        }
    }
}

/// The providers running here, by id, and those being started.
#[derive(Debug, Default)]
pub(crate) struct Providers {
    table: RwLock<HashMap<ProviderId, Arc<RunningProvider>>>,
    starting: Mutex<HashSet<ProviderId>>,
}

impl Providers {
    /// Claims `id` for a start in progress; `false` when it runs or is being started.
    pub(crate) fn reserve(&self, id: &ProviderId) -> bool {
        let mut starting = self.starting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.get(id.as_str()).is_none() && starting.insert(id.clone())
    }

    /// Ends the start of `id`, whether it now runs or failed.
    pub(crate) fn release(&self, id: &ProviderId) {
        self.starting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<RunningProvider>> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Whether `id` runs here or is being started.
    pub(crate) fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
            || self
                .starting
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(id)
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

    /// The provider processes running here.
    pub(crate) fn processes(&self) -> Vec<(ProviderId, Arc<ProviderProcess>)> {
        self.list()
            .into_iter()
            .filter_map(|(id, provider)| provider.process().map(|p| (id, Arc::clone(p))))
            .collect()
    }
}

/// Where provider executables run from: a directory only this host's user can enter (a fresh
/// private temporary directory per host, removed when the host goes), so nothing another
/// local user can write is ever executed.
#[derive(Debug)]
pub(crate) struct ProviderFiles {
    dir: tempfile::TempDir,
    next: AtomicU64,
}

impl ProviderFiles {
    /// Creates the directory.
    ///
    /// # Errors
    ///
    /// When the temporary directory cannot be created.
    pub(crate) fn create() -> std::io::Result<Self> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("wasmcloud-providers-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder.tempdir()?;
        Ok(Self {
            dir,
            next: AtomicU64::new(0),
        })
    }

    /// Writes `binary` as a new owner-only executable for provider `id`.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub(crate) fn write(&self, id: &ProviderId, binary: &[u8]) -> std::io::Result<PathBuf> {
        use std::io::Write as _;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.path().join(format!("{id}-{n}"));
        let mut options = std::fs::File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o700);
        }
        let mut file = options.open(&path)?;
        file.write_all(binary)?;
        file.sync_all()?;
        Ok(path)
    }

    /// The directory.
    #[cfg(test)]
    fn dir(&self) -> &std::path::Path {
        self.dir.path()
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
    fn references_are_reported_without_their_scheme_as_upstream_does() {
        assert_eq!(reported_ref(HTTP_SERVER_REF), "http-server");
        assert_eq!(reported_ref("file:///opt/kv.par"), "/opt/kv.par");
        assert_eq!(reported_ref("oci://ghcr.io/a/b:1"), "ghcr.io/a/b:1");
        assert_eq!(reported_ref("ghcr.io/a/b:1"), "ghcr.io/a/b:1");
        assert_eq!(reported_ref("file://"), "file://");
    }

    #[cfg(unix)]
    #[test]
    fn provider_files_are_private_and_executable() {
        use std::os::unix::fs::PermissionsExt as _;
        let files = ProviderFiles::create().unwrap();
        let dir_mode = std::fs::metadata(files.dir()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let first = files.write(&ProviderId::new("kv"), b"#!/bin/sh\n").unwrap();
        let second = files.write(&ProviderId::new("kv"), b"#!/bin/sh\n").unwrap();
        assert_ne!(first, second);
        let mode = std::fs::metadata(&first).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_start_in_progress_counts_as_running() {
        let providers = Providers::default();
        let id = ProviderId::new("kv");
        assert!(providers.reserve(&id));
        assert!(!providers.reserve(&id));
        assert!(providers.contains("kv"));
        providers.release(&id);
        assert!(!providers.contains("kv"));
    }

    #[test]
    fn a_provider_id_runs_once() {
        let providers = Providers::default();
        let make = || RunningProvider {
            image_ref: HTTP_SERVER_REF.into(),
            kind: Kind::Builtin(Builtin::HttpServer),
            annotations: BTreeMap::new(),
            config: Vec::new(),
            claims: None,
        };
        assert!(providers.insert(ProviderId::new("http"), make()));
        assert!(!providers.insert(ProviderId::new("http"), make()));
        assert_eq!(providers.list().len(), 1);
        assert!(providers.processes().is_empty());
        assert!(providers.remove("http").is_some());
        assert!(!providers.contains("http"));
    }
}
