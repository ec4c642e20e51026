//! Link puts and deletes turned into hook calls: which end of a link the provider is, the
//! config and secrets of that end, and the table of links already applied, so a put that
//! repeats one (hosts resend links, e.g. on restart) reaches the provider only when its
//! config changed.
//!
//! The table lives in the one task that handles link messages, in order; nothing here locks.

use std::collections::HashMap;

use lattice_control_interface::provider::{InterfaceLinkDefinition, SecretValue};
use nkeys::XKey;

use crate::provider::{LinkConfig, LinkDelete, Provider};

/// The curve keys that open a link's sealed secrets: the provider's own (from its seed) and
/// the host's (the sender).
pub(crate) struct SecretKeys {
    pub(crate) provider: XKey,
    pub(crate) host: XKey,
}

impl std::fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the provider's seed.
        f.debug_struct("SecretKeys")
            .field("provider", &self.provider.public_key())
            .field("host", &self.host.public_key())
            .finish()
    }
}

/// What identifies a link: one per (source, target, name, interface package).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct LinkKey {
    source_id: String,
    target_id: String,
    name: String,
    wit_namespace: String,
    wit_package: String,
}

impl LinkKey {
    fn of(def: &InterfaceLinkDefinition) -> Self {
        Self {
            source_id: def.source_id.as_str().to_owned(),
            target_id: def.target.as_str().to_owned(),
            name: def.name.as_str().to_owned(),
            wit_namespace: def.wit_namespace.clone(),
            wit_package: def.wit_package.clone(),
        }
    }
}

/// A put, resolved to the hook calls it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    key: LinkKey,
    as_source: Option<LinkConfig>,
    as_target: Option<LinkConfig>,
}

/// Resolves a put for the provider `provider_id`: which hooks it calls and with what.
///
/// # Errors
///
/// When the link's secrets for the provider's end cannot be opened.
pub(crate) fn resolve(
    provider_id: &str,
    def: &InterfaceLinkDefinition,
    keys: Option<&SecretKeys>,
) -> Result<Resolved, String> {
    let link = |config: &HashMap<String, String>, secrets| LinkConfig {
        source_id: def.source_id.as_str().to_owned(),
        target_id: def.target.as_str().to_owned(),
        link_name: def.name.as_str().to_owned(),
        config: config.clone(),
        secrets,
        wit_namespace: def.wit_namespace.clone(),
        wit_package: def.wit_package.clone(),
        interfaces: def.interfaces.clone(),
    };
    let as_source = if def.source_id.as_str() == provider_id {
        let secrets = open_secrets(def.source_secrets.as_deref(), keys).map_err(|e| format!("source secrets: {e}"))?;
        Some(link(&def.source_config, secrets))
    } else {
        None
    };
    let as_target = if def.target.as_str() == provider_id {
        let secrets = open_secrets(def.target_secrets.as_deref(), keys).map_err(|e| format!("target secrets: {e}"))?;
        Some(link(&def.target_config, secrets))
    } else {
        None
    };
    Ok(Resolved {
        key: LinkKey::of(def),
        as_source,
        as_target,
    })
}

/// Opens secrets sealed to the provider's curve key by the host: JSON `{name: SecretValue}`.
fn open_secrets(sealed: Option<&[u8]>, keys: Option<&SecretKeys>) -> Result<HashMap<String, SecretValue>, String> {
    let Some(sealed) = sealed.filter(|s| !s.is_empty()) else {
        return Ok(HashMap::new());
    };
    let keys = keys.ok_or("the link carries sealed secrets but the host gave the provider no curve keys")?;
    let json = keys
        .provider
        .open(sealed, &keys.host)
        .map_err(|e| format!("cannot open them with the provider's curve key: {e}"))?;
    serde_json::from_slice(&json).map_err(|e| format!("they are not a JSON map of secrets: {e}"))
}

/// The links applied so far, with what their hooks received.
#[derive(Debug, Default)]
pub(crate) struct LinkTable {
    applied: HashMap<LinkKey, Resolved>,
}

impl LinkTable {
    /// Whether a put must reach the provider: a new link, or one whose config changed.
    fn is_new(&self, resolved: &Resolved) -> bool {
        self.applied.get(&resolved.key) != Some(resolved)
    }

    /// How many links are applied.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.applied.len()
    }
}

