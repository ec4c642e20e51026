//! One TCP listener of the ingress: an accept loop that serves each
//! connection with hyper (HTTP/1.1 with keep-alive, or HTTP/2 when the
//! client speaks it) and stops gracefully: on a stop signal it closes the
//! socket, lets connections finish the requests they have in flight until
//! the deadline, then drops what is left.
//!
//! Clients are bounded by [`ClientLimits`]: a connection is accepted only
//! with one of the ingress's connection slots, and one that has not sent a
//! complete request head by the deadline is closed, whatever the protocol
//! (the HTTP/1 header timeout alone does not cover protocol detection or the
//! HTTP/2 handshake), and one with no request in flight for the idle
//! timeout is closed gracefully (an HTTP/2 client answering pings would
//! otherwise keep its slot for ever).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use http::HeaderValue;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::config::ClientLimits;
use super::error::IngressError;
use super::lookup::{ComponentLookup, ServedRequest};
use super::routes::RouteSet;
use super::service::{self, Shared};

/// Pending connections the kernel queues before `accept`.
const BACKLOG: u32 = 1024;

/// The ingress's client limits and its connection slots, shared by all its
/// listeners.
#[derive(Debug)]
pub(crate) struct Clients {
    limits: ClientLimits,
    slots: Arc<Semaphore>,
}

impl Clients {
    pub(crate) fn new(limits: ClientLimits) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS))),
            limits,
        }
    }

    /// A connection slot, once one is free.
    async fn slot(&self) -> OwnedSemaphorePermit {
        Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed")
    }
}

/// The stop signal: `None` while serving, then the drain deadline.
type StopSignal = Option<Instant>;

/// A bound, serving listener. Dropping it stops accepting and drops its
/// connections at once; [`Listener::stop`] drains them first.
#[derive(Debug)]
pub(crate) struct Listener {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<StopSignal>,
    task: JoinHandle<()>,
}

