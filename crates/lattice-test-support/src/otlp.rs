//! A real OTLP receiver for telemetry tests, over HTTP ([`Receiver::start`]) or gRPC
//! ([`Receiver::start_grpc`]): it listens on a free loopback port, decodes each export with the
//! protocol's own message types and services (`opentelemetry-proto`), keeps it, and answers as
//! a collector does. Nothing of the exporter under test is mocked: what the test sees is what
//! went over the wire.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{Request, Response, StatusCode};
pub use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
pub use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
pub use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
pub use opentelemetry_proto::tonic::logs::v1::LogRecord;
pub use opentelemetry_proto::tonic::metrics::v1::{Metric, metric};
pub use opentelemetry_proto::tonic::trace::v1::{Span, span};
use prost::Message as _;

/// The protocol's message types, for tests that look into what arrived.
pub use opentelemetry_proto::tonic as proto;

/// Largest export body accepted (a collector's default is in this range).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// What the receiver has been sent so far.
#[derive(Debug, Default, Clone)]
pub struct Received {
    /// Every metrics export, in arrival order.
    pub metrics: Vec<ExportMetricsServiceRequest>,
    /// Every trace export, in arrival order.
    pub traces: Vec<ExportTraceServiceRequest>,
    /// Every log export, in arrival order.
    pub logs: Vec<ExportLogsServiceRequest>,
    /// Requests refused (wrong path, method or body), as `"<status> <path>: <why>"`.
    pub refused: Vec<String>,
}

impl Received {
    /// The latest data of metric `name` across all exports, with the scope it came in.
    #[must_use]
    pub fn metric(&self, name: &str) -> Option<&Metric> {
        self.metrics
            .iter()
            .rev()
            .flat_map(|request| &request.resource_metrics)
            .flat_map(|resource| &resource.scope_metrics)
            .flat_map(|scope| &scope.metrics)
            .find(|metric| metric.name == name)
    }

    /// The names of every metric received.
    #[must_use]
    pub fn metric_names(&self) -> std::collections::BTreeSet<String> {
        self.metrics
            .iter()
            .flat_map(|request| &request.resource_metrics)
            .flat_map(|resource| &resource.scope_metrics)
            .flat_map(|scope| &scope.metrics)
            .map(|metric| metric.name.clone())
            .collect()
    }
}

/// One log record as it arrived, with the resource that sent it.
#[derive(Debug, Clone)]
pub struct ReceivedLog {
    /// The sender's resource attributes (`service.name` among them).
    pub resource: Vec<KeyValue>,
    /// The record.
    pub record: LogRecord,
}

impl ReceivedLog {
    /// The record's body, when it is a string.
    #[must_use]
    pub fn body(&self) -> Option<&str> {
        match self.record.body.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(text) => Some(text),
            _ => None,
        }
    }

    /// The trace the record is in, in hex (empty when none).
    #[must_use]
    pub fn trace_id(&self) -> String {
        hex(&self.record.trace_id)
    }

    /// The span the record is in, in hex (empty when none).
    #[must_use]
    pub fn span_id(&self) -> String {
        hex(&self.record.span_id)
    }
}

impl Received {
    /// Every log record received, in arrival order.
    #[must_use]
    pub fn log_records(&self) -> Vec<ReceivedLog> {
        self.logs
            .iter()
            .flat_map(|request| &request.resource_logs)
            .flat_map(|resource| {
                let attributes = resource_attributes(resource.resource.as_ref());
                resource
                    .scope_logs
                    .iter()
                    .flat_map(|scope| &scope.log_records)
                    .map(move |record| ReceivedLog {
                        resource: attributes.clone(),
                        record: record.clone(),
                    })
            })
            .collect()
    }
}

/// One span as it arrived, with the resource that sent it.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// The sender's `service.name` (`wasmcloud-host`, a provider's name).
    pub service: String,
    /// The sender's resource attributes (`service.name` among them).
    pub resource: Vec<KeyValue>,
    /// The span.
    pub span: Span,
}

