//! The trace context of an invocation, handed to every linked call the invocation makes so
//! the embedder can carry one trace across the lattice. This crate neither reads nor writes
//! it and knows no telemetry library: the embedder runs an invocation inside
//! [`TraceContext::scope`] and finds the context again in [`crate::LinkedCall::trace`].

use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    static CURRENT: Arc<TraceContext>;
}

/// The W3C trace context of one invocation: the ids of its trace and of its span, the trace
/// flags and the `tracestate`. Kept as numbers: the header values are written only when a
/// linked call, an outgoing request or a log line needs them, so an invocation that makes none
/// pays for no formatting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: u128,
    span_id: u64,
    flags: u8,
    tracestate: Option<Box<str>>,
}

impl TraceContext {
    /// A context of trace `trace_id`, span `span_id` and trace `flags` (as in `traceparent`),
    /// with `tracestate` (the header value, if any).
    pub fn new(trace_id: u128, span_id: u64, flags: u8, tracestate: Option<impl Into<Box<str>>>) -> Self {
        Self {
            trace_id,
            span_id,
            flags,
            tracestate: tracestate.map(Into::into),
        }
    }

    /// The trace id.
    #[must_use]
    pub fn trace_id(&self) -> u128 {
        self.trace_id
    }

    /// The invocation's span id.
    #[must_use]
    pub fn span_id(&self) -> u64 {
        self.span_id
    }

    /// The trace flags (bit 0: sampled).
    #[must_use]
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The `traceparent` header value: `00-<trace id>-<span id>-<flags>`, in lower-case hex.
    #[must_use]
    pub fn traceparent(&self) -> String {
        format!("00-{:032x}-{:016x}-{:02x}", self.trace_id, self.span_id, self.flags)
    }

    /// The `tracestate` header value, if any.
    #[must_use]
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    /// The trace id as logs and trace viewers show it (32 lower-case hex digits).
    #[must_use]
    pub fn trace_id_hex(&self) -> impl std::fmt::Display + use<> {
        struct Hex(u128);
        impl std::fmt::Display for Hex {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{:032x}", self.0)
            }
        }
        Hex(self.trace_id)
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

    fn example() -> TraceContext {
        TraceContext::new(
            0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            0x00f0_67aa_0ba9_02b7,
            1,
            None::<&str>,
        )
    }

    #[tokio::test]
    async fn the_context_is_current_inside_its_scope_only() {
        assert_eq!(TraceContext::current(), None);
        let cx = example();
        let seen = cx.clone().scope(async { TraceContext::current() }).await;
        assert_eq!(seen.as_deref(), Some(&cx));
        assert_eq!(TraceContext::current(), None);
    }

    #[test]
    fn header_values_are_written_as_w3c_spells_them() {
        let cx = example();
        assert_eq!(
            cx.traceparent(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(cx.trace_id_hex().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        // Leading zeros are kept: every id has its full width.
        let small = TraceContext::new(1, 2, 0, Some("vendor=1"));
        assert_eq!(
            small.traceparent(),
            "00-00000000000000000000000000000001-0000000000000002-00"
        );
        assert_eq!(small.trace_id_hex().to_string(), "00000000000000000000000000000001");
        assert_eq!(small.tracestate(), Some("vendor=1"));
    }
}
