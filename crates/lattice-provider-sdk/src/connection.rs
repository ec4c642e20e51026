//! What a running provider holds: [`ProviderHandle`] (its host data, the lattice connection,
//! the wRPC server for its exports, clients for calling components, the shutdown signal),
//! [`ComponentClient`] (calls to one component, with the headers upstream providers send)
//! and [`Caller`] (who made an incoming call, from its headers).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use lattice_control_interface::provider::HostData;
use tokio::sync::watch;
use wrpc_transport_nats::NatsContext;

use crate::trace::WrpcServer;

use crate::error::{ErrorKind, ProviderError};

/// Header naming the caller of a wRPC call: the component, or the provider.
pub const SOURCE_ID: &str = "source-id";
/// Header naming the callee of a provider's call, as upstream providers send it.
pub const TARGET_ID: &str = "target-id";
/// Header naming the link a component's call travels over.
pub const LINK_NAME: &str = "link-name";
/// The link name a call without a `link-name` header travels over.
pub const DEFAULT_LINK_NAME: &str = "default";
/// How long a provider waits for a component to accept a call, as upstream providers do.
pub const DEFAULT_INVOCATION_TIMEOUT: Duration = Duration::from_secs(10);

/// One function's incoming calls, as `serve_interface` of `lattice-interfaces` returns them.
pub type Invocations = Pin<Box<dyn Stream<Item = anyhow::Result<Call>> + Send + 'static>>;
/// One accepted call: runs the handler and writes the results.
pub type Call = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'static>>;

/// A running provider: what it was started with and how it reaches the lattice. Cheap to
/// clone; every clone is the same provider.
#[derive(Debug, Clone)]
pub struct ProviderHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    host_data: HostData,
    nats: async_nats::Client,
    server: WrpcServer,
    shutdown: watch::Receiver<bool>,
}

impl ProviderHandle {
    pub(crate) fn new(
        host_data: HostData,
        nats: async_nats::Client,
        server: WrpcServer,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                host_data,
                nats,
                server,
                shutdown,
            }),
        }
    }

    /// What the host started the provider with.
    #[must_use]
    pub fn host_data(&self) -> &HostData {
        &self.inner.host_data
    }

    /// The provider's id (`HostData::provider_key`).
    #[must_use]
    pub fn provider_id(&self) -> &str {
        &self.inner.host_data.provider_key
    }

    /// The lattice's name, which prefixes every subject.
    #[must_use]
    pub fn lattice(&self) -> &str {
        &self.inner.host_data.lattice_rpc_prefix
    }

    /// The lattice's NATS connection (also the default for providers that reach NATS
    /// themselves, like the messaging provider).
    #[must_use]
    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    /// The wRPC server of the provider's exports: subject prefix and queue group
    /// `{lattice}.{provider_id}`, so calls to replicas of the provider are shared among them;
    /// with traces on, each call gets a span under its caller's. Pass it to a
    /// `serve_interface` of `lattice-interfaces`, then the result to [`Self::serve`]; do it in
    /// the provider's `init` hook, so the exports' subscriptions are on the server before the
    /// provider answers its first health check (when hosts and `wash dev` take it as ready).
    #[must_use]
    pub fn wrpc_server(&self) -> &WrpcServer {
        &self.inner.server
    }

    /// Runs the calls of these functions (as `serve_interface` returns them), each in its own
    /// task, until shutdown. A call that fails is logged with its function's name and costs
    /// that call alone.
    pub fn serve(&self, functions: impl IntoIterator<Item = (&'static str, &'static str, Invocations)>) {
        let provider_id: Arc<str> = self.provider_id().into();
        let streams = functions.into_iter().map(|(instance, function, invocations)| {
            let provider_id = Arc::clone(&provider_id);
            invocations.map(move |accepted| (instance, function, Arc::clone(&provider_id), accepted))
        });
        let mut calls = futures::stream::select_all(streams);
        let mut shutdown = self.inner.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    next = calls.next() => next,
                    _ = shutdown.wait_for(|stopping| *stopping) => return,
                };
                let Some((instance, function, provider_id, accepted)) = next else {
                    return;
                };
                match accepted {
                    Ok(call) => {
                        tokio::spawn(async move {
                            if let Err(err) = call.await {
                                tracing::warn!(
                                    provider_id = %provider_id,
                                    instance,
                                    function,
                                    error = %format!("{err:#}"),
                                    "wRPC call failed"
                                );
                            }
                        });
                    }
                    Err(err) => tracing::debug!(
                        provider_id = %provider_id,
                        instance,
                        function,
                        error = %format!("{err:#}"),
                        "wRPC call not accepted"
                    ),
                }
            }
        });
    }

    /// A client for calling `component_id`'s exports, with the default timeout.
    ///
    /// # Errors
    ///
    /// When NATS refuses the client's inbox subscription.
    pub async fn client_for(&self, component_id: &str) -> Result<ComponentClient, ProviderError> {
        self.client_with_timeout(component_id, DEFAULT_INVOCATION_TIMEOUT).await
    }

    /// A client for calling `component_id`'s exports: each call must be accepted within
    /// `timeout`.
    ///
    /// # Errors
    ///
    /// When NATS refuses the client's inbox subscription.
    pub async fn client_with_timeout(
        &self,
        component_id: &str,
        timeout: Duration,
    ) -> Result<ComponentClient, ProviderError> {
        ComponentClient::new(self.nats(), self.lattice(), self.provider_id(), component_id, timeout).await
    }

    /// Resolves once the host asked the provider to shut down (or a signal did) and the
    /// provider's `shutdown` hook has returned. A provider's `main` waits on it, then returns,
    /// which ends the process with status 0.
    pub async fn shutdown_requested(&self) {
        let mut shutdown = self.inner.shutdown.clone();
        // An error means the sender is gone, which only happens once shutdown began.
        let _ = shutdown.wait_for(|stopping| *stopping).await;
    }

    /// Whether shutdown has begun.
    #[must_use]
    pub fn is_shutting_down(&self) -> bool {
        *self.inner.shutdown.borrow()
    }
}

