//! Settings of the built-in `wasmcloud+builtin://http-server` provider, read
//! from its provider config (`routing_mode`, `default_address` and the
//! client limits of [`ClientLimits`]), and the
//! route one link asks for, read from the link's source config (`address`,
//! `path` or `host`). Keys are case-insensitive, as upstream's are.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use lattice_runtime::ComponentId;

use super::error::IngressError;

/// Where the shared listener (path and host mode) binds, and where a link
/// without an `address` listens in address mode. Upstream binds
/// `0.0.0.0:8000`; this host listens on loopback unless told otherwise.
pub const DEFAULT_ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8000);

/// How long a listener whose route was removed keeps serving the requests
/// already in flight before its connections are dropped.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What one client may hold or send, so that no client, slow or abandoned,
/// can exhaust the ingress. Each is a key of the provider config (in
/// parentheses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientLimits {
    /// Connections open at once across the ingress's listeners
    /// (`max_connections`); past it, new connections wait in the kernel's
    /// backlog until one closes.
    pub max_connections: usize,
    /// From accepting a connection to its first complete request head,
    /// whatever the protocol, and from then on for each HTTP/1 request head
    /// (`request_head_timeout_ms`); a connection that takes longer is
    /// closed.
    pub request_head_timeout: Duration,
    /// Longest wait for the next piece of a request body
    /// (`body_idle_timeout_ms`); the guest reading it then gets a timeout
    /// error.
    pub body_idle_timeout: Duration,
    /// Largest request body (`max_request_body_bytes`): a larger declared
    /// `Content-Length` is answered 413 before the component runs, and a
    /// streamed body that grows past it ends with an error for the guest.
    pub max_request_body_bytes: u64,
    /// HTTP/2 pings an idle connection this often and closes it when a ping
    /// goes unanswered as long (`http2_keep_alive_ms`).
    pub http2_keep_alive: Duration,
    /// A connection that began no request and had none in flight for this
    /// long is closed gracefully, whatever the protocol (`idle_timeout_ms`;
    /// checked once per timeout, so it goes within twice that): an HTTP/2
    /// client that answers pings but sends nothing does not keep its slot.
    /// An idle HTTP/1 connection is closed sooner, by the request head
    /// timeout.
    pub idle_timeout: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        Self {
            max_connections: 4096,
            request_head_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            max_request_body_bytes: 100 << 20,
            http2_keep_alive: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// How the ingress maps a request to a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RoutingMode {
    /// One listener per link, at the link config's `address` (upstream's
    /// default).
    #[default]
    Address,
    /// One listener at `default_address`; the link config's `path` is a
    /// prefix of the request paths it receives (longest prefix wins, the
    /// path reaches the component unchanged).
    Path,
    /// One listener at `default_address`; the link config's `host` is
    /// matched against the request's host name (without port).
    Host,
}

/// The provider-level settings of one ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressSettings {
    /// How requests are routed.
    pub routing_mode: RoutingMode,
    /// The shared listener's address in path and host mode; the address of a
    /// link without `address` in address mode.
    pub default_address: SocketAddr,
    /// How long a removed route's listener drains in-flight requests.
    pub drain_timeout: Duration,
    /// What one client may hold or send.
    pub client_limits: ClientLimits,
    /// Host mode: the request header whose value names the host (`header`,
    /// as upstream's provider reads it); `None` for the URI's authority or
    /// the `Host` header.
    pub host_header: Option<http::HeaderName>,
}

impl Default for IngressSettings {
    fn default() -> Self {
        Self {
            routing_mode: RoutingMode::default(),
            default_address: DEFAULT_ADDRESS,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            client_limits: ClientLimits::default(),
            host_header: None,
        }
    }
}

impl IngressSettings {
    /// Reads `routing_mode` (`address`, `path` or `host`; default
    /// `address`), `default_address` (default [`DEFAULT_ADDRESS`]) and the
    /// keys of [`ClientLimits`] from the provider config. Other keys are
    /// ignored.
    ///
    /// # Errors
    ///
    /// [`IngressError::InvalidRoutingMode`] for an unknown mode,
    /// [`IngressError::InvalidAddress`] for an address that does not parse
    /// and [`IngressError::InvalidNumber`] for a limit that is not a
    /// positive whole number in range.
    pub fn from_provider_config<I, K, V>(config: I) -> Result<Self, IngressError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut settings = Self::default();
        for (key, value) in config {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            if key.eq_ignore_ascii_case("routing_mode") {
                settings.routing_mode = parse_mode(value)?;
            } else if key.eq_ignore_ascii_case("default_address") {
                settings.default_address = parse_address("default_address", value)?;
            } else if key.eq_ignore_ascii_case("header") {
                settings.host_header = parse_header(value)?;
            } else {
                settings.client_limits.read(key, value)?;
            }
        }
        Ok(settings)
    }
}

