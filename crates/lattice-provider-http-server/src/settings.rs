//! The provider's settings: from its own config (`routing_mode`, `default_address`, `header`)
//! and from each link's source config (`address`, `path` or `host`, `readonly_mode`,
//! `timeout_ms`). Keys are matched without regard to case, as upstream's are.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use http::HeaderName;
use lattice_provider_sdk::config_value;

/// Where a link without an `address` listens in address mode, and the shared listener in path
/// and host mode. Upstream binds `0.0.0.0:8000`; this provider listens on loopback unless a
/// config says otherwise.
pub const DEFAULT_ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8000);

/// How requests are mapped to components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RoutingMode {
    /// One listener per distinct link `address` (upstream's default).
    #[default]
    Address,
    /// One listener at `default_address`; the link's `path` is a prefix of the paths it gets
    /// (longest wins; the path reaches the component unchanged).
    Path,
    /// One listener at `default_address`; the link's `host` is matched against the request's
    /// `Host` header (or the header the provider config's `header` names), without port.
    Host,
}

/// The provider-wide settings, from its config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How requests are routed.
    pub routing_mode: RoutingMode,
    /// The shared listener's address (path, host mode); a link's without `address`.
    pub default_address: SocketAddr,
    /// The header host mode matches (`host` by default).
    pub header: HeaderName,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            routing_mode: RoutingMode::Address,
            default_address: DEFAULT_ADDRESS,
            header: http::header::HOST,
        }
    }
}

impl Settings {
    /// Reads the provider config; keys it does not know are ignored.
    ///
    /// # Errors
    ///
    /// A message naming the key and the fix, for an unknown mode, an address or a header name
    /// that does not parse.
    pub fn from_config(config: &HashMap<String, String>) -> Result<Self, String> {
        let mut settings = Self::default();
        if let Some(mode) = config_value(config, "routing_mode").map(str::trim) {
            settings.routing_mode = match mode.to_ascii_lowercase().as_str() {
                "address" => RoutingMode::Address,
                "path" => RoutingMode::Path,
                "host" => RoutingMode::Host,
                _ => return Err(format!("routing_mode `{mode}` is not one of address, path, host")),
            };
        }
        if let Some(address) = config_value(config, "default_address") {
            settings.default_address = parse_address("default_address", address)?;
        }
        if let Some(header) = config_value(config, "header").map(str::trim) {
            settings.header = HeaderName::try_from(header.to_ascii_lowercase())
                .map_err(|_| format!("header `{header}` is not an HTTP header name"))?;
        }
        Ok(settings)
    }
}

fn parse_address(key: &str, value: &str) -> Result<SocketAddr, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{key} `{value}` is not a socket address: write ip:port, e.g. 127.0.0.1:8080"))
}

/// What a link asks for: where its requests come from, and how they are treated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSettings {
    /// The listener's address.
    pub address: SocketAddr,
    /// Which requests on that listener go to the link's component.
    pub matcher: Matcher,
    /// Only GET and HEAD are forwarded; anything else is answered 405.
    pub readonly: bool,
    /// How long the component may take to answer (to the response head): 408 after.
    pub timeout: Option<Duration>,
}

/// Which requests of a listener a route takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// All of them (address mode: one route per listener).
    Any,
    /// Those whose path lies under this normalized prefix.
    Path(String),
    /// Those for this lowercase host name.
    Host(String),
}

impl LinkSettings {
    /// Reads a link's source config under the provider's settings.
    ///
    /// # Errors
    ///
    /// A message naming the key and the fix.
    pub fn from_config(settings: &Settings, config: &HashMap<String, String>) -> Result<Self, String> {
        let (address, matcher) = match settings.routing_mode {
            RoutingMode::Address => match config_value(config, "address") {
                Some(address) => (parse_address("address", address)?, Matcher::Any),
                None => (settings.default_address, Matcher::Any),
            },
            RoutingMode::Path => {
                let path = config_value(config, "path")
                    .ok_or("the provider routes by path: give the link a `path` in its source config, e.g. /api")?;
                (settings.default_address, Matcher::Path(normalize_path(path.trim())?))
            }
            RoutingMode::Host => {
                let host = config_value(config, "host")
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .ok_or("the provider routes by host: give the link a `host` in its source config, e.g. api.example.com")?;
                (
                    settings.default_address,
                    Matcher::Host(strip_port(host).to_ascii_lowercase()),
                )
            }
        };
        let readonly = match config_value(config, "readonly_mode").map(str::trim) {
            None => false,
            Some(value) => value
                .parse::<bool>()
                .map_err(|_| format!("readonly_mode `{value}` is not true or false"))?,
        };
        let timeout = match config_value(config, "timeout_ms").map(str::trim) {
            None => None,
            Some(value) => {
                Some(Duration::from_millis(value.parse().map_err(|_| {
                    format!("timeout_ms `{value}` is not a whole number of milliseconds")
                })?))
            }
        };
        Ok(Self {
            address,
            matcher,
            readonly,
            timeout,
        })
    }
}

