//! The host's telemetry (RFC 0001, ADR 0017, ADR 0019): upstream's `wasmcloud_host.*`
//! metrics, recorded where invocations and linked calls pass, and spans for control requests,
//! component starts, invocations and linked calls, all exported over OTLP (HTTP by default,
//! gRPC by choice) to the endpoints upstream's flags and `OTEL_EXPORTER_OTLP_*` variables name
//! (`lattice-telemetry`).
//!
//! Each host owns its meter and tracer providers (none is installed globally), so several hosts
//! in one process (tests, `wash dev`) report apart. With a signal off nothing of it is created:
//! no observer is set on components, no span is started, and recording costs nothing.

mod metrics;
mod process;
pub(crate) mod spans;

use std::time::Duration;

use lattice_control_interface::provider::OtelConfig;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::SdkMeterProvider;

pub(crate) use lattice_telemetry::{Protocol, Signal, endpoint};

pub(crate) use self::metrics::{CallProbe, HostMetrics};

/// The metrics pipeline of one host.
pub(crate) struct Telemetry {
    provider: SdkMeterProvider,
    metrics: std::sync::Arc<HostMetrics>,
    sampler: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

/// Who the host is, for the meter's scope attributes.
pub(crate) struct HostIdentity<'a> {
    pub(crate) host_id: &'a str,
    pub(crate) friendly_name: &'a str,
    pub(crate) version: &'a str,
    pub(crate) lattice: &'a str,
}

impl Telemetry {
    /// Starts exporting metrics as `config` says, or returns `None` when metrics are off.
    ///
    /// # Errors
    ///
    /// When the protocol or an endpoint is not usable; the text names it and the fix.
    pub(crate) fn start(config: &OtelConfig, host: &HostIdentity<'_>) -> Result<Option<Self>, String> {
        if !config.metrics_enabled() {
            return Ok(None);
        }
        let exporter = lattice_telemetry::metric_exporter(config)?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(SERVICE_NAME)
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(opentelemetry_sdk::metrics::PeriodicReader::builder(exporter).build())
            .build();
        let scope = opentelemetry::InstrumentationScope::builder(METER_NAME)
            .with_version(host.version.to_owned())
            .with_attributes(scope_attributes(host))
            .build();
        let meter = provider.meter_with_scope(scope);
        let (sample, sampler) = process::start(PROCESS_SAMPLE_INTERVAL);
        let metrics = std::sync::Arc::new(HostMetrics::new(&meter, host.lattice, host.host_id, &sample));
        tracing::info!(
            endpoint = %endpoint(config, Signal::Metrics).unwrap_or_default(),
            protocol = %Protocol::of(config).unwrap_or(Protocol::Http),
            "exporting metrics over OTLP"
        );
        Ok(Some(Self {
            provider,
            metrics,
            sampler,
        }))
    }

    /// The instruments the host records through.
    pub(crate) fn metrics(&self) -> &std::sync::Arc<HostMetrics> {
        &self.metrics
    }

    /// Exports what was recorded since the last export and stops the pipeline, waiting at
    /// most `within`.
    pub(crate) async fn shut_down(&self, within: Duration) {
        self.sampler.abort();
        let provider = self.provider.clone();
        let done = tokio::task::spawn_blocking(move || provider.shutdown());
        match tokio::time::timeout(within, done).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the last metrics could not be exported"),
            Ok(Err(_)) | Err(_) => tracing::warn!("the last metrics were not exported in time"),
        }
    }
}

/// The OTEL `service.name` of the host, kebab-cased as upstream's.
pub const SERVICE_NAME: &str = "wasmcloud-host";

/// The meter's (instrumentation scope's) name.
const METER_NAME: &str = "wasmcloud-host";

/// How often the machine's memory and CPU are sampled.
const PROCESS_SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// Starts the host's span pipeline as `config` says, or returns `None` when traces are off.
///
/// # Errors
///
/// When the protocol or an endpoint is not usable; the text names it and the fix.
pub(crate) fn start_traces(
    config: &OtelConfig,
    host: &HostIdentity<'_>,
) -> Result<Option<lattice_telemetry::Traces>, String> {
    lattice_telemetry::Traces::start(
        config,
        lattice_telemetry::Service {
            name: SERVICE_NAME,
            scope: (SERVICE_NAME, env!("CARGO_PKG_VERSION")),
            attributes: scope_attributes(host),
        },
    )
}

/// Who and where the host is: upstream's meter scope attributes, and the attributes of the
/// resource the host's spans come from.
fn scope_attributes(host: &HostIdentity<'_>) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("host.id", host.host_id.to_owned()),
        KeyValue::new("host.version", host.version.to_owned()),
        KeyValue::new("host.arch", std::env::consts::ARCH),
        KeyValue::new("host.os", std::env::consts::OS),
        KeyValue::new("host.osfamily", std::env::consts::FAMILY),
        KeyValue::new("host.friendly_name", host.friendly_name.to_owned()),
    ];
    let optional = [
        ("host.hostname", sysinfo::System::host_name()),
        ("host.kernel_version", sysinfo::System::kernel_version()),
        ("host.os_version", sysinfo::System::os_version()),
    ];
    attributes.extend(
        optional
            .into_iter()
            .map(|(key, value)| KeyValue::new(key, value.unwrap_or_default())),
    );
    attributes
}
