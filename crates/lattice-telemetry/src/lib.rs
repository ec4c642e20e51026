//! Telemetry the lattice host and the provider SDK share (ADR 0017, ADR 0019): OTLP exporters
//! for metrics, spans and logs with upstream wasmCloud's endpoint rules, a span pipeline per
//! host or provider, the process's log subscriber (exporting its lines when logs are on), and
//! the W3C trace context carried in NATS and HTTP headers so that one trace follows a request
//! across hosts and providers.
//!
//! Nothing here installs a global provider or propagator: each host and provider owns its
//! span and metric pipelines, and with telemetry off nothing is created. Logs are the one
//! process-wide signal, as `tracing`'s subscriber is.

mod export;
mod logs;
pub mod propagate;
pub mod span;
mod trace;

pub use export::{Protocol, Reported, Signal, endpoint, log_exporter, metric_exporter, span_exporter};
pub use logs::{Logs, init_logging};
pub use trace::{Service, Traces};

/// What spans are built from, re-exported so users need not pin OpenTelemetry themselves.
pub use opentelemetry::trace as api;
pub use opentelemetry::{Context, KeyValue};
pub use opentelemetry_sdk::trace::SdkTracer as Tracer;
