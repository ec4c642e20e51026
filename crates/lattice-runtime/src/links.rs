//! Links: where a component's calls go when no built-in serves them. The embedder supplies a
//! [`Links`] implementation (the host: the lattice's links and wRPC over NATS); this crate
//! knows no transport. Every call asks [`Links::target`] afresh, so a link put or deleted
//! while a component runs applies to its next call, without a restart.
//!
//! Calls travel as wRPC invocations: the runtime encodes the guest's arguments, the embedder
//! carries the bytes to the target and hands back the two byte streams of the invocation
//! ([`Outgoing`], [`Incoming`]). The link a call uses is chosen by the caller's link name for
//! that interface (`"default"` unless the guest chose another through `wasmcloud:bus`) and the
//! interface's `namespace:package/interface`, without version.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::id::ComponentId;

/// The link name a component uses unless it chose another.
pub const DEFAULT_LINK_NAME: &str = "default";

/// How long a linked call may take by default, from the first byte sent to the last
/// received (the wasmCloud provider SDK's invocation timeout).
pub const DEFAULT_LINK_TIMEOUT: Duration = Duration::from_secs(10);

/// The embedder's side of links: which target a link names, and how to reach it.
pub trait Links: Send + Sync + fmt::Debug + 'static {
    /// The target of the link named `link_name` from `source` that provides `interface`
    /// (`namespace:package/interface`, e.g. `wasi:keyvalue/store`), if there is one.
    fn target(&self, source: &ComponentId, link_name: &str, interface: &str) -> Option<Arc<str>>;

    /// Starts a wRPC invocation of `call.instance`'s `call.function` on `call.target`, sending
    /// `call.params` as the first bytes; returns the invocation's two streams.
    ///
    /// # Errors
    ///
    /// When the target cannot be reached (no responders, a timeout, a closed connection).
    fn invoke<'a>(&'a self, call: LinkedCall<'a>) -> InvokeFuture<'a>;
}

/// One linked call, as [`Links::invoke`] receives it.
#[derive(Debug)]
#[non_exhaustive]
pub struct LinkedCall<'a> {
    /// The calling component.
    pub source: &'a ComponentId,
    /// The link the call goes over.
    pub link_name: &'a str,
    /// The link's target (a component or provider id).
    pub target: &'a str,
    /// The wRPC instance, e.g. `wrpc:keyvalue/store@0.2.0-draft`.
    pub instance: &'a str,
    /// The function within the instance.
    pub function: &'a str,
    /// The encoded parameters known up front.
    pub params: Bytes,
    /// Positions of parameters sent asynchronously (streams and futures), for the transport
    /// to subscribe to.
    pub paths: &'a [&'a [Option<usize>]],
    /// The trace context of the invocation making the call, when the embedder ran it inside
    /// [`crate::TraceContext::scope`].
    pub trace: Option<&'a crate::TraceContext>,
}

/// The future [`Links::invoke`] returns.
pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<(Outgoing, Incoming), LinkError>> + Send + 'a>>;

/// Why a linked call could not be delivered; the guest's call fails with it.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LinkError {
    message: String,
}

impl LinkError {
    /// An error with a message that names the link and what went wrong.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A call to an interface no link provides; classified as [`crate::ErrorKind::MissingLink`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "component `{component}` called `{interface}#{function}` but no link named `{link_name}` provides `{interface}`: put a link from `{component}` for it"
)]
pub(crate) struct MissingLink {
    pub(crate) component: ComponentId,
    pub(crate) link_name: String,
    pub(crate) interface: String,
    pub(crate) function: String,
}

/// `namespace:package/interface` of an instance name, without its version.
pub(crate) fn unversioned(instance: &str) -> &str {
    instance.split_once('@').map_or(instance, |(name, _)| name)
}

/// The link names a component chose per interface through `wasmcloud:bus`; shared by the
/// parts of one store that make linked calls.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkNames(Arc<Mutex<HashMap<String, Arc<str>>>>);

impl LinkNames {
    /// The link name for `interface` (unversioned).
    pub(crate) fn get(&self, interface: &str) -> Arc<str> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(interface)
            .cloned()
            .unwrap_or_else(|| DEFAULT_LINK_NAME.into())
    }

    /// Uses `name` for every interface in `interfaces` from now on.
    pub(crate) fn set(&self, name: &str, interfaces: impl IntoIterator<Item = String>) {
        let name: Arc<str> = name.into();
        let mut names = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for interface in interfaces {
            names.insert(interface, Arc::clone(&name));
        }
    }
}