/// A link's `path` as the prefix routes compare: it must start with `/`; a trailing `/` and
/// a trailing catch-all segment in upstream's router syntax (`/api/{*rest}`, `/api/*rest`)
/// are dropped, so `/api`, `/api/` and `/api/{*rest}` name one route.
fn normalize_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("path `{path}` does not start with `/`"));
    }
    let mut prefix = path;
    if let Some(slash) = prefix.rfind('/') {
        let last = &prefix[slash + 1..];
        if (last.starts_with("{*") && last.ends_with('}')) || last.starts_with('*') {
            prefix = &prefix[..slash];
        }
    }
    let prefix = prefix.trim_end_matches('/');
    Ok(if prefix.is_empty() {
        "/".to_owned()
    } else {
        prefix.to_owned()
    })
}

/// `example.com:8080` → `example.com`; `[::1]:80` → `[::1]`.
pub(crate) fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_provider_defaults_to_address_mode_on_loopback() {
        let settings = Settings::from_config(&map(&[])).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.default_address.to_string(), "127.0.0.1:8000");
        let settings = Settings::from_config(&map(&[
            ("ROUTING_MODE", "Host"),
            ("default_address", "127.0.0.1:9000"),
            ("header", "X-Tenant"),
        ]))
        .unwrap();
        assert_eq!(settings.routing_mode, RoutingMode::Host);
        assert_eq!(settings.default_address.port(), 9000);
        assert_eq!(settings.header.as_str(), "x-tenant");
    }

    #[test]
    fn bad_provider_config_is_named() {
        assert_eq!(
            Settings::from_config(&map(&[("routing_mode", "dns")])).unwrap_err(),
            "routing_mode `dns` is not one of address, path, host"
        );
        assert!(
            Settings::from_config(&map(&[("default_address", "localhost")]))
                .unwrap_err()
                .contains("write ip:port")
        );
    }

    #[test]
    fn links_ask_for_the_route_of_the_mode() {
        let address = Settings::default();
        let link = LinkSettings::from_config(&address, &map(&[("Address", "127.0.0.1:8081")])).unwrap();
        assert_eq!(link.address.port(), 8081);
        assert_eq!(link.matcher, Matcher::Any);
        assert_eq!(
            LinkSettings::from_config(&address, &map(&[])).unwrap().address,
            DEFAULT_ADDRESS
        );

        let path = Settings {
            routing_mode: RoutingMode::Path,
            ..Settings::default()
        };
        let link = LinkSettings::from_config(&path, &map(&[("path", "/api/{*rest}")])).unwrap();
        assert_eq!(link.matcher, Matcher::Path("/api".into()));
        assert!(
            LinkSettings::from_config(&path, &map(&[]))
                .unwrap_err()
                .contains("give the link a `path`")
        );
        assert!(LinkSettings::from_config(&path, &map(&[("path", "api")])).is_err());

        let host = Settings {
            routing_mode: RoutingMode::Host,
            ..Settings::default()
        };
        let link = LinkSettings::from_config(&host, &map(&[("host", "API.example.com:80")])).unwrap();
        assert_eq!(link.matcher, Matcher::Host("api.example.com".into()));
    }

    #[test]
    fn readonly_and_timeout_are_read() {
        let link = LinkSettings::from_config(
            &Settings::default(),
            &map(&[("readonly_mode", "true"), ("timeout_ms", "250")]),
        )
        .unwrap();
        assert!(link.readonly);
        assert_eq!(link.timeout, Some(Duration::from_millis(250)));
        let err = LinkSettings::from_config(&Settings::default(), &map(&[("timeout_ms", "soon")])).unwrap_err();
        assert_eq!(err, "timeout_ms `soon` is not a whole number of milliseconds");
    }

    #[test]
    fn paths_normalize_and_ports_strip() {
        for path in ["/api", "/api/", "/api/{*rest}", "/api/*rest"] {
            assert_eq!(normalize_path(path).unwrap(), "/api", "{path}");
        }
        assert_eq!(normalize_path("/").unwrap(), "/");
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
    }
}
