//! The routes one listener serves, and the per-request match: a listener in
//! address mode serves one component; the shared listener of path or host
//! mode picks the component by longest path prefix or by host name. Matching
//! allocates nothing.

use lattice_runtime::ComponentId;

use super::config::strip_port;

/// What one listener routes. Replaced whole (copy on write) when a route is
/// added or removed; requests only read it.
#[derive(Debug, Clone)]
pub(crate) enum RouteSet {
    /// Address mode: every request goes to this component.
    Single(ComponentId),
    /// Path mode: `(prefix, component)`, longest prefix first.
    Paths(Vec<(String, ComponentId)>),
    /// Host mode: `(lowercase host, component)`, the host read from
    /// `header` when set, else from the URI's authority or `Host`.
    Hosts {
        header: Option<http::HeaderName>,
        hosts: Vec<(String, ComponentId)>,
    },
}

impl RouteSet {
    /// The component for a request with this path and host (the URI's
    /// authority or the `Host` header), if any route matches.
    pub(crate) fn route(&self, path: &str, host: Option<&str>) -> Option<&ComponentId> {
        match self {
            Self::Single(id) => Some(id),
            Self::Paths(paths) => paths
                .iter()
                .find(|(prefix, _)| path_matches(prefix, path))
                .map(|(_, id)| id),
            Self::Hosts { hosts, .. } => {
                let host = strip_port(host?);
                hosts
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(host))
                    .map(|(_, id)| id)
            }
        }
    }

    /// Adds a path route, keeping the longest-prefix-first order.
    pub(crate) fn insert_path(paths: &mut Vec<(String, ComponentId)>, prefix: String, id: ComponentId) {
        let at = paths
            .iter()
            .position(|(existing, _)| existing.len() < prefix.len())
            .unwrap_or(paths.len());
        paths.insert(at, (prefix, id));
    }
}

/// Whether `prefix` (normalized: no trailing `/` unless it is `/`) covers
/// `path` on a segment boundary: `/api` covers `/api`, `/api/` and
/// `/api/users`, not `/apis`.
pub(crate) fn path_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(routes: &[(&str, &str)]) -> RouteSet {
        let mut paths = Vec::new();
        for (prefix, id) in routes {
            RouteSet::insert_path(&mut paths, (*prefix).to_string(), ComponentId::from(*id));
        }
        RouteSet::Paths(paths)
    }

    fn routed<'a>(set: &'a RouteSet, path: &str) -> Option<&'a str> {
        set.route(path, None).map(ComponentId::as_str)
    }

    #[test]
    fn longest_prefix_wins_on_segment_boundaries() {
        let set = paths(&[("/api", "api"), ("/", "root"), ("/api/users", "users")]);
        assert_eq!(routed(&set, "/api"), Some("api"));
        assert_eq!(routed(&set, "/api/"), Some("api"));
        assert_eq!(routed(&set, "/api/orders/1"), Some("api"));
        assert_eq!(routed(&set, "/api/users"), Some("users"));
        assert_eq!(routed(&set, "/api/users/7"), Some("users"));
        assert_eq!(routed(&set, "/apis"), Some("root"));
        assert_eq!(routed(&set, "/"), Some("root"));
    }

    #[test]
    fn no_match_without_a_covering_prefix() {
        let set = paths(&[("/api", "api")]);
        assert_eq!(routed(&set, "/"), None);
        assert_eq!(routed(&set, "/apix"), None);
        assert_eq!(routed(&RouteSet::Paths(Vec::new()), "/api"), None);
    }

    #[test]
    fn hosts_match_without_port_or_case() {
        let set = RouteSet::Hosts {
            header: None,
            hosts: vec![("api.example.com".into(), "api".into())],
        };
        assert_eq!(
            set.route("/", Some("API.example.com:8000")).map(ComponentId::as_str),
            Some("api")
        );
        assert_eq!(set.route("/", Some("www.example.com")), None);
        assert_eq!(set.route("/", None), None);
    }
}
