//! How the ingress finds a running component on the hot path: a trait the
//! host implements over its own table of components, answering with the
//! loaded [`Component`] (which carries its own instance permits).

use lattice_runtime::Component;

/// Answers "which running component has this id?" for every request.
///
/// Called once per request on the ingress's hot path, from many threads at
/// once: implementations must be cheap and must not block (a read lock or an
/// atomic swap over the host's component table, not a NATS round trip).
/// `None` means the component is not running here: the request gets 503.
pub trait ComponentLookup: Send + Sync + 'static {
    /// The running component `component_id`, if any.
    fn lookup(&self, component_id: &str) -> Option<Component>;
}

/// One request the ingress answered, as a [`RequestObserver`] sees it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServedRequest<'a> {
    /// The request's method.
    pub method: &'a http::Method,
    /// The request's path.
    pub path: &'a str,
    /// The response's status.
    pub status: http::StatusCode,
    /// From the request head to the response head (the body may still stream).
    pub elapsed: std::time::Duration,
}

/// Told of every request an ingress answers (an access log, `wash dev`'s
/// request lines). Called on the request's task once its response head is
/// ready: implementations must be cheap and must not block.
pub trait RequestObserver: Send + Sync + 'static {
    /// `request` was answered.
    fn served(&self, request: &ServedRequest<'_>);
}

impl<F> ComponentLookup for F
where
    F: Fn(&str) -> Option<Component> + Send + Sync + 'static,
{
    fn lookup(&self, component_id: &str) -> Option<Component> {
        self(component_id)
    }
}
