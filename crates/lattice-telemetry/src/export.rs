//! Where telemetry goes and how: upstream's endpoint rules and the OTLP exporters.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use lattice_control_interface::provider::OtelConfig;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// How long one export may take before it is abandoned (the next one carries the data).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/HTTP with protobuf bodies (upstream's default).
    Http,
    /// OTLP/gRPC.
    Grpc,
}

impl Protocol {
    /// The protocol `config` names, in any case (`http`, `Http`, `grpc`, …).
    ///
    /// # Errors
    ///
    /// For any other name.
    pub fn of(config: &OtelConfig) -> Result<Self, String> {
        match config.protocol.to_ascii_lowercase().as_str() {
            "http" => Ok(Self::Http),
            "grpc" => Ok(Self::Grpc),
            other => Err(format!(
                "unknown observability protocol `{other}`: use `http` (OTLP/HTTP, the default) or `grpc`"
            )),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Http => "http",
            Self::Grpc => "grpc",
        })
    }
}

/// A kind of telemetry, for its endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `wasmcloud_host.*` and other metrics.
    Metrics,
    /// Spans.
    Traces,
    /// Log records.
    Logs,
}

impl Signal {
    /// The path OTLP/HTTP serves the signal on.
    fn http_path(self) -> &'static str {
        match self {
            Self::Metrics => "/v1/metrics",
            Self::Traces => "/v1/traces",
            Self::Logs => "/v1/logs",
        }
    }

    /// The signal's own endpoint in `config`, if one is set.
    fn own_endpoint(self, config: &OtelConfig) -> Option<&str> {
        match self {
            Self::Metrics => config.metrics_endpoint.as_deref(),
            Self::Traces => config.traces_endpoint.as_deref(),
            Self::Logs => config.logs_endpoint.as_deref(),
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Self::Metrics => "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            Self::Traces => "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            Self::Logs => "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Metrics => "metrics",
            Self::Traces => "spans",
            Self::Logs => "log records",
        }
    }
}

/// Where `signal` is sent, by upstream's rules: the signal's own endpoint as given; else the
/// base endpoint (`--override-observability-endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`), with the
/// signal's path added for HTTP when the base has none, and without its path for gRPC; else
/// `http://127.0.0.1:4318/v1/<signal>` (HTTP) or `http://127.0.0.1:4317` (gRPC).
///
/// # Errors
///
/// When the protocol is unknown, or an endpoint is not an `http(s)://` URL.
pub fn endpoint(config: &OtelConfig, signal: Signal) -> Result<String, String> {
    let protocol = Protocol::of(config)?;
    if let Some(own) = signal.own_endpoint(config) {
        let uri = parse(own, signal.flag())?;
        return Ok(match protocol {
            Protocol::Http => own.to_owned(),
            Protocol::Grpc => origin(&uri),
        });
    }
    let Some(base) = config.observability_endpoint.as_deref() else {
        return Ok(match protocol {
            Protocol::Http => format!("http://127.0.0.1:4318{}", signal.http_path()),
            Protocol::Grpc => "http://127.0.0.1:4317".to_owned(),
        });
    };
    let uri = parse(base, "--override-observability-endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)")?;
    Ok(match protocol {
        Protocol::Http if uri.path() == "/" => format!("{}{}", origin(&uri), signal.http_path()),
        Protocol::Http => base.to_owned(),
        Protocol::Grpc => origin(&uri),
    })
}

fn parse(value: &str, name: &str) -> Result<http::Uri, String> {
    let bad = |why: &str| format!("{name} `{value}` is not an OTLP endpoint: {why} (e.g. http://127.0.0.1:4318)");
    let uri: http::Uri = value.parse().map_err(|e: http::uri::InvalidUri| bad(&e.to_string()))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err(bad("it needs an http:// or https:// scheme and a host")),
    }
}

/// `scheme://authority` of `uri`.
fn origin(uri: &http::Uri) -> String {
    format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("http"),
        uri.authority().map(http::uri::Authority::as_str).unwrap_or_default()
    )
}

/// The OTLP metric exporter `config` asks for. Must be called within the tokio runtime the
/// exports are to run on.
pub fn metric_exporter(config: &OtelConfig) -> Result<Reported<opentelemetry_otlp::MetricExporter>, String> {
    let endpoint = endpoint(config, Signal::Metrics)?;
    let built = match Protocol::of(config)? {
        Protocol::Http => opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(OnRuntime::new()?)
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
        Protocol::Grpc => opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
    };
    let exporter = built.map_err(|e| format!("cannot export metrics to `{endpoint}`: {e}"))?;
    Ok(Reported::new(exporter, endpoint, Signal::Metrics))
}

/// The OTLP span exporter `config` asks for. Must be called within the tokio runtime the
/// exports are to run on.
pub fn span_exporter(config: &OtelConfig) -> Result<Reported<opentelemetry_otlp::SpanExporter>, String> {
    let endpoint = endpoint(config, Signal::Traces)?;
    let built = match Protocol::of(config)? {
        Protocol::Http => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(OnRuntime::new()?)
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
        Protocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
    };
    let exporter = built.map_err(|e| format!("cannot export spans to `{endpoint}`: {e}"))?;
    Ok(Reported::new(exporter, endpoint, Signal::Traces))
}

