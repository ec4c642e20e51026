//! Starting spans as the host and providers do: a span lives in the [`Context`] returned, and
//! ends when that context (and every clone of it) is dropped. Attributes are built only for a
//! span that is recorded, so a request the sampler leaves out costs no attribute strings.

use std::borrow::Cow;

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;

/// Starts a span named `name` under `parent`, with the `attributes` built if it is recorded.
pub fn start(
    tracer: &SdkTracer,
    parent: &Context,
    name: impl Into<Cow<'static, str>>,
    kind: SpanKind,
    attributes: impl FnOnce() -> Vec<KeyValue>,
) -> Context {
    let mut span = tracer
        .span_builder(name)
        .with_kind(kind)
        .start_with_context(tracer, parent);
    if span.is_recording() {
        span.set_attributes(attributes());
    }
    parent.with_span(span)
}

/// The server span of a wRPC call of `instance`'s `function`, under the caller's span that
/// the call's NATS `headers` name (if any); `more` adds the server's own attributes.
pub fn wrpc_server(
    tracer: &SdkTracer,
    headers: Option<&async_nats::HeaderMap>,
    instance: &str,
    function: &str,
    more: impl FnOnce(&mut Vec<KeyValue>),
) -> Context {
    start(
        tracer,
        &crate::propagate::from_nats(headers),
        format!("{instance}/{function}"),
        SpanKind::Server,
        || {
            let mut attributes = vec![
                KeyValue::new("rpc.system", "wrpc"),
                KeyValue::new("rpc.service", instance.to_owned()),
                KeyValue::new("rpc.method", function.to_owned()),
            ];
            more(&mut attributes);
            attributes
        },
    )
}

/// Marks the span of `cx` as failed, saying why.
pub fn fail(cx: &Context, why: impl Into<Cow<'static, str>>) {
    cx.span().set_status(Status::error(why));
}

/// Records `attribute` on the span of `cx`, if it is recorded.
pub fn set(cx: &Context, attribute: KeyValue) {
    cx.span().set_attribute(attribute);
}
