//! The provider's spans (ADR 0019): with traces on in the host data's `otel_config` (the
//! host passes its own setting), each call the provider serves gets a server span under the
//! caller's, whose context arrives in the call's NATS headers (`traceparent`), so a provider
//! joins the trace of the component call that reached it. Spans are exported over OTLP as the
//! host's are (`lattice-telemetry`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures::{Stream, StreamExt as _};
use lattice_control_interface::provider::HostData;
use lattice_telemetry::{Context, KeyValue, Tracer, Traces};
use tokio::io::AsyncWrite;
use wrpc_transport::Serve;
use wrpc_transport_nats::{NatsContext, SubjectWriter};

/// Starts the provider's span pipeline when the host data asks for traces. A pipeline that
/// cannot start is logged and the provider runs without it: telemetry never stops a provider.
pub(crate) fn start(host_data: &HostData, name: &str) -> Option<Traces> {
    Traces::start(&host_data.otel_config, service(host_data, name))
        .inspect_err(|error| tracing::warn!(%error, "the provider's spans are not exported"))
        .ok()
        .flatten()
}

/// Who the provider's spans and log records come from.
pub(crate) fn service<'a>(host_data: &HostData, name: &'a str) -> lattice_telemetry::Service<'a> {
    lattice_telemetry::Service {
        name,
        scope: (env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
        attributes: vec![
            KeyValue::new("provider.id", host_data.provider_key.clone()),
            KeyValue::new("host.id", host_data.host_id.clone()),
            KeyValue::new("lattice", host_data.lattice_rpc_prefix.clone()),
        ],
    }
}

/// The wRPC server of a provider's exports: the NATS transport's, with a server span per
/// call when traces are on. Pass it to a `serve_interface`, as
/// [`crate::ProviderHandle::wrpc_server`] says.
pub struct WrpcServer {
    inner: wrpc_transport_nats::Client,
    tracer: Option<Tracer>,
}

impl std::fmt::Debug for WrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WrpcServer")
            .field("traced", &self.tracer.is_some())
            .finish_non_exhaustive()
    }
}

impl WrpcServer {
    pub(crate) fn new(inner: wrpc_transport_nats::Client, tracer: Option<Tracer>) -> Self {
        Self { inner, tracer }
    }
}

impl Serve for WrpcServer {
    type Context = NatsContext;
    type Outgoing = Results;
    type Incoming = <wrpc_transport_nats::Client as Serve>::Incoming;

    async fn serve(
        &self,
        instance: &str,
        func: &str,
        paths: impl Into<Arc<[Box<[Option<usize>]>]>> + Send,
    ) -> anyhow::Result<
        impl Stream<Item = anyhow::Result<(Self::Context, Self::Outgoing, Self::Incoming)>> + Send + 'static,
    > {
        let calls = self.inner.serve(instance, func, paths).await?;
        let tracer = self.tracer.clone();
        let (instance, func): (Arc<str>, Arc<str>) = (instance.into(), func.into());
        Ok(calls.map(move |accepted| {
            let (cx, results, params) = accepted?;
            let span = tracer.as_ref().map(|tracer| call_span(tracer, &cx, &instance, &func));
            Ok((cx, Results { inner: results, span }, params))
        }))
    }
}

/// The server span of one call of `instance`'s `func`, under the caller's span.
fn call_span(tracer: &Tracer, cx: &NatsContext, instance: &str, func: &str) -> Context {
    lattice_telemetry::span::wrpc_server(tracer, cx.headers.as_ref(), instance, func, |attributes| {
        if let Some(caller) = crate::Caller::from_context(cx) {
            attributes.push(KeyValue::new("caller.id", caller.component_id));
            attributes.push(KeyValue::new("link.name", caller.link_name));
        }
    })
}

/// Where a served call's results are written; the call's span (if any) ends when the results
/// are, and is marked failed if writing them fails.
pub struct Results {
    inner: SubjectWriter,
    span: Option<Context>,
}

impl std::fmt::Debug for Results {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Results").finish_non_exhaustive()
    }
}

impl Results {
    fn failed(&self, error: &std::io::Error) {
        if let Some(span) = &self.span {
            lattice_telemetry::span::fail(span, error.to_string());
        }
    }
}

impl wrpc_transport::Index<Self> for Results {
    fn index(&self, path: &[usize]) -> anyhow::Result<Self> {
        Ok(Self {
            inner: self.inner.index(path)?,
            span: None,
        })
    }
}

impl AsyncWrite for Results {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Err(error)) = &polled {
            self.failed(error);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        if let Poll::Ready(Err(error)) = &polled {
            self.failed(error);
        }
        polled
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        if let Poll::Ready(Err(error)) = &polled {
            self.failed(error);
        }
        polled
    }
}