impl ReceivedSpan {
    /// The span's trace id, in hex.
    #[must_use]
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span's id, in hex.
    #[must_use]
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent's span id, in hex (empty for a root span).
    #[must_use]
    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Received {
    /// Every span received, in arrival order.
    #[must_use]
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.traces
            .iter()
            .flat_map(|request| &request.resource_spans)
            .flat_map(|resource| {
                let attributes = resource_attributes(resource.resource.as_ref());
                let service = attribute(&attributes, "service.name").unwrap_or_default().to_owned();
                resource
                    .scope_spans
                    .iter()
                    .flat_map(|scope| &scope.spans)
                    .map(move |span| ReceivedSpan {
                        service: service.clone(),
                        resource: attributes.clone(),
                        span: span.clone(),
                    })
            })
            .collect()
    }
}

/// The attributes of the `resource` an export came from (none when it named none).
fn resource_attributes(resource: Option<&proto::resource::v1::Resource>) -> Vec<KeyValue> {
    resource.map(|r| r.attributes.clone()).unwrap_or_default()
}

/// The text of a string attribute `key` among `attributes`.
#[must_use]
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(text) => Some(text.as_str()),
            _ => None,
        })
}

/// The keys of `attributes`, sorted.
#[must_use]
pub fn attribute_keys(attributes: &[KeyValue]) -> Vec<&str> {
    let mut keys: Vec<&str> = attributes.iter().map(|kv| kv.key.as_str()).collect();
    keys.sort_unstable();
    keys
}

/// Whether `value` is a string.
#[must_use]
pub fn is_string(value: Option<&AnyValue>) -> bool {
    matches!(
        value.and_then(|v| v.value.as_ref()),
        Some(any_value::Value::StringValue(_))
    )
}

/// A running receiver; stopped on drop.
#[derive(Debug)]
pub struct Receiver {
    addr: SocketAddr,
    state: State,
    changed: tokio::sync::watch::Receiver<usize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Starts a receiver on a free loopback port; it accepts connections once this returns.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    #[must_use]
    pub fn start() -> Self {
        Self::start_with(Protocol::Http, None)
    }

    /// As [`Receiver::start`], keeping only the latest `latest` exports of each signal: every
    /// export is still decoded, as a collector would, but a long run under load (a benchmark
    /// sending a span per request) does not hold all it was sent.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    #[must_use]
    pub fn start_keeping_latest(latest: usize) -> Self {
        Self::start_with(Protocol::Http, Some(latest))
    }

    /// Starts an OTLP/gRPC receiver (the collector's `MetricsService`, `TraceService` and
    /// `LogsService`) on a
    /// free loopback port.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound.
    #[must_use]
    pub fn start_grpc() -> Self {
        Self::start_with(Protocol::Grpc, None)
    }