/// Calls from the provider to one component: subject prefix `{lattice}.{component}`, headers
/// `source-id` (the provider) and `target-id` (the component), and a timeout on each call's
/// acceptance. "Nothing answers" fails at once (NATS's no-responders status); a component
/// that does not accept within the timeout fails with `invocation timed out`.
#[derive(Debug, Clone)]
pub struct ComponentClient {
    inner: wrpc_transport_nats::Client,
    headers: HeaderMap,
    target: Arc<str>,
    timeout: Duration,
}

impl ComponentClient {
    /// A client of `component_id` on `lattice`, calling as `provider_id`.
    ///
    /// # Errors
    ///
    /// When NATS refuses the client's inbox subscription.
    pub async fn new(
        nats: &async_nats::Client,
        lattice: &str,
        provider_id: &str,
        component_id: &str,
        timeout: Duration,
    ) -> Result<Self, ProviderError> {
        let prefix = format!("{lattice}.{component_id}");
        let inner = wrpc_transport_nats::Client::new(nats.clone(), prefix.as_str(), None)
            .await
            .map_err(|e| ProviderError::with_source(ErrorKind::Wrpc(prefix), e))?;
        let mut headers = HeaderMap::new();
        headers.insert(SOURCE_ID, provider_id);
        headers.insert(TARGET_ID, component_id);
        Ok(Self {
            inner,
            headers,
            target: component_id.into(),
            timeout,
        })
    }

    /// The component this client calls.
    #[must_use]
    pub fn target(&self) -> &str {
        &self.target
    }
}

impl wrpc_transport::Invoke for ComponentClient {
    /// Extra headers; `source-id` and `target-id` are always this client's.
    type Context = Option<HeaderMap>;
    type Outgoing = <wrpc_transport_nats::Client as wrpc_transport::Invoke>::Outgoing;
    type Incoming = <wrpc_transport_nats::Client as wrpc_transport::Invoke>::Incoming;

    async fn invoke<P>(
        &self,
        cx: Self::Context,
        instance: &str,
        func: &str,
        params: Bytes,
        paths: impl AsRef<[P]> + Send,
    ) -> anyhow::Result<(Self::Outgoing, Self::Incoming)>
    where
        P: AsRef<[Option<usize>]> + Send + Sync,
    {
        let headers = match cx {
            None => self.headers.clone(),
            Some(mut extra) => {
                for (name, values) in self.headers.iter() {
                    for value in values {
                        extra.insert(name.clone(), value.clone());
                    }
                }
                extra
            }
        };
        tokio::time::timeout(
            self.timeout,
            wrpc_transport::Invoke::invoke(&self.inner, Some(headers), instance, func, params, paths),
        )
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "component `{}` did not accept `{instance}.{func}` within {:?}",
                self.target,
                self.timeout
            )
        })?
    }
}

/// Who made an incoming call, from the headers a host sends with a component's call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The calling component (`source-id`).
    pub component_id: String,
    /// The link the call travels over (`link-name`, `default` when absent).
    pub link_name: String,
}

impl Caller {
    /// The caller of a call served over NATS; `None` when the call names none.
    #[must_use]
    pub fn from_context(cx: &NatsContext) -> Option<Self> {
        Self::from_headers(cx.headers.as_ref())
    }

    /// The caller named by a call's headers; `None` without a non-empty `source-id`.
    #[must_use]
    pub fn from_headers(headers: Option<&HeaderMap>) -> Option<Self> {
        let headers = headers?;
        let component_id = headers
            .get(SOURCE_ID)
            .map(|v| v.as_str().trim())
            .filter(|v| !v.is_empty())?;
        let link_name = headers
            .get(LINK_NAME)
            .map(|v| v.as_str().trim())
            .filter(|v| !v.is_empty())
            .unwrap_or(DEFAULT_LINK_NAME);
        Some(Self {
            component_id: component_id.to_owned(),
            link_name: link_name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_comes_from_the_headers_with_the_default_link_name() {
        let mut headers = HeaderMap::new();
        headers.insert(SOURCE_ID, "counter");
        let cx = NatsContext {
            headers: Some(headers.clone()),
            ..NatsContext::default()
        };
        assert_eq!(
            Caller::from_context(&cx),
            Some(Caller {
                component_id: "counter".into(),
                link_name: "default".into()
            })
        );
        headers.insert(LINK_NAME, "cache");
        assert_eq!(Caller::from_headers(Some(&headers)).unwrap().link_name, "cache");
        assert_eq!(Caller::from_context(&NatsContext::default()), None);
        let mut empty = HeaderMap::new();
        empty.insert(SOURCE_ID, " ");
        assert_eq!(Caller::from_headers(Some(&empty)), None);
    }
}
