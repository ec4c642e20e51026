//! The ingress's typed error: what the host gets back when a provider config
//! or a link config cannot be turned into a route.

use std::net::SocketAddr;

use lattice_runtime::ComponentId;

/// Why a route could not be added or the ingress could not start.
///
/// Callers branch on the variant (the host turns it into a failed link
/// event); the `Display` text names the conflict and the fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngressError {
    /// The provider config's `routing_mode` is not `address`, `path` or `host`.
    #[error("unknown routing_mode `{value}`: use `address`, `path` or `host`")]
    InvalidRoutingMode {
        /// The value found in the config.
        value: String,
    },

    /// A config value that should be a positive whole number does not parse.
    #[error("config `{key}` is `{value}`, not a whole number from 1 to {max}: use e.g. `{example}`")]
    InvalidNumber {
        /// The config key, e.g. `max_connections`.
        key: &'static str,
        /// The value found in the config.
        value: String,
        /// The largest value allowed.
        max: u64,
        /// A sensible value to show.
        example: u64,
    },

    /// The provider config's `header` is not a valid HTTP header name.
    #[error("config `header` is `{value}`, not an HTTP header name: use e.g. `x-forwarded-host`")]
    InvalidHeader {
        /// The value found in the config.
        value: String,
    },

    /// A config value that should be a socket address does not parse.
    #[error("config `{key}` is `{value}`, not a socket address: use e.g. `127.0.0.1:8080`")]
    InvalidAddress {
        /// The config key (`address` or `default_address`).
        key: &'static str,
        /// The value found in the config.
        value: String,
        /// Why it does not parse.
        #[source]
        source: std::net::AddrParseError,
    },

    /// Path mode needs a `path` in the link config.
    #[error(
        "link from the http server to component `{component_id}` has no `path` in its config: \
         path routing mode needs one, e.g. `path=/api`"
    )]
    MissingPath {
        /// The link's target component.
        component_id: ComponentId,
    },

    /// A path in the link config that cannot be routed.
    #[error("link config `path` is `{path}`: it must start with `/`, e.g. `path=/api`")]
    InvalidPath {
        /// The value found in the config.
        path: String,
    },

    /// Host mode needs a `host` in the link config.
    #[error(
        "link from the http server to component `{component_id}` has no `host` in its config: \
         host routing mode needs one, e.g. `host=api.example.com`"
    )]
    MissingHost {
        /// The link's target component.
        component_id: ComponentId,
    },

    /// Another link already listens on this address (address mode).
    #[error(
        "address {address} is already routed to component `{existing}` (link `{existing_link}`): \
         give the link to `{component_id}` another `address`"
    )]
    AddressInUse {
        /// The contested address.
        address: SocketAddr,
        /// The component that asked for it now.
        component_id: ComponentId,
        /// The component already served there.
        existing: ComponentId,
        /// The link name of the existing route.
        existing_link: String,
    },

    /// Another link already routes this path (path mode).
    #[error(
        "path `{path}` is already routed to component `{existing}` (link `{existing_link}`): \
         give the link to `{component_id}` another `path`"
    )]
    PathInUse {
        /// The contested path prefix.
        path: String,
        /// The component that asked for it now.
        component_id: ComponentId,
        /// The component already served there.
        existing: ComponentId,
        /// The link name of the existing route.
        existing_link: String,
    },

    /// Another link already routes this host name (host mode).
    #[error(
        "host `{host}` is already routed to component `{existing}` (link `{existing_link}`): \
         give the link to `{component_id}` another `host`"
    )]
    HostInUse {
        /// The contested host name.
        host: String,
        /// The component that asked for it now.
        component_id: ComponentId,
        /// The component already served there.
        existing: ComponentId,
        /// The link name of the existing route.
        existing_link: String,
    },

    /// The same link (component and link name) already has a different
    /// route; remove it first to change it.
    #[error(
        "link `{link_name}` to component `{component_id}` already has a route: \
         delete the link before putting it with a different config"
    )]
    RouteExists {
        /// The link's target component.
        component_id: ComponentId,
        /// The link's name.
        link_name: String,
    },

    /// The operating system refused the listener.
    #[error("cannot listen on {address}: pick a free address (or free this one)")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// The ingress was used outside a Tokio runtime.
    #[error("the http ingress needs a tokio runtime: create and use it inside one")]
    NoRuntime,

    /// The ingress is shutting down and accepts no new routes.
    #[error("the http ingress is shut down: start a new one")]
    ShutDown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_name_the_conflict() {
        let err = IngressError::PathInUse {
            path: "/api".into(),
            component_id: "b".into(),
            existing: "a".into(),
            existing_link: "default".into(),
        };
        let msg = err.to_string();
        assert!(
            msg.contains("`/api`") && msg.contains("`a`") && msg.contains("`b`"),
            "{msg}"
        );
        assert!(!msg.ends_with('.'));
        assert_eq!(msg[..1], msg[..1].to_lowercase());
    }
}
