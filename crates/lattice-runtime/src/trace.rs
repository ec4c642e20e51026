//! The trace context of an invocation, handed to every linked call the invocation makes so
//! the embedder can carry one trace across the lattice. This crate neither reads nor writes
//! it and knows no telemetry library: the embedder runs an invocation inside
//! [`TraceContext::scope`] and finds the context again in [`crate::LinkedCall::trace`].

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static CURRENT: Arc<TraceContext>;
}

/// The W3C trace context of one invocation: its `traceparent` (the invocation's span) and
/// `tracestate`, as header values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    traceparent: Box<str>,
    tracestate: Option<Box<str>>,
}

impl TraceContext {
    /// A context of `traceparent` (`00-<trace id>-<span id>-<flags>`) and `tracestate`.
    pub fn new(traceparent: impl Into<Box<str>>, tracestate: Option<impl Into<Box<str>>>) -> Self {
        Self {
            traceparent: traceparent.into(),
            tracestate: tracestate.map(Into::into),
        }
    }

    /// The `traceparent` header value.
    #[must_use]
    pub fn traceparent(&self) -> &str {
        &self.traceparent
    }

    /// The `tracestate` header value, if any.
    #[must_use]
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    /// The trace id (32 hex digits) `traceparent` names, if it is well formed.
    #[must_use]
    pub fn trace_id(&self) -> Option<&str> {
        let mut fields = self.traceparent.split('-');
        let (_version, trace_id) = (fields.next()?, fields.next()?);
        (trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit())).then_some(trace_id)
    }

    /// Runs `invocation` (a future that invokes a component, e.g.
    /// [`crate::Component::handle_http`] or [`crate::Component::invoke`]) with this trace
    /// context: the invocation started inside hands it to each of its linked calls, in
    /// whatever task the guest runs.
    pub async fn scope<F: Future>(self, invocation: F) -> F::Output {
        CURRENT.scope(Arc::new(self), invocation).await
    }

    /// The context of the [`scope`](Self::scope) the caller runs in, if any.
    pub(crate) fn current() -> Option<Arc<Self>> {
        CURRENT.try_with(Arc::clone).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_context_is_current_inside_its_scope_only() {
        assert_eq!(TraceContext::current(), None);
        let cx = TraceContext::new("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None::<&str>);
        let seen = cx.clone().scope(async { TraceContext::current() }).await;
        assert_eq!(seen.as_deref(), Some(&cx));
        assert_eq!(TraceContext::current(), None);
    }

    #[test]
    fn the_trace_id_is_read_from_a_well_formed_traceparent_only() {
        let cx = TraceContext::new("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None::<&str>);
        assert_eq!(cx.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(TraceContext::new("garbage", None::<&str>).trace_id(), None);
        assert_eq!(
            TraceContext::new("00-xyz-00f067aa0ba902b7-01", None::<&str>).trace_id(),
            None
        );
    }
}
