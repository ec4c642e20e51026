//! One TCP listener of the ingress: an accept loop that serves each
//! connection with hyper (HTTP/1.1 with keep-alive, or HTTP/2 when the
//! client speaks it) and stops gracefully: on a stop signal it closes the
//! socket, lets connections finish the requests they have in flight until
//! the deadline, then drops what is left.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::error::IngressError;
use super::lookup::ComponentLookup;
use super::routes::RouteSet;
use super::service::{self, Shared};

/// Pending connections the kernel queues before `accept`.
const BACKLOG: u32 = 1024;

/// A client must send a request head within this time (slow-loris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

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
        });
        let (stop, stop_rx) = watch::channel(None);
        let task = runtime.spawn(accept_loop(listener, Arc::clone(&shared), stop_rx));
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

fn connection_builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<StopSignal>) {
    let builder = Arc::new(connection_builder());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            // A value means stop; an error means the ingress was dropped.
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(
                        Arc::clone(&builder),
                        stream,
                        Arc::clone(&shared),
                        stop.clone(),
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
) {
    // Small responses must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| service::serve(Arc::clone(&shared), request));
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stop.changed() => {
            // Finish the request in flight (if any), then close.
            connection.as_mut().graceful_shutdown();
            connection.as_mut().await
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, "http ingress connection ended with an error");
    }
}
