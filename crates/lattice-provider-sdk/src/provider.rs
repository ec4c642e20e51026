//! What a provider implements: the [`Provider`] trait, whose hooks the SDK calls as links,
//! config, health checks and shutdown arrive from the host, and the [`LinkConfig`] and
//! [`LinkDelete`] they receive.

use std::collections::HashMap;
use std::future::Future;

use lattice_control_interface::provider::{HealthCheckResponse, SecretValue};

use crate::connection::ProviderHandle;
use crate::error::HookError;

/// A link the provider is an end of, as a hook receives it: the config and secrets are those
/// of the provider's end (`source_config` when the provider is the source, `target_config`
/// when it is the target).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkConfig {
    /// The end that makes the calls (a component, or this provider).
    pub source_id: String,
    /// The end that serves them (this provider, or a component).
    pub target_id: String,
    /// The link's name (`default` unless the link says otherwise).
    pub link_name: String,
    /// The provider's end's config, names resolved to values by the host.
    pub config: HashMap<String, String>,
    /// The provider's end's secrets, opened with the provider's curve key.
    pub secrets: HashMap<String, SecretValue>,
    /// e.g. `wasi`.
    pub wit_namespace: String,
    /// e.g. `keyvalue`.
    pub wit_package: String,
    /// e.g. `["store", "atomics"]`.
    pub interfaces: Vec<String>,
}

impl LinkConfig {
    /// The value of `key` in [`Self::config`], its name matched without regard to case
    /// (upstream providers accept `URL`, `url` and `Url` alike).
    #[must_use]
    pub fn config_value(&self, key: &str) -> Option<&str> {
        config_value(&self.config, key)
    }
}

/// The value of `key` in `config`, its name matched without regard to case; an exact match
/// wins over another spelling.
#[must_use]
pub fn config_value<'a>(config: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    config
        .get(key)
        .or_else(|| {
            config
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
                .map(|(_, value)| value)
        })
        .map(String::as_str)
}

/// A link that went away, as a hook receives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkDelete {
    /// The end that made the calls.
    pub source_id: String,
    /// The end that served them.
    pub target_id: String,
    /// The link's name.
    pub link_name: String,
    /// e.g. `wasi`.
    pub wit_namespace: String,
    /// e.g. `keyvalue`.
    pub wit_package: String,
}

/// A capability provider's reactions to its host. Every hook has a default that accepts and
/// does nothing, so a provider implements only those it needs.
///
/// Link hooks are called one at a time, in the order the host sent the links; health checks,
/// config updates and shutdown are answered beside them, so a slow link hook never makes a
/// provider look unhealthy. A hook that fails is logged and the provider keeps running.
pub trait Provider: Send + Sync + 'static {
    /// The provider is connected to the lattice; called once, before the links of the host
    /// data are applied. The place to keep the handle, for calls to components from link
    /// hooks and from tasks they start.
    ///
    /// # Errors
    ///
    /// When the provider cannot run; start-up then fails with this error.
    fn init(&self, handle: &ProviderHandle) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = handle;
        async { Ok(()) }
    }

    /// A link on which this provider is the source (it calls `link.target_id`), with the
    /// link's `source_config`. Called again when the same link is put with changed config.
    ///
    /// # Errors
    ///
    /// When the provider cannot use the link; the link is then not recorded as applied.
    fn receive_link_config_as_source(&self, link: LinkConfig) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = link;
        async { Ok(()) }
    }

    /// A link on which this provider is the target (`link.source_id` calls it), with the
    /// link's `target_config`. Called again when the same link is put with changed config.
    ///
    /// # Errors
    ///
    /// When the provider cannot use the link; the link is then not recorded as applied.
    fn receive_link_config_as_target(&self, link: LinkConfig) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = link;
        async { Ok(()) }
    }

    /// A link on which this provider was the source went away.
    ///
    /// # Errors
    ///
    /// Logged; the link is forgotten regardless.
    fn delete_link_as_source(&self, link: LinkDelete) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = link;
        async { Ok(()) }
    }

    /// A link on which this provider was the target went away.
    ///
    /// # Errors
    ///
    /// Logged; the link is forgotten regardless.
    fn delete_link_as_target(&self, link: LinkDelete) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = link;
        async { Ok(()) }
    }

    /// The answer to the host's health check: healthy with message `ok` by default.
    fn health_request(&self) -> impl Future<Output = HealthCheckResponse> + Send {
        async {
            HealthCheckResponse {
                healthy: true,
                message: Some("ok".to_owned()),
            }
        }
    }

    /// The provider's named config changed; `config` is the new merged map (the whole of it,
    /// not a difference).
    ///
    /// # Errors
    ///
    /// Logged; the provider keeps running with what it had.
    fn on_config_update(&self, config: HashMap<String, String>) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = config;
        async { Ok(()) }
    }

    /// The host asked this provider to stop: release what must be released (flush, close
    /// connections). The process exits once this returns; the host waits briefly, then kills it.
    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_match_without_case_exact_first() {
        let config = HashMap::from([
            ("url".to_owned(), "lower".to_owned()),
            ("URL".to_owned(), "upper".to_owned()),
            ("Other".to_owned(), "x".to_owned()),
        ]);
        assert_eq!(config_value(&config, "URL"), Some("upper"));
        assert_eq!(config_value(&config, "url"), Some("lower"));
        assert_eq!(config_value(&config, "OTHER"), Some("x"));
        assert_eq!(config_value(&config, "missing"), None);
    }
}
