//! W3C trace context (`traceparent`, `tracestate`) carried in headers: NATS headers between
//! hosts, providers and clients (as upstream's `opentelemetry-nats` does), HTTP headers at the
//! edge. Extracting from headers that carry none (or a malformed one) gives a context without a
//! span, so the next span starts a trace of its own.

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator as _;
pub use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The context NATS `headers` carry.
#[must_use]
pub fn from_nats(headers: Option<&async_nats::HeaderMap>) -> Context {
    match headers {
        Some(headers) => TraceContextPropagator::new().extract(&NatsHeaders(headers)),
        None => Context::new(),
    }
}

/// Writes `cx`'s span (if any) into NATS `headers`.
pub fn into_nats(cx: &Context, headers: &mut async_nats::HeaderMap) {
    TraceContextPropagator::new().inject_context(cx, &mut NatsHeadersMut(headers));
}

/// The context HTTP `headers` carry.
#[must_use]
pub fn from_http(headers: &http::HeaderMap) -> Context {
    TraceContextPropagator::new().extract(&HttpHeaders(headers))
}

/// Writes `cx`'s span (if any) into any header-like `carrier`.
pub fn inject(cx: &Context, carrier: &mut dyn Injector) {
    TraceContextPropagator::new().inject_context(cx, carrier);
}

/// The context any header-like `carrier` holds.
#[must_use]
pub fn extract(carrier: &dyn Extractor) -> Context {
    TraceContextPropagator::new().extract(carrier)
}

struct NatsHeaders<'a>(&'a async_nats::HeaderMap);

impl Extractor for NatsHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(async_nats::HeaderValue::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

struct NatsHeadersMut<'a>(&'a mut async_nats::HeaderMap);

impl Injector for NatsHeadersMut<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value);
    }
}

struct HttpHeaders<'a>(&'a http::HeaderMap);

impl Extractor for HttpHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};

    use super::*;

    fn remote() -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    }

    #[test]
    fn a_span_context_goes_through_nats_headers() {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("source-id", "caller");
        into_nats(&remote(), &mut headers);
        assert_eq!(
            headers.get("traceparent").map(async_nats::HeaderValue::as_str),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        );
        let back = from_nats(Some(&headers));
        let span = back.span();
        let context = span.span_context();
        assert!(context.is_remote());
        assert_eq!(context.trace_id(), remote().span().span_context().trace_id());
        assert_eq!(context.span_id(), SpanId::from_hex("00f067aa0ba902b7").unwrap());
    }

    #[test]
    fn headers_without_a_valid_traceparent_carry_no_span() {
        assert!(!from_nats(None).has_active_span());
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("traceparent", "00-not-a-trace-01");
        assert!(!from_nats(Some(&headers)).span().span_context().is_valid());
        let mut http_headers = http::HeaderMap::new();
        http_headers.insert("traceparent", "garbage".parse().unwrap());
        assert!(!from_http(&http_headers).span().span_context().is_valid());
        http_headers.insert(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                .parse()
                .unwrap(),
        );
        assert!(from_http(&http_headers).span().span_context().is_valid());
    }
}
