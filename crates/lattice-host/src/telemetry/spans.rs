//! The host's spans (ADR 0019): one per control request and per component start, scale or
//! update; one per invocation, as a server span under the caller's (from the `traceparent` of
//! the HTTP request or of the wRPC call's NATS headers); one client span per linked call, whose
//! context travels to the target in the call's NATS headers. The runtime carries the
//! invocation's context into its linked calls as a [`lattice_runtime::TraceContext`].

use lattice_telemetry::Context;
use lattice_telemetry::api::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
pub(crate) use lattice_telemetry::span::{fail, set, start, wrpc_server};

/// `cx`'s span as the runtime carries it to the invocation's linked calls: its ids as numbers,
/// so nothing is formatted unless a linked call, an outgoing request or a log line needs it.
pub(crate) fn for_runtime(cx: &Context) -> lattice_runtime::TraceContext {
    let span = cx.span();
    let context = span.span_context();
    let state = context.trace_state().header();
    lattice_runtime::TraceContext::new(
        u128::from_be_bytes(context.trace_id().to_bytes()),
        u64::from_be_bytes(context.span_id().to_bytes()),
        context.trace_flags().to_u8(),
        (!state.is_empty()).then_some(state),
    )
}

/// The context a linked call's invocation runs in, from what the runtime carried.
pub(crate) fn from_runtime(trace: &lattice_runtime::TraceContext) -> Context {
    // A `tracestate` the runtime carries came from a valid span context; one that does not
    // parse again is dropped, as the W3C propagator drops it.
    let state = trace
        .tracestate()
        .and_then(|state| state.parse::<TraceState>().ok())
        .unwrap_or_default();
    Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(trace.trace_id()),
        SpanId::from(trace.span_id()),
        TraceFlags::new(trace.flags()),
        true,
        state,
    ))
}

#[cfg(test)]
mod tests {
    use lattice_telemetry::api::TraceContextExt as _;

    use super::*;

    #[test]
    fn a_span_context_goes_to_the_runtime_and_back_unchanged() {
        let original = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            "vendor=1".parse().unwrap(),
        );
        let carried = for_runtime(&Context::new().with_remote_span_context(original.clone()));
        assert_eq!(
            carried.traceparent(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(carried.tracestate(), Some("vendor=1"));
        let back = from_runtime(&carried);
        assert_eq!(back.span().span_context(), &original);

        let unsampled = SpanContext::new(
            TraceId::from(1),
            SpanId::from(2),
            TraceFlags::default(),
            true,
            TraceState::default(),
        );
        let carried = for_runtime(&Context::new().with_remote_span_context(unsampled.clone()));
        assert_eq!(carried.tracestate(), None);
        assert_eq!(from_runtime(&carried).span().span_context(), &unsampled);
    }
}
