//! The host's spans (ADR 0019): one per control request and per component start, scale or
//! update; one per invocation, as a server span under the caller's (from the `traceparent` of
//! the HTTP request or of the wRPC call's NATS headers); one client span per linked call, whose
//! context travels to the target in the call's NATS headers. The runtime carries the
//! invocation's context into its linked calls as a [`lattice_runtime::TraceContext`].

use lattice_telemetry::Context;
use lattice_telemetry::propagate;
pub(crate) use lattice_telemetry::span::{fail, set, start, wrpc_server};

/// `cx`'s span as the runtime carries it to the invocation's linked calls.
pub(crate) fn for_runtime(cx: &Context) -> lattice_runtime::TraceContext {
    #[derive(Default)]
    struct Fields {
        traceparent: String,
        tracestate: Option<String>,
    }
    impl propagate::Injector for Fields {
        fn set(&mut self, key: &str, value: String) {
            match key {
                "traceparent" => self.traceparent = value,
                "tracestate" if !value.is_empty() => self.tracestate = Some(value),
                _ => {}
            }
        }
    }
    let mut fields = Fields::default();
    propagate::inject(cx, &mut fields);
    lattice_runtime::TraceContext::new(fields.traceparent, fields.tracestate)
}

/// The context a linked call's invocation runs in, from what the runtime carried.
pub(crate) fn from_runtime(trace: &lattice_runtime::TraceContext) -> Context {
    struct Fields<'a>(&'a lattice_runtime::TraceContext);
    impl propagate::Extractor for Fields<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            match key {
                "traceparent" => Some(self.0.traceparent()),
                "tracestate" => self.0.tracestate(),
                _ => None,
            }
        }

        fn keys(&self) -> Vec<&str> {
            vec!["traceparent", "tracestate"]
        }
    }
    propagate::extract(&Fields(trace))
}
