//! Entry points for the fuzz targets of `crates/lattice-fuzz`: the host's
//! readers of input it does not control (lattice bucket values other hosts
//! wrote, link and provider config, HTTP request heads, artifact
//! references), callable without NATS or a listener. Compiled only with
//! the `fuzzing` feature; not a stable API.
//!
//! Each function runs the same code the host runs and panics when a
//! property that code promises does not hold, so the fuzzer reports it.

use std::path::{Component, Path};

use http::{HeaderValue, Request};
use lattice_control_interface::ConfigName;
use lattice_runtime::ComponentId;

use crate::artifact::{Source, classify, fold_dots};
use crate::ingress::config::{RouteSpec, normalize_path, strip_port};
use crate::ingress::routes::{RouteSet, path_matches};
use crate::ingress::service::{declared_length, fill_authority, request_host, route};
use crate::ingress::{IngressSettings, RoutingMode};
use crate::state::{EntryRef, LatticeState};
use crate::store::{COMPONENT_PREFIX, StoredClaims};

/// One entry of `LATTICEDATA` (or, with `config`, `CONFIGDATA`) as a watch
/// delivers it: `value` is `None` for a delete or purge.
#[derive(Debug, Clone)]
pub struct BucketEntry {
    /// Whether the entry belongs to the config bucket.
    pub config: bool,
    /// The key, as another host (or anyone with bucket access) wrote it.
    pub key: String,
    /// The bytes written.
    pub value: Option<Vec<u8>>,
}

/// Applies `entries` (revision `i + 1` for the `i`th) in their own order and
/// again in the order `order` gives (indices into `entries`, each used at
/// most once; the rest follow in their own order). Bucket revisions are
/// unique, so both hosts must end in the same state however the initial
/// load and the watch interleave: the links of every component, what they
/// lead to and every named config must agree. Claims entries must read back
/// what they decode to.
pub fn lattice_buckets(entries: &[BucketEntry], order: &[usize]) {
    let in_order = LatticeState::default();
    for (i, entry) in entries.iter().enumerate() {
        apply(&in_order, entry, i);
    }
    let mut seen = vec![false; entries.len()];
    let shuffled_order: Vec<usize> = order
        .iter()
        .copied()
        .chain(0..entries.len())
        .filter(|&i| i < entries.len() && !std::mem::replace(&mut seen[i], true))
        .collect();
    let shuffled = LatticeState::default();
    for &i in &shuffled_order {
        apply(&shuffled, &entries[i], i);
    }

    for entry in entries {
        if entry.config {
            let name = ConfigName::new(entry.key.as_str());
            assert_eq!(
                in_order.config(&name),
                shuffled.config(&name),
                "config {name} depends on order"
            );
            continue;
        }
        if let Some(id) = entry.key.strip_prefix(COMPONENT_PREFIX) {
            let id = lattice_control_interface::ComponentId::new(id);
            let links = in_order.links_from(&id);
            assert_eq!(links, shuffled.links_from(&id), "links of {id} depend on order");
            for state in [&in_order, &shuffled] {
                for link in &links {
                    for interface in &link.interfaces {
                        let name = format!("{}:{}/{interface}", link.wit_namespace, link.wit_package);
                        assert!(
                            state
                                .link_targets()
                                .get(id.as_str(), link.name.as_str(), &name)
                                .is_some(),
                            "link {} of {id} to {name} has no target",
                            link.name
                        );
                    }
                }
            }
        }
        if let Some(value) = &entry.value
            && let Ok(claims) = serde_json::from_slice::<StoredClaims>(value)
        {
            let written = serde_json::to_vec(&claims).expect("stored claims encode");
            let read: StoredClaims = serde_json::from_slice(&written).expect("written claims decode");
            assert_eq!(read, claims, "claims change when written back");
        }
    }
}

fn apply(state: &LatticeState, entry: &BucketEntry, index: usize) {
    let entry_ref = EntryRef {
        key: &entry.key,
        revision: index as u64 + 1,
        value: entry.value.as_deref(),
    };
    if entry.config {
        state.apply_config(entry_ref);
    } else {
        state.apply_data(entry_ref);
    }
}

/// An HTTP request head as a client sends it, before hyper has judged it.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The request target (`/path?q`, `http://host/path`, `*`, ...).
    pub uri: String,
    /// The `Host` header, if sent.
    pub host: Option<Vec<u8>>,
    /// The `X-Forwarded-Host` header, if sent.
    pub forwarded_host: Option<Vec<u8>>,
    /// The `Content-Length` header, if sent.
    pub content_length: Option<Vec<u8>>,
}

