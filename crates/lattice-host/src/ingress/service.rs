//! One request through the ingress (the hot path): match the listener's
//! routes, ask the host for the running component, run the component's
//! `wasi:http/incoming-handler` (the runtime waits for an instance permit),
//! and turn every failure into a response for this request alone (404 no
//! route, 503 not running, 403 refused by policy, 500 guest failure). No NATS, no global lock, no allocation on
//! the success path beyond what hyper and the runtime need.

use std::convert::Infallible;
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use lattice_runtime::{ComponentId, ErrorKind, ResponseBody};
use lattice_telemetry::api::SpanKind;
use lattice_telemetry::{Context, KeyValue};

use super::body::BoundedBody;
use super::config::ClientLimits;
use super::lookup::ComponentLookup;
use super::routes::RouteSet;
use crate::telemetry::spans;

/// What every connection of one listener shares.
pub(crate) struct Shared {
    /// The listener's routes; written only when a link changes.
    pub(crate) routes: RwLock<RouteSet>,
    /// Where running components are found.
    pub(crate) lookup: Arc<dyn ComponentLookup>,
    /// The listener's own address as a `Host` value, for the rare request
    /// that names no host (HTTP/1.0): `wasi:http` requires an authority.
    pub(crate) local_host: HeaderValue,
    /// What one client may send.
    pub(crate) limits: ClientLimits,
    /// Told of each answered request, if anyone asked.
    pub(crate) observer: Option<Arc<dyn super::RequestObserver>>,
    /// Starts a span per request routed to a running component, when traces are on.
    pub(crate) tracer: Option<lattice_telemetry::Tracer>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("routes", &self.routes)
            .field("local_host", &self.local_host)
            .finish_non_exhaustive()
    }
}

/// The upstream provider takes the authority from `X-Forwarded-Host` before
/// `Host` when the request URI has none.
const X_FORWARDED_HOST: &str = "x-forwarded-host";

/// Serves one request. Never fails: errors become responses.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    mut request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let found = {
        let routes = shared.routes.read().unwrap_or_else(PoisonError::into_inner);
        route(&routes, &request).map(|id| (id.clone(), shared.lookup.lookup(id.as_str())))
    };
    let (component_id, component) = match found {
        None => return Ok(text(StatusCode::NOT_FOUND, "no route for this request\n".into())),
        Some((id, None)) => {
            tracing::debug!(component_id = %id, "http request for a component that is not running");
            return Ok(not_running(&id));
        }
        Some((id, Some(component))) => (id, component),
    };
    fill_authority(&mut request, &shared.local_host);
    let limit = shared.limits.max_request_body_bytes;
    if declared_length(&request).is_some_and(|length| length > limit) {
        return Ok(text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than this ingress accepts ({limit} bytes)\n"),
        ));
    }
    let idle = shared.limits.body_idle_timeout;
    let request = request.map(|body| BoundedBody::new(body, limit, idle));
    match &shared.tracer {
        None => Ok(answer(&component_id, component.handle_http(request).await)),
        Some(tracer) => {
            let cx = request_span(tracer, &request, &component_id);
            let handled = spans::for_runtime(&cx).scope(component.handle_http(request)).await;
            let response = answer(&component_id, handled);
            let status = response.status();
            spans::set(
                &cx,
                KeyValue::new("http.response.status_code", i64::from(status.as_u16())),
            );
            if status.is_server_error() {
                spans::fail(&cx, status.to_string());
            }
            Ok(response)
        }
    }
}

/// The server span of a request the ingress hands to `component_id`, under the span its
/// `traceparent` header names (if any). It ends when the response head is ready.
fn request_span<B>(tracer: &lattice_telemetry::Tracer, request: &Request<B>, component_id: &ComponentId) -> Context {
    let parent = lattice_telemetry::propagate::from_http(request.headers());
    let method = span_name(request.method());
    spans::start(tracer, &parent, method.clone(), SpanKind::Server, || {
        let mut attributes = vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("url.path", request.uri().path().to_owned()),
            KeyValue::new("url.scheme", request.uri().scheme_str().unwrap_or("http").to_owned()),
            KeyValue::new("component.id", component_id.to_string()),
        ];
        if let Some(host) = request.uri().host() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        attributes
    })
}