impl ClientLimits {
    /// Applies one provider-config key, if it is one of ours.
    fn read(&mut self, key: &str, value: &str) -> Result<(), IngressError> {
        const HOUR_MS: u64 = 3_600_000;
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "max_connections" => {
                let n = parse_number("max_connections", value, 1 << 20, 4096)?;
                self.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
            }
            "request_head_timeout_ms" => {
                let ms = parse_number("request_head_timeout_ms", value, HOUR_MS, 10_000)?;
                self.request_head_timeout = Duration::from_millis(ms);
            }
            "body_idle_timeout_ms" => {
                let ms = parse_number("body_idle_timeout_ms", value, HOUR_MS, 30_000)?;
                self.body_idle_timeout = Duration::from_millis(ms);
            }
            "max_request_body_bytes" => {
                self.max_request_body_bytes = parse_number("max_request_body_bytes", value, 1 << 40, 100 << 20)?;
            }
            "http2_keep_alive_ms" => {
                let ms = parse_number("http2_keep_alive_ms", value, HOUR_MS, 20_000)?;
                self.http2_keep_alive = Duration::from_millis(ms);
            }
            "idle_timeout_ms" => {
                let ms = parse_number("idle_timeout_ms", value, HOUR_MS, 60_000)?;
                self.idle_timeout = Duration::from_millis(ms);
            }
            _ => {}
        }
        Ok(())
    }
}

fn parse_number(key: &'static str, value: &str, max: u64, example: u64) -> Result<u64, IngressError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| IngressError::InvalidNumber {
            key,
            value: value.to_string(),
            max,
            example,
        })
}

/// `host` (any case) is the default; anything else names the header to read.
fn parse_header(value: &str) -> Result<Option<http::HeaderName>, IngressError> {
    let name = http::HeaderName::try_from(value).map_err(|_| IngressError::InvalidHeader {
        value: value.to_owned(),
    })?;
    Ok((name != http::header::HOST).then_some(name))
}

fn parse_mode(value: &str) -> Result<RoutingMode, IngressError> {
    if value.eq_ignore_ascii_case("address") {
        Ok(RoutingMode::Address)
    } else if value.eq_ignore_ascii_case("path") {
        Ok(RoutingMode::Path)
    } else if value.eq_ignore_ascii_case("host") {
        Ok(RoutingMode::Host)
    } else {
        Err(IngressError::InvalidRoutingMode {
            value: value.to_string(),
        })
    }
}

fn parse_address(key: &'static str, value: &str) -> Result<SocketAddr, IngressError> {
    value.parse().map_err(|source| IngressError::InvalidAddress {
        key,
        value: value.to_string(),
        source,
    })
}

/// What one link asks of the ingress.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RouteSpec {
    /// Its own listener at this address.
    Address(SocketAddr),
    /// A normalized path prefix on the shared listener.
    Path(String),
    /// A lowercase host name on the shared listener.
    Host(String),
}

impl RouteSpec {
    /// Reads the route from a link's source config under `settings`.
    pub(crate) fn from_link_config<I, K, V>(
        settings: &IngressSettings,
        component_id: &ComponentId,
        config: I,
    ) -> Result<Self, IngressError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let wanted = match settings.routing_mode {
            RoutingMode::Address => "address",
            RoutingMode::Path => "path",
            RoutingMode::Host => "host",
        };
        let value = config
            .into_iter()
            .find(|(key, _)| key.as_ref().eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_ref().trim().to_string());
        match (settings.routing_mode, value) {
            (RoutingMode::Address, None) => Ok(Self::Address(settings.default_address)),
            (RoutingMode::Address, Some(value)) => parse_address("address", &value).map(Self::Address),
            (RoutingMode::Path, None) => Err(IngressError::MissingPath {
                component_id: component_id.clone(),
            }),
            (RoutingMode::Path, Some(path)) => normalize_path(&path).map(Self::Path),
            (RoutingMode::Host, Some(host)) if !host.is_empty() => {
                Ok(Self::Host(strip_port(&host).to_ascii_lowercase()))
            }
            (RoutingMode::Host, _) => Err(IngressError::MissingHost {
                component_id: component_id.clone(),
            }),
        }
    }
}