impl Listener {
    /// Binds `address` and starts accepting on `runtime`.
    pub(crate) fn bind(
        address: SocketAddr,
        routes: RouteSet,
        lookup: Arc<dyn ComponentLookup>,
        instruments: super::Instruments,
        clients: Arc<Clients>,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Self, IngressError> {
        let _entered = runtime.enter();
        let listener = bind_socket(address).map_err(|source| IngressError::Bind { address, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| IngressError::Bind { address, source })?;
        let local_host =
            HeaderValue::try_from(local_addr.to_string()).expect("a socket address is a valid header value");
        let shared = Arc::new(Shared {
            routes: std::sync::RwLock::new(routes),
            lookup,
            local_host,
            limits: clients.limits,
            observer: instruments.observer,
            tracer: instruments.tracer,
        });
        let (stop, stop_rx) = watch::channel(None);
        let task = runtime.spawn(accept_loop(listener, Arc::clone(&shared), clients, stop_rx));
        tracing::info!(%local_addr, "http ingress listening");
        Ok(Self {
            local_addr,
            shared,
            stop,
            task,
        })
    }

    /// The address the socket is bound to (the real port when 0 was asked).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What every connection of this listener shares (its routes).
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Stops accepting now and drains in-flight requests until `deadline`;
    /// the returned handle finishes when the listener is gone.
    pub(crate) fn stop(self, deadline: Instant) -> JoinHandle<()> {
        self.stop.send_replace(Some(deadline));
        self.task
    }
}

/// A listening socket with `SO_REUSEADDR`, so a route removed and added
/// again can rebind while old connections linger in `TIME_WAIT`.
fn bind_socket(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}

fn connection_builder(limits: &ClientLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(limits.request_head_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.http2_keep_alive)
        .keep_alive_timeout(limits.http2_keep_alive);
    builder
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    clients: Arc<Clients>,
    mut stop: watch::Receiver<StopSignal>,
) {
    let builder = Arc::new(connection_builder(&clients.limits));
    let mut connections = JoinSet::new();
    let mut slot = None;
    loop {
        tokio::select! {
            biased;
            // A value means stop; an error means the ingress was dropped.
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            // Accept only with a free slot: past the cap, clients wait in the backlog.
            free = clients.slot(), if slot.is_none() => slot = Some(free),
            accepted = listener.accept(), if slot.is_some() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(
                        Arc::clone(&builder),
                        stream,
                        Arc::clone(&shared),
                        stop.clone(),
                        slot.take().expect("accepted with a slot"),
                    ));
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off rather
                    // than spin; the listener itself stays up.
                    tracing::warn!(error = %err, "http ingress cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    let local_addr = listener.local_addr().ok();
    drop(listener);
    let deadline = *stop.borrow();
    if let Some(deadline) = deadline {
        let drained =
            tokio::time::timeout_at(deadline, async { while connections.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(
                local_addr = ?local_addr,
                connections = connections.len(),
                "http ingress drain deadline passed, dropping connections with requests in flight"
            );
        }
    }
    connections.shutdown().await;
    tracing::info!(local_addr = ?local_addr, "http ingress listener closed");
}

async fn serve_connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<StopSignal>,
    // Held until the connection is gone.
    _slot: OwnedSemaphorePermit,
) {
    // Small responses must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let head_timeout = shared.limits.request_head_timeout;
    let idle_timeout = shared.limits.idle_timeout;
    let activity = Arc::new(Activity::default());
    let service = {
        let activity = Arc::clone(&activity);
        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let busy = Busy::new(Arc::clone(&activity));
            let observed = shared.observer.clone().map(|observer| {
                let (method, path) = (request.method().clone(), request.uri().path().to_owned());
                (observer, method, path, std::time::Instant::now())
            });
            let response = service::serve(Arc::clone(&shared), request);
            async move {
                let response = response.await;
                drop(busy);
                if let (Some((observer, method, path, started)), Ok(answer)) = (observed, &response) {
                    observer.served(&ServedRequest {
                        method: &method,
                        path: &path,
                        status: answer.status(),
                        elapsed: started.elapsed(),
                    });
                }
                response
            }
        })
    };
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let first_head = tokio::time::sleep(head_timeout);
    tokio::pin!(first_head);
    let mut awaiting_first = true;
    // Checked once per idle timeout: a connection that began no request
    // since the last check and has none in flight is closed, so an idle one
    // goes after one to two timeouts, and requests never read the clock.
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    let mut requests_at_last_tick = 0;
    let result = loop {
        tokio::select! {
            result = connection.as_mut() => break result,
            () = &mut first_head, if awaiting_first => {
                if activity.requests.load(Ordering::Relaxed) == 0 {
                    tracing::debug!(?head_timeout, "http ingress closes a connection without a request head");
                    return;
                }
                awaiting_first = false;
            }
            () = &mut idle => {
                let seen = activity.requests.load(Ordering::Relaxed);
                if activity.in_flight.load(Ordering::Acquire) == 0 && seen == requests_at_last_tick {
                    tracing::debug!(?idle_timeout, "http ingress closes an idle connection");
                    connection.as_mut().graceful_shutdown();
                    break connection.as_mut().await;
                }
                requests_at_last_tick = seen;
                idle.as_mut().reset(Instant::now() + idle_timeout);
            }
            _ = stop.changed() => {
                // Finish the request in flight (if any), then close.
                connection.as_mut().graceful_shutdown();
                break connection.as_mut().await;
            }
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "http ingress connection ended with an error");
    }
}

/// What one connection is doing, for its head deadline and idle timer: two
/// relaxed counters per request, no clock.
#[derive(Debug, Default)]
struct Activity {
    /// Requests the connection has begun, ever.
    requests: AtomicU64,
    /// Requests whose response head is not handed over yet.
    in_flight: AtomicUsize,
}

/// One request in flight on a connection.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::Relaxed);
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}