/// A request span's name: its method, as OpenTelemetry's HTTP conventions name server spans
/// without a route template; the common ones without an allocation.
fn span_name(method: &http::Method) -> std::borrow::Cow<'static, str> {
    use http::Method;
    match *method {
        Method::GET => "GET".into(),
        Method::POST => "POST".into(),
        Method::PUT => "PUT".into(),
        Method::DELETE => "DELETE".into(),
        Method::HEAD => "HEAD".into(),
        Method::PATCH => "PATCH".into(),
        Method::OPTIONS => "OPTIONS".into(),
        _ => method.as_str().to_owned().into(),
    }
}

/// The response to a request the component handled (or failed).
fn answer(
    component_id: &ComponentId,
    handled: lattice_runtime::Result<Response<ResponseBody>>,
) -> Response<ResponseBody> {
    match handled {
        Ok(response) => response,
        // The host stopped the component while the request waited for an instance.
        Err(err) if *err.kind() == ErrorKind::Stopped => not_running(component_id),
        // The host's policy refused it: the caller is told why; nothing failed.
        Err(err) if matches!(err.kind(), ErrorKind::Denied { .. }) => {
            tracing::debug!(component_id = %component_id, reason = %err, "http request denied by policy");
            text(StatusCode::FORBIDDEN, format!("{err}\n"))
        }
        Err(err) => {
            let status = match err.kind() {
                ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            tracing::warn!(
                component_id = %component_id,
                status = status.as_u16(),
                error = %crate::error::chain(&err),
                "http request failed in the component"
            );
            text(status, format!("{err}\n"))
        }
    }
}

/// The component `routes` send this request to: matched on the URI's path
/// and on the host: the configured header's value in host mode when one is
/// set, else the URI's authority or the `Host` header.
pub(crate) fn route<'r, B>(routes: &'r RouteSet, request: &Request<B>) -> Option<&'r ComponentId> {
    routes.route(request.uri().path(), request_host(routes, request))
}

/// The host a request is routed by (see [`route`]).
pub(crate) fn request_host<'a, B>(routes: &RouteSet, request: &'a Request<B>) -> Option<&'a str> {
    let header_value = |name| request.headers().get(name).and_then(|h: &HeaderValue| h.to_str().ok());
    match routes {
        RouteSet::Hosts { header: Some(name), .. } => header_value(name),
        _ => request.uri().host().or_else(|| header_value(&HOST)),
    }
}

/// The body length a request declares with `Content-Length`, if any.
pub(crate) fn declared_length<B>(request: &Request<B>) -> Option<u64> {
    request
        .headers()
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Gives the request an authority `wasi:http` can use: a URI authority,
/// else `X-Forwarded-Host` (as upstream), else `Host`, else the listener's
/// address.
pub(crate) fn fill_authority<B>(request: &mut Request<B>, local_host: &HeaderValue) {
    if request.uri().authority().is_some() {
        return;
    }
    if let Some(forwarded) = request.headers().get(X_FORWARDED_HOST).cloned() {
        let mut parts = request.uri().clone().into_parts();
        if let Ok(authority) = http::uri::Authority::try_from(forwarded.as_bytes()) {
            parts.authority = Some(authority);
            parts.scheme = Some(http::uri::Scheme::HTTP);
            if parts.path_and_query.is_none() {
                parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
            }
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
                return;
            }
        }
    }
    if !request.headers().contains_key(HOST) {
        request.headers_mut().insert(HOST, local_host.clone());
    }
}

fn not_running(id: &ComponentId) -> Response<ResponseBody> {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("component `{id}` is not running on this host\n"),
    )
}

/// A short `text/plain` response.
pub(crate) fn text(status: StatusCode, body: String) -> Response<ResponseBody> {
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