/// Applies a put: calls the hooks for the provider's end(s) of the link, unless the same link
/// with the same config is applied already. A link the provider is no end of is ignored.
pub(crate) async fn put<P: Provider>(
    provider: &P,
    table: &mut LinkTable,
    provider_id: &str,
    keys: Option<&SecretKeys>,
    def: &InterfaceLinkDefinition,
) {
    let (source, target, name) = (def.source_id.as_str(), def.target.as_str(), def.name.as_str());
    let interface = format!("{}:{}", def.wit_namespace, def.wit_package);
    let resolved = match resolve(provider_id, def, keys) {
        Ok(resolved) => resolved,
        Err(err) => {
            tracing::error!(source, target, link_name = name, interface, error = %err, "link not applied");
            return;
        }
    };
    if resolved.as_source.is_none() && resolved.as_target.is_none() {
        tracing::warn!(
            source,
            target,
            link_name = name,
            interface,
            "ignoring a link this provider is no end of"
        );
        return;
    }
    if !table.is_new(&resolved) {
        tracing::debug!(
            source,
            target,
            link_name = name,
            interface,
            "link already applied with this config"
        );
        return;
    }
    let mut ok = true;
    if let Some(link) = resolved.as_source.clone()
        && let Err(err) = provider.receive_link_config_as_source(link).await
    {
        tracing::error!(source, target, link_name = name, interface, error = %err, "link as source refused");
        ok = false;
    }
    if let Some(link) = resolved.as_target.clone()
        && let Err(err) = provider.receive_link_config_as_target(link).await
    {
        tracing::error!(source, target, link_name = name, interface, error = %err, "link as target refused");
        ok = false;
    }
    if ok {
        tracing::info!(source, target, link_name = name, interface, "link applied");
        table.applied.insert(resolved.key.clone(), resolved);
    }
}

