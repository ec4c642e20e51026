//! [`LatticeLinks`]: the runtime's [`Links`], over the lattice's links and wRPC. A call's
//! target comes from the link index the bucket watcher keeps; one wRPC NATS client per target
//! (its subject prefix is the target's) is created on first use and reused.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};

use lattice_runtime::{ComponentId, Incoming, InvokeFuture, LinkError, LinkedCall, Links, Outgoing};
use lattice_telemetry::KeyValue;
use lattice_telemetry::api::SpanKind;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wrpc_transport::Invoke as _;

use crate::state::LinkTargets;
use crate::telemetry::{CallProbe, HostMetrics, spans};

/// Header naming the calling component, as upstream hosts send it.
pub(crate) const SOURCE_ID: &str = "source-id";
/// Header naming the link a call travels over.
pub(crate) const LINK_NAME: &str = "link-name";

/// Linked calls of this host's components.
#[derive(Debug)]
pub(crate) struct LatticeLinks {
    lattice: String,
    targets: Arc<LinkTargets>,
    /// Set once the host has connected; calls cannot happen before (no component runs).
    nats: OnceLock<Arc<async_nats::Client>>,
    clients: Mutex<HashMap<Arc<str>, wrpc_transport_nats::Client>>,
    /// Times each call, when metrics are on.
    metrics: Option<Arc<HostMetrics>>,
    /// Starts a client span per call, when traces are on.
    tracer: Option<lattice_telemetry::Tracer>,
}

impl LatticeLinks {
    pub(crate) fn new(
        lattice: &str,
        targets: Arc<LinkTargets>,
        metrics: Option<Arc<HostMetrics>>,
        tracer: Option<lattice_telemetry::Tracer>,
    ) -> Self {
        Self {
            lattice: lattice.to_owned(),
            targets,
            nats: OnceLock::new(),
            clients: Mutex::default(),
            metrics,
            tracer,
        }
    }

    /// The NATS connection calls go over.
    pub(crate) fn connect(&self, nats: async_nats::Client) {
        // Set once by `Host::start`; a second call would be a bug, and changes nothing.
        let _ = self.nats.set(Arc::new(nats));
    }

