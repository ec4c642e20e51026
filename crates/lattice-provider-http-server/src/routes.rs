//! The routes of one listener: an immutable table, replaced whole when a link changes, that a
//! request matches without allocating — by nothing (address mode), by longest path prefix on
//! a segment boundary (path mode) or by host name without port (host mode).

use std::sync::Arc;
use std::time::Duration;

use lattice_provider_sdk::{ComponentClient, ProviderError, ProviderHandle};
use tokio::sync::OnceCell;

use crate::settings::{Matcher, strip_port};

/// A linked component and the one wRPC client every request to it shares, made on the first
/// request (a link may be applied before the provider's connection exists).
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) component_id: Arc<str>,
    client: OnceCell<ComponentClient>,
}

impl Target {
    pub(crate) fn new(component_id: &str) -> Self {
        Self {
            component_id: component_id.into(),
            client: OnceCell::new(),
        }
    }

    /// The client, made once.
    pub(crate) async fn client(&self, handle: &ProviderHandle) -> Result<&ComponentClient, ProviderError> {
        self.client
            .get_or_try_init(|| handle.client_for(&self.component_id))
            .await
    }
}

/// One link's route.
#[derive(Debug)]
pub(crate) struct Route {
    /// The link's name (with the target, what identifies the link).
    pub(crate) link_name: String,
    pub(crate) matcher: Matcher,
    pub(crate) target: Arc<Target>,
    pub(crate) readonly: bool,
    pub(crate) timeout: Option<Duration>,
}

impl Route {
    /// Whether this route belongs to the link to `component_id` named `link_name`.
    pub(crate) fn is_link(&self, component_id: &str, link_name: &str) -> bool {
        &*self.target.component_id == component_id && self.link_name == link_name
    }
}

/// A listener's routes, path routes longest prefix first.
#[derive(Debug, Default)]
pub(crate) struct Table {
    routes: Vec<Arc<Route>>,
}

impl Table {
    /// The route of a request with this path and host, if one matches.
    pub(crate) fn find(&self, path: &str, host: Option<&str>) -> Option<&Arc<Route>> {
        self.routes.iter().find(|route| match &route.matcher {
            Matcher::Any => true,
            Matcher::Path(prefix) => path_matches(prefix, path),
            Matcher::Host(name) => host.is_some_and(|host| strip_port(host.trim()).eq_ignore_ascii_case(name)),
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The table without the route of the link to `component_id` named `link_name`.
    pub(crate) fn without(&self, component_id: &str, link_name: &str) -> Self {
        Self {
            routes: self
                .routes
                .iter()
                .filter(|route| !route.is_link(component_id, link_name))
                .cloned()
                .collect(),
        }
    }

    /// The table with `route` added.
    ///
    /// # Errors
    ///
    /// When another link's route takes the same requests; the message names that link's
    /// component.
    pub(crate) fn with(&self, route: Arc<Route>) -> Result<Self, String> {
        if let Some(clash) = self
            .routes
            .iter()
            .find(|r| r.matcher == route.matcher || r.matcher == Matcher::Any)
        {
            let what = match &route.matcher {
                Matcher::Any => "this address".to_owned(),
                Matcher::Path(path) => format!("path `{path}`"),
                Matcher::Host(host) => format!("host `{host}`"),
            };
            return Err(format!(
                "{what} is routed to component `{}` already (link `{}`): delete that link or choose another",
                clash.target.component_id, clash.link_name
            ));
        }
        let mut routes = self.routes.clone();
        let len = |r: &Route| match &r.matcher {
            Matcher::Path(prefix) => prefix.len(),
            _ => 0,
        };
        let at = routes
            .iter()
            .position(|existing| len(existing) < len(&route))
            .unwrap_or(routes.len());
        routes.insert(at, route);
        Ok(Self { routes })
    }
}

/// Whether the normalized `prefix` covers `path` on a segment boundary: `/api` covers `/api`,
/// `/api/` and `/api/users`, not `/apis`.
fn path_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(component: &str, matcher: Matcher) -> Arc<Route> {
        Arc::new(Route {
            link_name: "default".into(),
            matcher,
            target: Arc::new(Target::new(component)),
            readonly: false,
            timeout: None,
        })
    }

    fn routed<'a>(table: &'a Table, path: &str, host: Option<&str>) -> Option<&'a str> {
        table.find(path, host).map(|r| &*r.target.component_id)
    }

    #[test]
    fn longest_prefix_wins_on_segment_boundaries() {
        let table = Table::default()
            .with(route("api", Matcher::Path("/api".into())))
            .unwrap()
            .with(route("root", Matcher::Path("/".into())))
            .unwrap()
            .with(route("users", Matcher::Path("/api/users".into())))
            .unwrap();
        assert_eq!(routed(&table, "/api", None), Some("api"));
        assert_eq!(routed(&table, "/api/orders/1", None), Some("api"));
        assert_eq!(routed(&table, "/api/users/7", None), Some("users"));
        assert_eq!(routed(&table, "/apis", None), Some("root"));
        let table = table.without("root", "default");
        assert_eq!(routed(&table, "/apis", None), None);
        assert_eq!(routed(&table, "/", None), None);
    }

    #[test]
    fn hosts_match_without_port_or_case() {
        let table = Table::default()
            .with(route("api", Matcher::Host("api.example.com".into())))
            .unwrap();
        assert_eq!(routed(&table, "/", Some("API.example.com:8000")), Some("api"));
        assert_eq!(routed(&table, "/", Some("www.example.com")), None);
        assert_eq!(routed(&table, "/", None), None);
    }

    #[test]
    fn a_second_route_for_the_same_requests_is_refused() {
        let table = Table::default().with(route("a", Matcher::Any)).unwrap();
        let err = table.with(route("b", Matcher::Any)).unwrap_err();
        assert_eq!(
            err,
            "this address is routed to component `a` already (link `default`): delete that link or choose another"
        );
        let table = Table::default().with(route("a", Matcher::Path("/x".into()))).unwrap();
        assert!(table.with(route("b", Matcher::Path("/x".into()))).is_err());
        assert!(table.with(route("b", Matcher::Path("/y".into()))).is_ok());
        assert!(table.without("a", "default").is_empty());
        assert!(!table.without("a", "other").is_empty());
    }
}