/// Applies a delete: calls the delete hook for the provider's end(s) and forgets the link.
/// The hooks are called even for a link never applied here (the host knows best: the
/// provider may have been restarted), so providers must accept deletes of unknown links.
pub(crate) async fn delete<P: Provider>(
    provider: &P,
    table: &mut LinkTable,
    provider_id: &str,
    def: &InterfaceLinkDefinition,
) {
    let key = LinkKey::of(def);
    table.applied.remove(&key);
    let info = LinkDelete {
        source_id: key.source_id,
        target_id: key.target_id,
        link_name: key.name,
        wit_namespace: key.wit_namespace,
        wit_package: key.wit_package,
    };
    let (source, target, name) = (
        info.source_id.as_str(),
        info.target_id.as_str(),
        info.link_name.as_str(),
    );
    let mut known = false;
    if source == provider_id {
        known = true;
        if let Err(err) = provider.delete_link_as_source(info.clone()).await {
            tracing::error!(source, target, link_name = name, error = %err, "deleting link as source failed");
        }
    }
    if target == provider_id {
        known = true;
        if let Err(err) = provider.delete_link_as_target(info.clone()).await {
            tracing::error!(source, target, link_name = name, error = %err, "deleting link as target failed");
        }
    }
    if known {
        tracing::info!(source, target, link_name = name, "link deleted");
    } else {
        tracing::warn!(
            source,
            target,
            link_name = name,
            "ignoring the deletion of a link this provider is no end of"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use lattice_control_interface::{ComponentId, LinkName};

    use super::*;
    use crate::error::HookError;

    /// Records every hook call as a line.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
        refuse: bool,
    }

    impl Recorder {
        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.calls.lock().unwrap())
        }

        fn record(&self, line: String) -> Result<(), HookError> {
            self.calls.lock().unwrap().push(line);
            if self.refuse { Err("refused".into()) } else { Ok(()) }
        }
    }

    impl Provider for Recorder {
        async fn receive_link_config_as_source(&self, link: LinkConfig) -> Result<(), HookError> {
            self.record(format!(
                "source {} {:?} {:?}",
                link.target_id, link.config, link.secrets
            ))
        }

        async fn receive_link_config_as_target(&self, link: LinkConfig) -> Result<(), HookError> {
            self.record(format!("target {} {}", link.source_id, link.link_name))
        }

        async fn delete_link_as_source(&self, link: LinkDelete) -> Result<(), HookError> {
            self.record(format!("del-source {}", link.target_id))
        }

        async fn delete_link_as_target(&self, link: LinkDelete) -> Result<(), HookError> {
            self.record(format!("del-target {}", link.source_id))
        }
    }

    fn def(source: &str, target: &str, config: &[(&str, &str)]) -> InterfaceLinkDefinition {
        let config: HashMap<String, String> = config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        InterfaceLinkDefinition {
            source_id: ComponentId::new(source),
            target: ComponentId::new(target),
            name: LinkName::default(),
            wit_namespace: "wasi".into(),
            wit_package: "keyvalue".into(),
            interfaces: vec!["store".into()],
            source_config: config.clone(),
            target_config: config,
            ..InterfaceLinkDefinition::default()
        }
    }

    #[tokio::test]
    async fn a_put_calls_the_hook_of_the_providers_end() {
        let provider = Recorder::default();
        let mut table = LinkTable::default();
        put(&provider, &mut table, "p", None, &def("comp", "p", &[])).await;
        put(&provider, &mut table, "p", None, &def("p", "comp", &[("a", "1")])).await;
        assert_eq!(
            provider.take(),
            ["target comp default", "source comp {\"a\": \"1\"} {}"]
        );
        // A link between two others: nothing.
        put(&provider, &mut table, "p", None, &def("x", "y", &[])).await;
        assert!(provider.take().is_empty());
        assert_eq!(table.len(), 2);
    }

    #[tokio::test]
    async fn a_repeated_put_reaches_the_provider_only_when_its_config_changed() {
        let provider = Recorder::default();
        let mut table = LinkTable::default();
        let link = def("comp", "p", &[("URL", "redis://a")]);
        put(&provider, &mut table, "p", None, &link).await;
        put(&provider, &mut table, "p", None, &link).await;
        assert_eq!(provider.take().len(), 1);
        put(
            &provider,
            &mut table,
            "p",
            None,
            &def("comp", "p", &[("URL", "redis://b")]),
        )
        .await;
        assert_eq!(provider.take().len(), 1);
        // Another link name is another link.
        let mut named = link.clone();
        named.name = LinkName::new("cache");
        put(&provider, &mut table, "p", None, &named).await;
        assert_eq!(provider.take(), ["target comp cache"]);
        assert_eq!(table.len(), 2);
    }

    #[tokio::test]
    async fn a_refused_link_is_tried_again() {
        let provider = Recorder {
            refuse: true,
            ..Recorder::default()
        };
        let mut table = LinkTable::default();
        let link = def("comp", "p", &[]);
        put(&provider, &mut table, "p", None, &link).await;
        put(&provider, &mut table, "p", None, &link).await;
        assert_eq!(provider.take().len(), 2);
        assert_eq!(table.len(), 0);
    }

    #[tokio::test]
    async fn a_delete_calls_the_hook_and_forgets_the_link() {
        let provider = Recorder::default();
        let mut table = LinkTable::default();
        let link = def("comp", "p", &[]);
        put(&provider, &mut table, "p", None, &link).await;
        delete(&provider, &mut table, "p", &def("comp", "p", &[])).await;
        assert_eq!(table.len(), 0);
        // Put again after the delete: applied again.
        put(&provider, &mut table, "p", None, &link).await;
        delete(&provider, &mut table, "p", &def("p", "other", &[])).await;
        assert_eq!(
            provider.take(),
            [
                "target comp default",
                "del-target comp",
                "target comp default",
                "del-source other"
            ]
        );
    }

    #[tokio::test]
    async fn sealed_secrets_of_the_providers_end_are_opened() {
        let host = XKey::new();
        let provider_key = XKey::new();
        let keys = SecretKeys {
            provider: XKey::from_seed(&provider_key.seed().unwrap()).unwrap(),
            host: XKey::from_public_key(&host.public_key()).unwrap(),
        };
        let secrets = HashMap::from([("password".to_owned(), SecretValue::String("hunter2".into()))]);
        let sealed = host
            .seal(&serde_json::to_vec(&secrets).unwrap(), &provider_key)
            .unwrap();
        let mut link = def("p", "comp", &[]);
        link.source_secrets = Some(sealed.clone());
        let resolved = resolve("p", &link, Some(&keys)).unwrap();
        assert_eq!(resolved.as_source.unwrap().secrets, secrets);

        // Without keys, or sealed for someone else: refused with a reason.
        assert!(resolve("p", &link, None).unwrap_err().contains("no curve keys"));
        link.source_secrets = Some(b"garbage".to_vec());
        assert!(
            resolve("p", &link, Some(&keys))
                .unwrap_err()
                .starts_with("source secrets: cannot open them")
        );
        // The target's secrets are none of a source's business.
        let mut link = def("p", "comp", &[]);
        link.target_secrets = Some(sealed);
        assert!(resolve("p", &link, None).is_ok());
    }
}
