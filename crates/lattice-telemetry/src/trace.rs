//! A span pipeline: spans batched on a thread of the SDK's and exported over OTLP as
//! [`crate::span_exporter`] says. Each host and each provider owns one (nothing is installed
//! globally), so several in one process report apart.

use std::time::Duration;

use lattice_control_interface::provider::OtelConfig;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::{Protocol, Signal, endpoint};

/// Who exports the spans.
#[derive(Debug, Clone)]
pub struct Service<'a> {
    /// The `service.name` resource attribute (`wasmcloud-host`, a provider's name).
    pub name: &'a str,
    /// The instrumentation scope: the library that makes the spans (`wasmcloud-host`,
    /// `lattice-provider-sdk`) and its version.
    pub scope: (&'static str, &'static str),
    /// More resource attributes: which host, which provider.
    pub attributes: Vec<KeyValue>,
}

impl Service<'_> {
    /// The resource that says who exports: `service.name` and the other attributes.
    pub(crate) fn resource(self) -> opentelemetry_sdk::Resource {
        opentelemetry_sdk::Resource::builder()
            .with_service_name(self.name.to_owned())
            .with_attributes(self.attributes)
            .build()
    }
}

/// The span pipeline of one host or provider.
#[derive(Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl Traces {
    /// Starts exporting spans as `config` says, or returns `None` when traces are off. Must be
    /// called within the tokio runtime the exports are to run on.
    ///
    /// # Errors
    ///
    /// When the protocol or an endpoint is not usable; the text names it and the fix.
    pub fn start(config: &OtelConfig, service: Service<'_>) -> Result<Option<Self>, String> {
        if !config.traces_enabled() {
            return Ok(None);
        }
        let exporter = crate::span_exporter(config)?;
        // Who the spans come from is said once per export, in the resource. The SDK copies
        // the tracer's scope into every span it starts, so the scope holds only borrowed
        // strings: a span costs no allocation for it.
        let (scope, version) = service.scope;
        let resource = service.resource();
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_batch_exporter(exporter)
            .build();
        let scope = opentelemetry::InstrumentationScope::builder(scope)
            .with_version(version)
            .build();
        let tracer = provider.tracer_with_scope(scope);
        tracing::info!(
            endpoint = %endpoint(config, Signal::Traces).unwrap_or_default(),
            protocol = %Protocol::of(config).unwrap_or(Protocol::Http),
            "exporting spans over OTLP"
        );
        Ok(Some(Self { provider, tracer }))
    }

    /// The tracer spans are started with.
    #[must_use]
    pub fn tracer(&self) -> &SdkTracer {
        &self.tracer
    }

    /// Exports the spans still queued and stops the pipeline, waiting at most `within`.
    pub async fn shut_down(&self, within: Duration) {
        let provider = self.provider.clone();
        let done = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(within));
        match tokio::time::timeout(within, done).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the last spans could not be exported"),
            Ok(Err(_)) | Err(_) => tracing::warn!("the last spans were not exported in time"),
        }
    }
}