/// Turns a link's `path` into the prefix the router compares: it must start
/// with `/`; trailing `/`s and trailing catch-all segments in upstream's
/// router syntax (`/api/{*rest}`, `/api/*rest`) are dropped until none is
/// left, so `/api`, `/api/`, `/api/{*rest}` and `/api/*rest/` name the
/// same route, and a normalized prefix normalizes to itself.
pub(crate) fn normalize_path(path: &str) -> Result<String, IngressError> {
    if !path.starts_with('/') {
        return Err(IngressError::InvalidPath { path: path.to_string() });
    }
    let mut prefix = path.trim_end_matches('/');
    while let Some(slash) = prefix.rfind('/') {
        let last = &prefix[slash + 1..];
        if !(last.starts_with("{*") && last.ends_with('}') || last.starts_with('*')) {
            break;
        }
        prefix = prefix[..slash].trim_end_matches('/');
    }
    Ok(if prefix.is_empty() {
        "/".to_string()
    } else {
        prefix.to_string()
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
    use std::collections::HashMap;

    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    #[test]
    fn provider_config_defaults_to_address_mode_on_loopback() {
        let settings = IngressSettings::from_provider_config(&map(&[])).unwrap();
        assert_eq!(settings.routing_mode, RoutingMode::Address);
        assert_eq!(settings.default_address, "127.0.0.1:8000".parse().unwrap());
    }

    #[test]
    fn provider_config_keys_are_case_insensitive() {
        let config = map(&[("ROUTING_MODE", "Path"), ("Default_Address", "127.0.0.1:9000")]);
        let settings = IngressSettings::from_provider_config(&config).unwrap();
        assert_eq!(settings.routing_mode, RoutingMode::Path);
        assert_eq!(settings.default_address.port(), 9000);
    }

    #[test]
    fn client_limits_come_from_provider_config() {
        let config = map(&[
            ("MAX_CONNECTIONS", "8"),
            ("request_head_timeout_ms", "250"),
            ("body_idle_timeout_ms", "500"),
            ("max_request_body_bytes", "1024"),
            ("http2_keep_alive_ms", "1000"),
            ("Idle_Timeout_Ms", "2000"),
        ]);
        let limits = IngressSettings::from_provider_config(&config).unwrap().client_limits;
        assert_eq!(limits.max_connections, 8);
        assert_eq!(limits.request_head_timeout, Duration::from_millis(250));
        assert_eq!(limits.body_idle_timeout, Duration::from_millis(500));
        assert_eq!(limits.max_request_body_bytes, 1024);
        assert_eq!(limits.http2_keep_alive, Duration::from_secs(1));
        assert_eq!(limits.idle_timeout, Duration::from_secs(2));
        for (key, value) in [
            ("max_connections", "0"),
            ("body_idle_timeout_ms", "soon"),
            ("max_connections", "-1"),
        ] {
            let err = IngressSettings::from_provider_config(&map(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
            assert!(err.to_string().contains("use e.g."), "{err}");
        }
    }

    #[test]
    fn bad_provider_config_is_refused() {
        let err = IngressSettings::from_provider_config(&map(&[("routing_mode", "dns")])).unwrap_err();
        assert!(matches!(err, IngressError::InvalidRoutingMode { .. }), "{err}");
        let err = IngressSettings::from_provider_config(&map(&[("default_address", "localhost")])).unwrap_err();
        assert!(err.to_string().contains("not a socket address"), "{err}");
    }

    #[test]
    fn link_config_gives_the_route_of_the_mode() {
        let id = ComponentId::from("c");
        let address = IngressSettings::default();
        let spec = RouteSpec::from_link_config(&address, &id, &map(&[("ADDRESS", "127.0.0.1:8081")])).unwrap();
        assert_eq!(spec, RouteSpec::Address("127.0.0.1:8081".parse().unwrap()));
        let spec = RouteSpec::from_link_config(&address, &id, &map(&[])).unwrap();
        assert_eq!(spec, RouteSpec::Address(DEFAULT_ADDRESS));

        let path = IngressSettings {
            routing_mode: RoutingMode::Path,
            ..IngressSettings::default()
        };
        let spec = RouteSpec::from_link_config(&path, &id, &map(&[("path", "/api/")])).unwrap();
        assert_eq!(spec, RouteSpec::Path("/api".into()));
        let err = RouteSpec::from_link_config(&path, &id, &map(&[("address", "127.0.0.1:1")])).unwrap_err();
        assert!(matches!(err, IngressError::MissingPath { .. }), "{err}");

        let host = IngressSettings {
            routing_mode: RoutingMode::Host,
            ..IngressSettings::default()
        };
        let spec = RouteSpec::from_link_config(&host, &id, &map(&[("host", "API.example.com:80")])).unwrap();
        assert_eq!(spec, RouteSpec::Host("api.example.com".into()));
    }

    #[test]
    fn paths_normalize_to_one_prefix() {
        for path in [
            "/api",
            "/api/",
            "/api/{*rest}",
            "/api/*rest",
            "/api/*rest/",
            "/api//{*a}/*b",
        ] {
            assert_eq!(normalize_path(path).unwrap(), "/api", "{path}");
        }
        assert_eq!(normalize_path("/").unwrap(), "/");
        assert_eq!(normalize_path("/{*all}").unwrap(), "/");
        assert!(normalize_path("api").is_err());
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("example.com:8080"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
    }
}
