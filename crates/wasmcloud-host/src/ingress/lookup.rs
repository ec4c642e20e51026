//! How the ingress finds a running component on the hot path: a trait the
//! host implements over its own table of components, answering with a
//! [`ServeHandle`] (the loaded component and its instance permits).

use std::sync::Arc;

use tokio::sync::Semaphore;
use wasmcloud_runtime::Component;

/// A running component as the ingress needs it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServeHandle {
    /// The loaded component; each request gets a fresh instance of it.
    pub component: Component,
    /// At most this many requests run in the component at once (its
    /// `max_instances`); more wait for a permit. `None`: no limit. Closing
    /// the semaphore makes waiting and later requests answer 503.
    pub permits: Option<Arc<Semaphore>>,
}

impl ServeHandle {
    /// A handle without a concurrency limit.
    #[must_use]
    pub fn new(component: Component) -> Self {
        Self {
            component,
            permits: None,
        }
    }

    /// Limits concurrent requests with `permits`.
    #[must_use]
    pub fn with_permits(mut self, permits: Arc<Semaphore>) -> Self {
        self.permits = Some(permits);
        self
    }
}

/// Answers "which running component has this id?" for every request.
///
/// Called once per request on the ingress's hot path, from many threads at
/// once: implementations must be cheap and must not block (a read lock or an
/// atomic swap over the host's component table, not a NATS round trip).
/// `None` means the component is not running here: the request gets 503.
pub trait ComponentLookup: Send + Sync + 'static {
    /// The running component `component_id`, if any.
    fn lookup(&self, component_id: &str) -> Option<ServeHandle>;
}

impl<F> ComponentLookup for F
where
    F: Fn(&str) -> Option<ServeHandle> + Send + Sync + 'static,
{
    fn lookup(&self, component_id: &str) -> Option<ServeHandle> {
        self(component_id)
    }
}
