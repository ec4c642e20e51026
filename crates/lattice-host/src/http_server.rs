//! The built-in `wasmcloud+builtin://http-server` provider: one
//! [`HttpIngress`] per started provider, whose routes follow the provider's
//! links to components exporting `wasi:http/incoming-handler`. Links are
//! reconciled from the lattice state whenever they or the config they name
//! change, on whichever host the provider runs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use lattice_control_interface::{ComponentId, Link, ProviderId};

use crate::components::Components;
use crate::ingress::{ComponentLookup, HttpIngress, IngressError, IngressSettings, RequestObserver, RouteKey};

/// One route the host serves over HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRoute {
    /// The http-server provider serving it.
    pub provider_id: ProviderId,
    /// The component requests go to.
    pub component_id: ComponentId,
    /// The link's name.
    pub link_name: String,
    /// The bound address.
    pub address: SocketAddr,
}

/// Whether `link` asks the http server to deliver requests to its target.
pub(crate) fn is_http_link(link: &Link) -> bool {
    link.wit_namespace == "wasi"
        && link.wit_package == "http"
        && link.interfaces.iter().any(|i| i == "incoming-handler")
}

/// The running http-server providers and their ingresses.
#[derive(Debug, Default)]
pub(crate) struct HttpServers {
    ingresses: Mutex<HashMap<ProviderId, Arc<HttpIngress>>>,
    /// Given to each ingress started from now on.
    observer: Mutex<Option<Arc<dyn RequestObserver>>>,
    /// Starts a span per request, when traces are on.
    tracer: Option<lattice_telemetry::Tracer>,
}

impl std::fmt::Debug for dyn RequestObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestObserver")
    }
}

impl HttpServers {
    /// No http servers yet; each one's requests will be traced with `tracer`, if any.
    pub(crate) fn new(tracer: Option<lattice_telemetry::Tracer>) -> Self {
        Self {
            tracer,
            ..Self::default()
        }
    }

    /// Starts the ingress of provider `id` with its merged provider config.
    pub(crate) fn start(
        &self,
        id: &ProviderId,
        provider_config: &BTreeMap<String, String>,
        components: &Arc<Components>,
    ) -> Result<(), IngressError> {
        let settings = IngressSettings::from_provider_config(provider_config)?;
        let components = Arc::clone(components);
        let observer = self.observer.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let ingress = HttpIngress::instrumented(
            settings,
            move |component_id: &str| components.lookup(component_id),
            crate::ingress::Instruments {
                observer,
                tracer: self.tracer.clone(),
            },
        )?;
        self.lock().insert(id.clone(), Arc::new(ingress));
        Ok(())
    }

    /// Has every http-server started from now on tell `observer` of each request.
    pub(crate) fn observe(&self, observer: Arc<dyn RequestObserver>) {
        *self.observer.lock().unwrap_or_else(PoisonError::into_inner) = Some(observer);
    }

    /// Stops the ingress of provider `id`, letting requests in flight finish
    /// for up to `drain`.
    pub(crate) async fn stop(&self, id: &ProviderId, drain: Duration) {
        let ingress = self.lock().remove(id);
        if let Some(ingress) = ingress {
            ingress.shutdown(drain).await;
        }
    }

    /// Stops every ingress within `drain`.
    pub(crate) async fn stop_all(&self, drain: Duration) {
        let all: Vec<_> = self.lock().drain().map(|(_, ingress)| ingress).collect();
        futures::future::join_all(all.iter().map(|ingress| ingress.shutdown(drain))).await;
    }

    /// Makes the routes of provider `id` match its `links`, with each link's
    /// source config merged by `config_of`. Links that cannot be routed are
    /// logged and skipped; the others are still served.
    pub(crate) fn reconcile(
        &self,
        id: &ProviderId,
        links: &[Link],
        config_of: impl Fn(&Link) -> BTreeMap<String, String>,
    ) {
        let Some(ingress) = self.lock().get(id).cloned() else {
            return;
        };
        let wanted: Vec<(RouteKey, BTreeMap<String, String>)> = links
            .iter()
            .filter(|link| link.source_id.as_str() == id.as_str() && is_http_link(link))
            .map(|link| (RouteKey::new(link.target.as_str(), link.name.as_str()), config_of(link)))
            .collect();
        let keep: HashSet<&RouteKey> = wanted.iter().map(|(key, _)| key).collect();
        for (key, _) in ingress.routes() {
            if !keep.contains(&key) {
                ingress.remove_route(&key);
            }
        }
        for (key, config) in &wanted {
            let added = match ingress.add_route(key.clone(), config) {
                // The link's config changed: route it anew.
                Err(IngressError::RouteExists { .. }) => {
                    ingress.remove_route(key);
                    ingress.add_route(key.clone(), config)
                }
                other => other,
            };
            if let Err(error) = added {
                tracing::warn!(
                    provider_id = %id,
                    component_id = %key.component_id,
                    link_name = %key.link_name,
                    %error,
                    "cannot serve the link over http"
                );
            }
        }
    }

    /// Every route served, ordered by provider, component and link name.
    pub(crate) fn routes(&self) -> Vec<HttpRoute> {
        let ingresses: Vec<_> = self.lock().iter().map(|(id, i)| (id.clone(), Arc::clone(i))).collect();
        let mut routes: Vec<HttpRoute> = ingresses
            .into_iter()
            .flat_map(|(provider_id, ingress)| {
                ingress.routes().into_iter().map(move |(key, address)| HttpRoute {
                    provider_id: provider_id.clone(),
                    component_id: ComponentId::new(key.component_id.as_str()),
                    link_name: key.link_name,
                    address,
                })
            })
            .collect();
        routes.sort_by(|a, b| {
            (&a.provider_id, &a.component_id, &a.link_name).cmp(&(&b.provider_id, &b.component_id, &b.link_name))
        });
        routes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProviderId, Arc<HttpIngress>>> {
        self.ingresses.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_links_are_recognised() {
        let link = Link {
            source_id: ComponentId::new("http"),
            target: ComponentId::new("hello"),
            wit_namespace: "wasi".into(),
            wit_package: "http".into(),
            interfaces: vec!["incoming-handler".into()],
            ..Link::default()
        };
        assert!(is_http_link(&link));
        let kv = Link {
            wit_package: "keyvalue".into(),
            interfaces: vec!["store".into()],
            ..link
        };
        assert!(!is_http_link(&kv));
    }
}