/// Reads the http-server settings from `provider_config`, adds each link's
/// route from its source config as the ingress does (a route another link
/// holds is refused), then routes `request`. The chosen component must
/// match by the mode's rule (longest path prefix on a segment boundary, or
/// the host without its port, case-insensitively), and after the authority
/// is filled in the request must name a host.
pub fn ingress_routing(
    provider_config: &[(String, String)],
    links: &[(String, Vec<(String, String)>)],
    request: &RequestHead,
) {
    let Ok(settings) = IngressSettings::from_provider_config(pairs(provider_config)) else {
        return;
    };
    let mut routes = match settings.routing_mode {
        RoutingMode::Address => None,
        RoutingMode::Path => Some(RouteSet::Paths(Vec::new())),
        RoutingMode::Host => Some(RouteSet::Hosts {
            header: settings.host_header.clone(),
            hosts: Vec::new(),
        }),
    };
    let mut specs: Vec<RouteSpec> = Vec::new();
    for (id, config) in links {
        let id = ComponentId::new(id.as_str());
        let Ok(spec) = RouteSpec::from_link_config(&settings, &id, pairs(config)) else {
            continue;
        };
        if specs.contains(&spec) {
            continue;
        }
        match (&spec, &mut routes) {
            (RouteSpec::Path(prefix), Some(RouteSet::Paths(paths))) => {
                assert_eq!(normalize_path(prefix).as_deref().ok(), Some(prefix.as_str()));
                RouteSet::insert_path(paths, prefix.clone(), id);
            }
            (RouteSpec::Host(host), Some(RouteSet::Hosts { hosts, .. })) => hosts.push((host.clone(), id)),
            (RouteSpec::Address(_), None) => {
                // Address mode: a listener of its own per route.
                routes.get_or_insert(RouteSet::Single(id));
            }
            (spec, routes) => panic!("route {spec:?} read in the wrong mode for {routes:?}"),
        }
        specs.push(spec);
    }

    let Ok(mut request) = build_request(request) else {
        return;
    };
    let _ = declared_length(&request);
    if let Some(routes) = &routes {
        let chosen = route(routes, &request).cloned();
        check_route(routes, &request, chosen.as_ref());
    }
    fill_authority(&mut request, &HeaderValue::from_static("127.0.0.1:8000"));
    assert!(
        request.uri().authority().is_some() || request.headers().contains_key(http::header::HOST),
        "a request left without an authority"
    );
}

fn pairs(config: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
    config.iter().map(|(k, v)| (k.as_str(), v.as_str()))
}

fn build_request(head: &RequestHead) -> Result<Request<()>, http::Error> {
    let mut builder = Request::builder().uri(head.uri.as_str());
    for (name, value) in [
        ("host", &head.host),
        ("x-forwarded-host", &head.forwarded_host),
        ("content-length", &head.content_length),
    ] {
        if let Some(value) = value {
            builder = builder.header(name, value.as_slice());
        }
    }
    builder.body(())
}

fn check_route(routes: &RouteSet, request: &Request<()>, chosen: Option<&ComponentId>) {
    match routes {
        RouteSet::Single(id) => assert_eq!(chosen, Some(id)),
        RouteSet::Paths(paths) => {
            let path = request.uri().path();
            let longest = paths
                .iter()
                .filter(|(prefix, _)| path_matches(prefix, path))
                .max_by_key(|(prefix, _)| prefix.len());
            match (chosen, longest) {
                (None, None) => {}
                (Some(id), Some((prefix, _))) => assert!(
                    paths
                        .iter()
                        .any(|(p, i)| i == id && p.len() == prefix.len() && path_matches(p, path)),
                    "{path} routed to {id}, not by its longest prefix {prefix}"
                ),
                (chosen, longest) => panic!("{path} routed to {chosen:?}, longest prefix {longest:?}"),
            }
        }
        RouteSet::Hosts { hosts, .. } => {
            if let Some(id) = chosen {
                let host = request_host(routes, request).expect("routed by host without a host");
                assert!(
                    hosts
                        .iter()
                        .any(|(name, i)| i == id && name.eq_ignore_ascii_case(strip_port(host))),
                    "host {host} routed to {id}"
                );
            }
        }
    }
}

/// Reads an artifact reference as `component.scale` and `provider.start`
/// do; a `file://` path that folds its `.` and `..` away must come out
/// absolute, with none left, and fold to itself again.
pub fn artifact_reference(reference: &str) {
    if let Ok(Source::File(path)) = classify(reference)
        && let Some(folded) = fold_dots(&path)
    {
        assert!(folded.is_absolute(), "{} folded to a relative path", path.display());
        assert!(
            !folded
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::CurDir)),
            "{} keeps a dot after folding",
            folded.display()
        );
        assert_eq!(fold_dots(&folded).as_deref(), Some(folded.as_path()));
        assert!(folded.starts_with(Path::new("/")));
    }
}