    fn start_with(protocol: Protocol, latest: Option<usize>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a loopback port for OTLP");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the receiver's address");
        let (changes, changed) = tokio::sync::watch::channel(0);
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let state = Arc::new(Store {
            received: Mutex::default(),
            changes,
            latest,
        });
        let serving = Arc::clone(&state);
        let thread = std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the OTLP receiver");
                runtime.block_on(serve(listener, protocol, serving, stopped));
            })
            .expect("starting the OTLP receiver thread");
        Self {
            addr,
            state,
            changed,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The base endpoint, e.g. `http://127.0.0.1:43117` (exports go to `/v1/metrics`,
    /// `/v1/traces` and `/v1/logs` below it).
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A copy of everything received so far.
    #[must_use]
    pub fn received(&self) -> Received {
        self.state
            .received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until `condition` holds for what was received, checking after each export.
    ///
    /// # Panics
    ///
    /// When it does not hold within `within`; the message names `what` and lists what came.
    pub async fn wait_until(&self, what: &str, within: Duration, mut condition: impl FnMut(&Received) -> bool) {
        let mut changed = self.changed.clone();
        let waited = tokio::time::timeout(within, async {
            loop {
                if condition(&self.received()) {
                    return;
                }
                if changed.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        let received = self.received();
        assert!(
            waited.is_ok() && condition(&received),
            "{what}: not seen within {within:?}; metrics received: {:?}; refused: {:?}",
            received.metric_names(),
            received.refused
        );
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the receiver's connections share.
#[derive(Debug)]
struct Store {
    received: Mutex<Received>,
    /// Counts what arrived, for [`Receiver::wait_until`].
    changes: tokio::sync::watch::Sender<usize>,
    /// How many exports of each signal are kept (`None`: all).
    latest: Option<usize>,
}

impl Store {
    /// Records what arrived with `keep`, drops the oldest exports beyond the bound, and wakes
    /// whoever waits.
    fn keep(&self, keep: impl FnOnce(&mut Received)) {
        {
            let mut received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
            keep(&mut received);
            if let Some(latest) = self.latest {
                trim(&mut received.metrics, latest);
                trim(&mut received.traces, latest);
                trim(&mut received.logs, latest);
                trim(&mut received.refused, latest);
            }
        }
        self.changes.send_modify(|n| *n += 1);
    }
}

/// Drops all but the last `latest` of `items`.
fn trim<T>(items: &mut Vec<T>, latest: usize) {
    let extra = items.len().saturating_sub(latest);
    items.drain(..extra);
}

type State = Arc<Store>;

#[derive(Debug, Clone, Copy)]
enum Protocol {
    Http,
    Grpc,
}

async fn serve(
    listener: std::net::TcpListener,
    protocol: Protocol,
    state: State,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = &mut stopped => return,
        };
        let io = hyper_util::rt::TokioIo::new(stream);
        let state = state.clone();
        tokio::spawn(async move {
            match protocol {
                Protocol::Http => {
                    let service = hyper::service::service_fn(move |request| handle(request, state.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                }
                Protocol::Grpc => {
                    let service = grpc::Services::new(state);
                    let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(io, hyper_util::service::TowerToHyperService::new(service))
                        .await;
                }
            }
        });
    }
}

/// The collector's gRPC services over the same storage as the HTTP receiver.
mod grpc {
    use std::task::{Context, Poll};

    use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
    use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
    use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
        MetricsService, MetricsServiceServer,
    };
    use opentelemetry_proto::tonic::collector::metrics::v1::{
        ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
    use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
    use tonic::codegen::{BoxFuture, Service, http};

    use super::State;

    #[derive(Clone)]
    struct Store(State);

    impl Store {
        fn keep(&self, keep: impl FnOnce(&mut super::Received)) {
            self.0.keep(keep);
        }
    }

    #[async_trait::async_trait]
    impl MetricsService for Store {
        async fn export(
            &self,
            request: tonic::Request<ExportMetricsServiceRequest>,
        ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
            self.keep(|r| r.metrics.push(request.into_inner()));
            Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
        }
    }

    #[async_trait::async_trait]
    impl TraceService for Store {
        async fn export(
            &self,
            request: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            self.keep(|r| r.traces.push(request.into_inner()));
            Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
        }
    }

    #[async_trait::async_trait]
    impl LogsService for Store {
        async fn export(
            &self,
            request: tonic::Request<ExportLogsServiceRequest>,
        ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
            self.keep(|r| r.logs.push(request.into_inner()));
            Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
        }
    }

    /// Routes each call to its service by path; anything else is refused as unimplemented.
    #[derive(Clone)]
    pub(super) struct Services {
        metrics: MetricsServiceServer<Store>,
        traces: TraceServiceServer<Store>,
        logs: LogsServiceServer<Store>,
        store: Store,
    }

    impl Services {
        pub(super) fn new(state: State) -> Self {
            let store = Store(state);
            Self {
                metrics: MetricsServiceServer::new(store.clone()),
                traces: TraceServiceServer::new(store.clone()),
                logs: LogsServiceServer::new(store.clone()),
                store,
            }
        }
    }

    impl Service<http::Request<hyper::body::Incoming>> for Services {
        type Response = http::Response<tonic::body::Body>;
        type Error = std::convert::Infallible;
        type Future = BoxFuture<Self::Response, Self::Error>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
            let path = request.uri().path().to_owned();
            if path.starts_with("/opentelemetry.proto.collector.metrics.v1.MetricsService/") {
                self.metrics.call(request)
            } else if path.starts_with("/opentelemetry.proto.collector.trace.v1.TraceService/") {
                self.traces.call(request)
            } else if path.starts_with("/opentelemetry.proto.collector.logs.v1.LogsService/") {
                self.logs.call(request)
            } else {
                self.store.keep(|r| r.refused.push(format!("unimplemented {path}")));
                Box::pin(async { Ok(tonic::Status::unimplemented("not an OTLP service").into_http()) })
            }
        }
    }
}

async fn handle(request: Request<hyper::body::Incoming>, store: State) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let refuse = |status: StatusCode, why: String| {
        store.keep(|all| all.refused.push(format!("{} {path}: {why}", status.as_u16())));
        let mut response = Response::new(Full::new(Bytes::from(why)));
        *response.status_mut() = status;
        Ok(response)
    };
    if request.method() != hyper::Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "OTLP/HTTP takes POST".into());
    }
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type != "application/x-protobuf" {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type `{content_type}`, not application/x-protobuf"),
        );
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("reading the body: {e}")),
    };
    let decoded = match path.as_str() {
        "/v1/metrics" => ExportMetricsServiceRequest::decode(body).map(|m| store.keep(|r| r.metrics.push(m))),
        "/v1/traces" => ExportTraceServiceRequest::decode(body).map(|t| store.keep(|r| r.traces.push(t))),
        "/v1/logs" => ExportLogsServiceRequest::decode(body).map(|l| store.keep(|r| r.logs.push(l))),
        _ => return refuse(StatusCode::NOT_FOUND, "not an OTLP/HTTP path".into()),
    };
    if let Err(e) = decoded {
        return refuse(StatusCode::BAD_REQUEST, format!("not an OTLP protobuf message: {e}"));
    }
    // An empty Export*ServiceResponse: everything was accepted.
    let mut response = Response::new(Full::new(Bytes::new()));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/x-protobuf"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Posts `body` to `path` of the receiver at `addr` and returns the status.
    async fn post(addr: SocketAddr, path: &'static str, content_type: &'static str, body: Vec<u8>) -> StatusCode {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        let request = Request::post(path)
            .header(hyper::header::HOST, addr.to_string())
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        sender.send_request(request).await.unwrap().status()
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(future)
    }

    #[test]
    fn refuses_what_is_not_otlp_and_keeps_what_is() {
        let receiver = Receiver::start();
        let addr = receiver.addr;
        block_on(async {
            let export = ExportMetricsServiceRequest::default().encode_to_vec();
            assert_eq!(
                post(addr, "/v1/metrics", "application/x-protobuf", export.clone()).await,
                200
            );
            assert_eq!(post(addr, "/v1/metrics", "application/json", export).await, 415);
            assert_eq!(
                post(addr, "/v1/metrics", "application/x-protobuf", vec![0xff; 3]).await,
                400
            );
            assert_eq!(
                post(addr, "/v1/profiles", "application/x-protobuf", Vec::new()).await,
                404
            );
            receiver
                .wait_until("four requests", Duration::from_secs(5), |r| {
                    r.metrics.len() == 1 && r.refused.len() == 3
                })
                .await;
        });
    }

    #[test]
    fn a_bounded_receiver_keeps_only_the_latest_exports() {
        let receiver = Receiver::start_keeping_latest(2);
        let addr = receiver.addr;
        block_on(async {
            // Exports told apart by how many resources they carry: 1, 2, 3.
            for resources in 1..=3 {
                let export = ExportMetricsServiceRequest {
                    resource_metrics: vec![Default::default(); resources],
                };
                let status = post(addr, "/v1/metrics", "application/x-protobuf", export.encode_to_vec()).await;
                assert_eq!(status, 200);
            }
        });
        // Each export is kept before its answer is sent.
        let kept: Vec<usize> = receiver
            .received()
            .metrics
            .iter()
            .map(|export| export.resource_metrics.len())
            .collect();
        assert_eq!(kept, [2, 3]);
    }
}
