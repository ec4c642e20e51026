//! Telemetry the lattice host and the provider SDK share (ADR 0017, ADR 0019): OTLP exporters
//! for metrics and spans with upstream wasmCloud's endpoint rules, a span pipeline per host or
//! provider, and the W3C trace context carried in NATS and HTTP headers so that one trace
//! follows a request across hosts and providers.
//!
//! Nothing here installs a global provider or propagator: each host and provider owns its
//! pipelines, and with telemetry off nothing is created.

mod export;
pub mod propagate;
pub mod span;
mod trace;

pub use export::{Protocol, Reported, Signal, endpoint, metric_exporter, span_exporter};
pub use trace::{Service, Traces};

/// What spans are built from, re-exported so users need not pin OpenTelemetry themselves.
pub use opentelemetry::trace as api;
pub use opentelemetry::{Context, KeyValue};
pub use opentelemetry_sdk::trace::SdkTracer as Tracer;