/// The OTLP log exporter `config` asks for. Must be called within the tokio runtime the
/// exports are to run on.
pub fn log_exporter(config: &OtelConfig) -> Result<Reported<opentelemetry_otlp::LogExporter>, String> {
    let endpoint = endpoint(config, Signal::Logs)?;
    let built = match Protocol::of(config)? {
        Protocol::Http => opentelemetry_otlp::LogExporter::builder()
            .with_http()
            .with_http_client(OnRuntime::new()?)
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
        Protocol::Grpc => opentelemetry_otlp::LogExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(EXPORT_TIMEOUT)
            .build(),
    };
    let exporter = built.map_err(|e| format!("cannot export log records to `{endpoint}`: {e}"))?;
    Ok(Reported::new(exporter, endpoint, Signal::Logs))
}

/// An exporter that says when exports start failing, and when they work again, once each:
/// the SDK reports a failed periodic export only at debug level, and a collector that is
/// down should be visible without flooding the log.
pub struct Reported<E> {
    inner: E,
    endpoint: String,
    signal: Signal,
    failing: AtomicBool,
}

impl<E> Reported<E> {
    fn new(inner: E, endpoint: String, signal: Signal) -> Self {
        Self {
            inner,
            endpoint,
            signal,
            failing: AtomicBool::new(false),
        }
    }

    /// Says, once, that exports fail, and once that they work again.
    fn report(&self, exported: &OTelSdkResult) {
        match exported {
            Err(error) if !self.failing.swap(true, Ordering::Relaxed) => tracing::warn!(
                endpoint = %self.endpoint,
                %error,
                "cannot export {}; the next exports retry (said once until they work)",
                self.signal.name()
            ),
            Ok(()) if self.failing.swap(false, Ordering::Relaxed) => {
                tracing::info!(endpoint = %self.endpoint, "{} are exported again", self.signal.name());
            }
            _ => {}
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Reported<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reported")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Reported<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let exported = self.inner.export(metrics).await;
        self.report(&exported);
        exported
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

impl<E: SpanExporter> SpanExporter for Reported<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let exported = self.inner.export(batch).await;
        self.report(&exported);
        exported
    }

    fn shutdown_with_timeout(&mut self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&mut self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for Reported<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let exported = self.inner.export(batch).await;
        self.report(&exported);
        exported
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

type Hyper = opentelemetry_http::hyper::HyperClient<
    hyper_tls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
>;

/// The OTLP/HTTP client: hyper (plain HTTP or TLS through the system's OpenSSL), run on the
/// host's tokio runtime. The SDK exports from a thread of its own, where no runtime is
/// current, so each request is spawned onto the runtime the exporter was made in.
#[derive(Debug, Clone)]
struct OnRuntime {
    client: Hyper,
    runtime: tokio::runtime::Handle,
}

impl OnRuntime {
    fn new() -> Result<Self, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "the OTLP exporter must be created within a tokio runtime".to_owned())?;
        Ok(Self {
            client: opentelemetry_http::hyper::HyperClient::new(hyper_tls::HttpsConnector::new(), EXPORT_TIMEOUT, None),
            runtime,
        })
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move { client.send_bytes(request).await })
            .await
            .map_err(|e| Box::new(e) as opentelemetry_http::HttpError)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(protocol: &str, base: Option<&str>, own: Option<&str>) -> OtelConfig {
        OtelConfig {
            protocol: protocol.to_owned(),
            observability_endpoint: base.map(str::to_owned),
            metrics_endpoint: own.map(str::to_owned),
            ..OtelConfig::default()
        }
    }

    #[test]
    fn endpoints_follow_upstreams_rules() {
        let metrics = |protocol, base, own| endpoint(&config(protocol, base, own), Signal::Metrics);
        assert_eq!(metrics("Http", None, None).unwrap(), "http://127.0.0.1:4318/v1/metrics");
        assert_eq!(metrics("grpc", None, None).unwrap(), "http://127.0.0.1:4317");
        assert_eq!(
            metrics("http", Some("http://collector:4318"), None).unwrap(),
            "http://collector:4318/v1/metrics"
        );
        assert_eq!(
            metrics("http", Some("https://collector/otlp"), None).unwrap(),
            "https://collector/otlp"
        );
        assert_eq!(
            metrics("grpc", Some("http://collector:4317/ignored"), None).unwrap(),
            "http://collector:4317"
        );
        assert_eq!(
            metrics("http", Some("http://base:4318"), Some("http://own:9999/m")).unwrap(),
            "http://own:9999/m"
        );
    }

    #[test]
    fn bad_endpoints_and_protocols_are_named() {
        let err = endpoint(&config("http", Some("collector:4318"), None), Signal::Metrics).unwrap_err();
        assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{err}");
        assert!(err.contains("http:// or https://"), "{err}");
        let err = endpoint(&config("http", None, Some("not a url")), Signal::Metrics).unwrap_err();
        assert!(err.contains("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT `not a url`"), "{err}");
        let err = Protocol::of(&config("udp", None, None)).unwrap_err();
        assert_eq!(
            err,
            "unknown observability protocol `udp`: use `http` (OTLP/HTTP, the default) or `grpc`"
        );
    }
}