    /// The wRPC client whose subject prefix is `target`'s.
    async fn client(&self, target: &Arc<str>) -> Result<wrpc_transport_nats::Client, LinkError> {
        if let Some(client) = self.lock().get(target) {
            return Ok(client.clone());
        }
        let nats = self
            .nats
            .get()
            .ok_or_else(|| LinkError::new("the host is not connected to the lattice yet"))?;
        let client = wrpc_transport_nats::Client::new(Arc::clone(nats), super::prefix(&self.lattice, target), None)
            .await
            .map_err(|e| LinkError::new(format!("cannot prepare calls to `{target}`: {e:#}")))?;
        // Two calls racing here both create one; either serves.
        Ok(self.lock().entry(Arc::clone(target)).or_insert(client).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, wrpc_transport_nats::Client>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Links for LatticeLinks {
    fn target(&self, source: &ComponentId, link_name: &str, interface: &str) -> Option<Arc<str>> {
        self.targets.get(source.as_str(), link_name, interface)
    }

    fn invoke<'a>(&'a self, call: LinkedCall<'a>) -> InvokeFuture<'a> {
        Box::pin(async move {
            let record = CallRecord {
                probe: self
                    .metrics
                    .as_ref()
                    .map(|metrics| metrics.call(call.source.as_str(), call.instance, call.function)),
                span: self.tracer.as_ref().map(|tracer| call_span(tracer, &call)),
            };
            let failed = |e: LinkError| {
                record.fail(&e);
                e
            };
            let target: Arc<str> = call.target.into();
            let client = self.client(&target).await.map_err(failed)?;
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(SOURCE_ID, call.source.as_str());
            headers.insert(LINK_NAME, call.link_name);
            if let Some(span) = &record.span {
                lattice_telemetry::propagate::into_nats(span, &mut headers);
            }
            let (outgoing, incoming) = client
                .invoke(Some(headers), call.instance, call.function, call.params, call.paths)
                .await
                .map_err(|e| {
                    failed(LinkError::new(format!(
                        "cannot call `{}.{}` on `{target}` over link `{}`: {e:#}",
                        call.instance, call.function, call.link_name
                    )))
                })?;
            let target = Arc::new(Unanswered {
                target,
                lattice: self.lattice.clone(),
                record,
            });
            Ok((
                Outgoing::new(Named {
                    inner: outgoing,
                    target: Arc::clone(&target),
                    root: true,
                }),
                Incoming::new(Named {
                    inner: incoming,
                    target,
                    root: true,
                }),
            ))
        })
    }
}

/// The client span of `call`, under the span of the invocation making it.
fn call_span(tracer: &lattice_telemetry::Tracer, call: &LinkedCall<'_>) -> lattice_telemetry::Context {
    let parent = call.trace.map(spans::from_runtime).unwrap_or_default();
    spans::start(
        tracer,
        &parent,
        format!("{}/{}", call.instance, call.function),
        SpanKind::Client,
        || {
            vec![
                KeyValue::new("rpc.system", "wrpc"),
                KeyValue::new("rpc.service", call.instance.to_owned()),
                KeyValue::new("rpc.method", call.function.to_owned()),
                KeyValue::new("component.id", call.source.to_string()),
                KeyValue::new("link.name", call.link_name.to_owned()),
                KeyValue::new("link.target", call.target.to_owned()),
            ]
        },
    )
}

/// What is recorded of one call: its timing (metrics) and its span (traces), each ended
/// once the call's last stream is dropped.
#[derive(Debug, Default)]
struct CallRecord {
    probe: Option<CallProbe>,
    span: Option<lattice_telemetry::Context>,
}

impl CallRecord {
    /// Counts the call as failed, for `why`.
    fn fail(&self, why: &dyn std::fmt::Display) {
        if let Some(probe) = &self.probe {
            probe.fail();
        }
        if let Some(span) = &self.span {
            spans::fail(span, why.to_string());
        }
    }
}

/// What the streams of one call share: what to say when nobody answers, and the call's
/// record.
#[derive(Debug)]
struct Unanswered {
    target: Arc<str>,
    lattice: String,
    record: CallRecord,
}

impl Unanswered {
    /// The transport reports "no responders" as `NotConnected`; say who did not answer. Any
    /// error on a stream counts the call as failed.
    fn explain(&self, err: std::io::Error) -> std::io::Error {
        let err = if err.kind() == std::io::ErrorKind::NotConnected {
            std::io::Error::new(
                err.kind(),
                format!(
                    "nothing on lattice `{}` answers for `{}`: start it, or point the link at one that runs",
                    self.lattice, self.target
                ),
            )
        } else {
            err
        };
        self.record.fail(&err);
        err
    }
}

/// A call's stream whose errors name the target.
struct Named<T> {
    inner: T,
    target: Arc<Unanswered>,
    /// The call's own stream, as opposed to one of its nested async values (which end
    /// normally by ending).
    root: bool,
}

impl<T: wrpc_transport::Index<T>> wrpc_transport::Index<Self> for Named<T> {
    fn index(&self, path: &[usize]) -> anyhow::Result<Self> {
        Ok(Self {
            inner: self.inner.index(path)?,
            target: Arc::clone(&self.target),
            root: false,
        })
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Named<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        Pin::new(&mut this.inner)
            .poll_write(cx, buf)
            .map_err(|e| this.target.explain(e))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        Pin::new(&mut this.inner)
            .poll_flush(cx)
            .map_err(|e| this.target.explain(e))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        Pin::new(&mut this.inner)
            .poll_shutdown(cx)
            .map_err(|e| this.target.explain(e))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Named<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        // Results are read only as far as they go: the call's own stream ending here means
        // the target failed before answering (its log says why).
        if this.root && matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() == before && buf.remaining() > 0 {
            this.target.record.fail(&"the target closed the call without answering");
        }
        polled.map_err(|e| this.target.explain(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_responders_name_the_target() {
        let unanswered = Unanswered {
            target: "kv-redis".into(),
            lattice: "default".into(),
            record: CallRecord::default(),
        };
        let err = unanswered.explain(std::io::ErrorKind::NotConnected.into());
        assert_eq!(
            err.to_string(),
            "nothing on lattice `default` answers for `kv-redis`: start it, or point the link at one that runs"
        );
        let other = unanswered.explain(std::io::ErrorKind::BrokenPipe.into());
        assert_eq!(other.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