/// What one store needs to make linked calls.
#[derive(Debug, Clone)]
pub(crate) struct LinkCtx {
    pub(crate) source: ComponentId,
    pub(crate) links: Option<Arc<dyn Links>>,
    pub(crate) names: LinkNames,
    pub(crate) timeout: Duration,
    pub(crate) failure: LinkFailure,
    /// The invocation's trace context, for its calls.
    pub(crate) trace: Option<Arc<crate::TraceContext>>,
}

/// The last failure of a forwarded import's call in one store. Such a failure traps the
/// guest (the function has no error to return), and the trap is then reported as the link's
/// failure rather than the guest's.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkFailure(Arc<Mutex<Option<String>>>);

impl LinkFailure {
    fn record(&self, message: String) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
    }

    /// What went wrong with the store's last failed linked call, if one failed.
    pub(crate) fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl LinkCtx {
    /// The link name and target for a call from this store to `interface` (unversioned).
    pub(crate) fn route(&self, interface: &str) -> Option<Route> {
        let links = self.links.as_ref()?;
        let link_name = self.names.get(interface);
        let target = links.target(&self.source, &link_name, interface)?;
        Some(Route { link_name, target })
    }

    /// A wRPC client for calls from this store.
    pub(crate) fn invoker(&self) -> LinkInvoker {
        LinkInvoker {
            links: self.links.clone(),
            names: self.names.clone(),
            failure: self.failure.clone(),
        }
    }

    /// The context of a call whose route is already known.
    pub(crate) fn routed(&self, route: Route) -> CallContext {
        CallContext {
            source: self.source.clone(),
            route: Some(route),
            trace: self.trace.clone(),
        }
    }

    /// The context of a call routed by its instance name when it is made.
    pub(crate) fn unrouted(&self) -> CallContext {
        CallContext {
            source: self.source.clone(),
            route: None,
            trace: self.trace.clone(),
        }
    }
}

/// A link a call goes over.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) link_name: Arc<str>,
    pub(crate) target: Arc<str>,
}

/// The wRPC context of a linked call.
#[derive(Debug)]
pub(crate) struct CallContext {
    source: ComponentId,
    /// `None`: resolve from the instance name at the call.
    route: Option<Route>,
    trace: Option<Arc<crate::TraceContext>>,
}

/// The wRPC client of one store: resolves each call's link and hands it to [`Links`].
#[derive(Debug, Clone)]
pub(crate) struct LinkInvoker {
    links: Option<Arc<dyn Links>>,
    names: LinkNames,
    failure: LinkFailure,
}

impl wrpc_transport::Invoke for LinkInvoker {
    type Context = CallContext;
    type Outgoing = Outgoing;
    type Incoming = Incoming;

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
        let interface = unversioned(instance);
        let missing = |link_name: &str| MissingLink {
            component: cx.source.clone(),
            link_name: link_name.to_owned(),
            interface: interface.to_owned(),
            function: func.to_owned(),
        };
        let Some(links) = &self.links else {
            return Err(missing(&self.names.get(interface)).into());
        };
        // A call the runtime routed itself (a built-in's) reports failures to its caller;
        // a forwarded import's failure traps the guest, so it is recorded for the report.
        let (route, watched) = match cx.route {
            Some(route) => (route, None),
            None => {
                let link_name = self.names.get(interface);
                let Some(target) = links.target(&cx.source, &link_name, interface) else {
                    return Err(missing(&link_name).into());
                };
                (Route { link_name, target }, Some(self.failure.clone()))
            }
        };
        let paths: Vec<&[Option<usize>]> = paths.as_ref().iter().map(AsRef::as_ref).collect();
        let call = LinkedCall {
            source: &cx.source,
            link_name: &route.link_name,
            target: &route.target,
            instance,
            function: func,
            params,
            paths: &paths,
            trace: cx.trace.as_deref(),
        };
        match (links.invoke(call).await, watched) {
            (Ok(streams), None) => Ok(streams),
            (Ok((outgoing, incoming)), Some(failure)) => {
                let watch = Arc::new(Watch {
                    failure,
                    target: route.target,
                    call: format!("{instance}.{func}"),
                });
                Ok((
                    Outgoing::new(Watched {
                        inner: outgoing,
                        watch: Arc::clone(&watch),
                        root: true,
                    }),
                    Incoming::new(Watched {
                        inner: incoming,
                        watch,
                        root: true,
                    }),
                ))
            }
            (Err(err), watched) => {
                if let Some(failure) = watched {
                    failure.record(err.to_string());
                }
                Err(err.into())
            }
        }
    }
}

/// Where a forwarded call records how it failed.
#[derive(Debug)]
struct Watch {
    failure: LinkFailure,
    target: Arc<str>,
    call: String,
}

/// A stream of a forwarded call: an I/O error, or results that end before they are complete,
/// is recorded as the link's failure.
struct Watched<T> {
    inner: T,
    watch: Arc<Watch>,
    /// The call's own stream, as opposed to one of its nested async values (which end
    /// normally by ending).
    root: bool,
}

