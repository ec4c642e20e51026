//! Log export: a process's `tracing` events (its own lines and, in a host, its guests') as
//! OTLP log records, batched on a thread of the SDK's and exported as [`crate::log_exporter`]
//! says. A line that carries a `trace_id` field (guest lines of a traced invocation do, with
//! its `span_id`) is exported in that trace, so a backend shows it beside the span.
//!
//! Unlike spans and metrics, logs have one pipeline per process: `tracing` has one global
//! subscriber, and [`Logs::layer`] is a layer of it.

use std::time::Duration;

use lattice_control_interface::provider::OtelConfig;
use opentelemetry::InstrumentationScope;
use opentelemetry::logs::{AnyValue, LogRecord as _};
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{BatchLogProcessor, LogProcessor, SdkLogRecord, SdkLoggerProvider};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::FilterFn;
use tracing_subscriber::registry::LookupSpan;

use crate::{Protocol, Service, Signal, endpoint};

/// The log pipeline of one process.
#[derive(Debug)]
pub struct Logs {
    provider: SdkLoggerProvider,
    endpoint: String,
    protocol: Protocol,
}

impl Logs {
    /// Starts exporting log records as `config` says, or returns `None` when logs are off.
    /// Must be called within the tokio runtime the exports are to run on.
    ///
    /// # Errors
    ///
    /// When the protocol or an endpoint is not usable; the text names it and the fix.
    pub fn start(config: &OtelConfig, service: Service<'_>) -> Result<Option<Self>, String> {
        if !config.logs_enabled() {
            return Ok(None);
        }
        let exporter = crate::log_exporter(config)?;
        let endpoint = endpoint(config, Signal::Logs)?;
        let protocol = Protocol::of(config)?;
        let provider = SdkLoggerProvider::builder()
            .with_resource(service.resource())
            .with_log_processor(InTrace(BatchLogProcessor::builder(exporter).build()))
            .build();
        Ok(Some(Self {
            provider,
            endpoint,
            protocol,
        }))
    }

    /// Says where log records go. Call it once the subscriber with [`Logs::layer`] is
    /// installed, so the line is exported too.
    pub fn announce(&self) {
        tracing::info!(endpoint = %self.endpoint, protocol = %self.protocol, "exporting logs over OTLP");
    }

    /// The `tracing` layer that turns each event into a log record. Events of the libraries
    /// that do the exporting (OpenTelemetry's, and the HTTP/2 and gRPC stacks under it) are
    /// left out, so exporting never logs itself into a loop.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    {
        OpenTelemetryTracingBridge::new(&self.provider).with_filter(FilterFn::new(|metadata| {
            !EXPORTER_TARGETS
                .iter()
                .any(|target| metadata.target().starts_with(target))
        }))
    }

    /// Exports the records still queued and stops the pipeline, waiting at most `within`.
    pub async fn shut_down(&self, within: Duration) {
        let provider = self.provider.clone();
        let done = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(within));
        match tokio::time::timeout(within, done).await {
            Ok(Ok(Ok(()))) => {}
            // Said on stderr alone by now: the pipeline is gone.
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the last log records could not be exported"),
            Ok(Err(_)) | Err(_) => tracing::warn!("the last log records were not exported in time"),
        }
    }
}

/// Targets of the crates an export runs through. This crate's own lines (that exports fail,
/// and when they work again) are said once per change, so they are exported like any other.
const EXPORTER_TARGETS: [&str; 5] = ["opentelemetry", "hyper", "h2", "tonic", "tower"];

/// Puts a record in the trace its `trace_id` and `span_id` fields name (W3C hex, as guest
/// lines carry them), then hands it on.
#[derive(Debug)]
struct InTrace<P>(P);

impl<P: LogProcessor> LogProcessor for InTrace<P> {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        if record.trace_context().is_none()
            && let Some((trace_id, span_id)) = trace_fields(record)
        {
            record.set_trace_context(trace_id, span_id, None);
        }
        self.0.emit(record, scope);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// The trace and span a record's `trace_id` and `span_id` fields name, when both are valid.
fn trace_fields(record: &SdkLogRecord) -> Option<(TraceId, SpanId)> {
    let (mut trace_id, mut span_id) = (None, None);
    for (key, value) in record.attributes_iter() {
        let AnyValue::String(text) = value else { continue };
        match key.as_str() {
            "trace_id" => trace_id = TraceId::from_hex(text.as_str()).ok(),
            "span_id" => span_id = SpanId::from_hex(text.as_str()).ok(),
            _ => {}
        }
    }
    let (trace_id, span_id) = (trace_id?, span_id?);
    (trace_id != TraceId::INVALID && span_id != SpanId::INVALID).then_some((trace_id, span_id))
}

/// Installs the process's `tracing` subscriber: lines on stderr (JSON ones when `json`) as
/// `filter` lets through, and each of them exported too when `logs` is given.
///
/// A line that cannot be written (stderr a pipe whose reader is gone, as a provider's is when
/// its host dies) is lost, and nothing more: by default the subscriber reports the failed
/// write on stderr too, and that report panics the task that logged.
///
/// # Errors
///
/// When the process already has a subscriber, which then stays.
pub fn init_logging(
    filter: tracing_subscriber::EnvFilter,
    json: bool,
    logs: Option<&Logs>,
) -> Result<(), tracing_subscriber::util::TryInitError> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    let lines = if json { lines.json().boxed() } else { lines.boxed() };
    tracing_subscriber::registry()
        .with(filter)
        .with(without_repeated_export_failures())
        .with(lines)
        .with(logs.map(Logs::layer))
        .try_init()
}

/// The SDK's events for a failed batch export of spans or log records, which it logs as an
/// error on every batch: with a collector down and requests traced, many a second. The
/// exporters say it once instead ([`crate::export::Reported`]), and once when exports work
/// again.
const REPEATED_EXPORT_FAILURES: [&str; 2] = ["BatchSpanProcessor.ExportError", "BatchLogProcessor.ExportError"];

/// Lets every event through but the SDK's repeated export failures.
fn without_repeated_export_failures() -> FilterFn<impl Fn(&tracing::Metadata<'_>) -> bool> {
    FilterFn::new(|metadata: &tracing::Metadata<'_>| {
        !(metadata.target() == "opentelemetry_sdk" && REPEATED_EXPORT_FAILURES.contains(&metadata.name()))
    })
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Keeps the name of every event that reaches it.
    struct Names(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> Layer<S> for Names {
        fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
            self.0.lock().unwrap().push(event.metadata().name().to_owned());
        }
    }

    #[test]
    fn only_the_sdks_repeated_export_failures_are_left_out() {
        let names = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry()
            .with(without_repeated_export_failures())
            .with(Names(Arc::clone(&names)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(name: "BatchSpanProcessor.ExportError", target: "opentelemetry_sdk", "refused");
            tracing::error!(name: "BatchLogProcessor.ExportError", target: "opentelemetry_sdk", "refused");
            tracing::warn!(name: "BatchSpanProcessor.SpanDroppingStarted", target: "opentelemetry_sdk", "full");
            tracing::error!(name: "BatchSpanProcessor.ExportError", target: "elsewhere", "kept");
        });
        assert_eq!(
            *names.lock().unwrap(),
            [
                "BatchSpanProcessor.SpanDroppingStarted",
                "BatchSpanProcessor.ExportError"
            ]
        );
    }
}