impl<T> Watched<T> {
    fn check<R>(&self, result: std::io::Result<R>) -> std::io::Result<R> {
        if let Err(err) = &result {
            self.watch.failure.record(format!(
                "`{}` on `{}` failed: {err}",
                self.watch.call, self.watch.target
            ));
        }
        result
    }
}

impl<T: wrpc_transport::Index<T>> wrpc_transport::Index<Self> for Watched<T> {
    fn index(&self, path: &[usize]) -> anyhow::Result<Self> {
        Ok(Self {
            inner: self.inner.index(path)?,
            watch: Arc::clone(&self.watch),
            root: false,
        })
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        polled.map(|r| self.check(r))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        polled.map(|r| self.check(r))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        polled.map(|r| self.check(r))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let ended = matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() == before && buf.remaining() > 0;
        if ended && self.root {
            // The results are read only as far as they go: an end here is premature.
            self.watch.failure.record(format!(
                "`{}` on `{}` ended without its results: it failed there, see that host's or provider's log",
                self.watch.call, self.watch.target
            ));
        }
        polled.map(|r| self.check(r))
    }
}

/// The outgoing byte stream of an invocation, whatever the transport.
pub struct Outgoing(Box<dyn DynOutgoing>);

/// The incoming byte stream of an invocation, whatever the transport.
pub struct Incoming(Box<dyn DynIncoming>);

impl Outgoing {
    /// Wraps a transport's outgoing stream.
    pub fn new<T>(stream: T) -> Self
    where
        T: AsyncWrite + wrpc_transport::Index<T> + Send + Sync + Unpin + 'static,
    {
        Self(Box::new(stream))
    }
}

impl Incoming {
    /// Wraps a transport's incoming stream.
    pub fn new<T>(stream: T) -> Self
    where
        T: AsyncRead + wrpc_transport::Index<T> + Send + Sync + Unpin + 'static,
    {
        Self(Box::new(stream))
    }
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Outgoing")
    }
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Incoming")
    }
}

trait DynOutgoing: AsyncWrite + Send + Sync + Unpin + 'static {
    fn index_dyn(&self, path: &[usize]) -> anyhow::Result<Outgoing>;
}

impl<T> DynOutgoing for T
where
    T: AsyncWrite + wrpc_transport::Index<T> + Send + Sync + Unpin + 'static,
{
    fn index_dyn(&self, path: &[usize]) -> anyhow::Result<Outgoing> {
        self.index(path).map(Outgoing::new)
    }
}

trait DynIncoming: AsyncRead + Send + Sync + Unpin + 'static {
    fn index_dyn(&self, path: &[usize]) -> anyhow::Result<Incoming>;
}

impl<T> DynIncoming for T
where
    T: AsyncRead + wrpc_transport::Index<T> + Send + Sync + Unpin + 'static,
{
    fn index_dyn(&self, path: &[usize]) -> anyhow::Result<Incoming> {
        self.index(path).map(Incoming::new)
    }
}

impl wrpc_transport::Index<Self> for Outgoing {
    fn index(&self, path: &[usize]) -> anyhow::Result<Self> {
        self.0.index_dyn(path)
    }
}

impl wrpc_transport::Index<Self> for Incoming {
    fn index(&self, path: &[usize]) -> anyhow::Result<Self> {
        self.0.index_dyn(path)
    }
}

impl AsyncWrite for Outgoing {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl AsyncRead for Incoming {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_lose_their_version() {
        assert_eq!(unversioned("wasi:keyvalue/store@0.2.0-draft"), "wasi:keyvalue/store");
        assert_eq!(unversioned("test:pingpong/ping"), "test:pingpong/ping");
    }

    #[test]
    fn link_names_default_and_follow_the_guest() {
        let names = LinkNames::default();
        assert_eq!(&*names.get("wasi:keyvalue/store"), DEFAULT_LINK_NAME);
        names.set("cache", ["wasi:keyvalue/store".to_owned()]);
        assert_eq!(&*names.get("wasi:keyvalue/store"), "cache");
        assert_eq!(&*names.get("wasi:keyvalue/atomics"), DEFAULT_LINK_NAME);
    }

    #[test]
    fn missing_link_names_the_link_and_the_fix() {
        let err = MissingLink {
            component: ComponentId::from("c"),
            link_name: "default".into(),
            interface: "test:unlinked/greeter".into(),
            function: "greet".into(),
        };
        assert_eq!(
            err.to_string(),
            "component `c` called `test:unlinked/greeter#greet` but no link named `default` provides `test:unlinked/greeter`: put a link from `c` for it"
        );
    }
}
