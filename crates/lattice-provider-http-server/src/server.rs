//! Listeners and the hot path: an accept loop per address serving HTTP/1.1 and HTTP/2 with
//! hyper, and each request forwarded to its route's component as a
//! `wrpc:http/incoming-handler.handle` call, bodies streamed both ways.
//!
//! Per request: one read lock taken and released to clone the route table's `Arc`, the
//! target's shared wRPC client, the call. Failures become short text responses: 404 no
//! route, 405 a write in read-only mode, 408 past the link's `timeout_ms`, 500 the component
//! answered with an error, 503 the component could not be reached.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HOST};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use lattice_interfaces::bindings::wrpc::http::incoming_handler;
use lattice_interfaces::http::{self as wrpc_http, Scheme, WrpcBody};
use lattice_provider_sdk::ProviderHandle;
use lattice_provider_sdk::async_nats;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use crate::routes::{Route, Table};

/// A response body: the component's, streamed, or one of ours.
pub(crate) type Body = Either<WrpcBody, Full<Bytes>>;

/// Pending connections the kernel queues before `accept`.
const BACKLOG: u32 = 1024;
/// A client must send a request head within this time (slow-loris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connections of a stopped listener may finish the requests they have in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What every request of every listener needs from the provider.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Set by the provider's `init` hook, before any link opens a listener.
    pub(crate) handle: OnceLock<ProviderHandle>,
    /// The header host mode matches.
    pub(crate) host_header: HeaderName,
}

/// A serving listener. [`Listener::stop`] closes the socket and drains its connections.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) table: Arc<RwLock<Arc<Table>>>,
    stop: watch::Sender<bool>,
    closed: oneshot::Receiver<()>,
}

impl Listener {
    /// Binds `address` and starts serving `table`.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound (in use, not local, not permitted).
    pub(crate) fn bind(address: SocketAddr, table: Table, shared: Arc<Shared>) -> std::io::Result<Self> {
        let listener = bind_socket(address)?;
        let local = listener.local_addr().unwrap_or(address);
        let local_host =
            HeaderValue::try_from(local.to_string()).unwrap_or_else(|_| HeaderValue::from_static("localhost"));
        let table = Arc::new(RwLock::new(Arc::new(table)));
        let (stop, stop_rx) = watch::channel(false);
        let (closed_tx, closed) = oneshot::channel();
        let context = Arc::new(ListenerContext {
            table: Arc::clone(&table),
            shared,
            local_host,
        });
        tokio::spawn(accept_loop(listener, context, stop_rx, closed_tx));
        tracing::info!(%local, "http server listening");
        Ok(Self { table, stop, closed })
    }

    /// Replaces the routes.
    pub(crate) fn set_table(&self, table: Table) {
        *self.table.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(table);
    }

    /// Stops accepting; resolves once the socket is closed (the port is free). Connections
    /// finish their requests in flight in the background, for [`DRAIN_TIMEOUT`] at most.
    pub(crate) async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.closed.await;
    }
}

/// A listening socket with `SO_REUSEADDR`, so an address given up can be bound again while
/// old connections linger in `TIME_WAIT`.
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

/// What every connection of one listener shares.
struct ListenerContext {
    table: Arc<RwLock<Arc<Table>>>,
    shared: Arc<Shared>,
    /// The listener's address as a `Host`, for the rare request that names none (HTTP/1.0).
    local_host: HeaderValue,
}

async fn accept_loop(
    listener: TcpListener,
    context: Arc<ListenerContext>,
    mut stop: watch::Receiver<bool>,
    closed: oneshot::Sender<()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let builder = Arc::new(builder);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            // A value means stop; an error means the listener was dropped.
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(
                        Arc::clone(&builder),
                        stream,
                        Arc::clone(&context),
                        stop.clone(),
                    ));
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::warn!(error = %err, "http server cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = closed.send(());
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "http server drain timeout passed, dropping connections with requests in flight"
        );
    }
}

async fn serve_connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    context: Arc<ListenerContext>,
    mut stop: watch::Receiver<bool>,
) {
    // Small responses must not wait for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| serve(Arc::clone(&context), request));
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
        tracing::debug!(error = %err, "http connection ended with an error");
    }
}

/// Serves one request. Never fails: every failure is a response for this request alone.
async fn serve(context: Arc<ListenerContext>, request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let route = {
        let table = Arc::clone(&context.table.read().unwrap_or_else(PoisonError::into_inner));
        let host = request
            .headers()
            .get(&context.shared.host_header)
            .and_then(|h| h.to_str().ok())
            .or_else(|| request.uri().host());
        table.find(request.uri().path(), host).cloned()
    };
    let Some(route) = route else {
        return Ok(text(StatusCode::NOT_FOUND, "no route for this request\n".into()));
    };
    if route.readonly && request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "this route is read-only: only GET and HEAD are allowed\n".into(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(response);
    }
    let call = forward(&context, &route, request);
    let response = match route.timeout {
        Some(timeout) => match tokio::time::timeout(timeout, call).await {
            Ok(response) => response,
            Err(_) => text(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "component `{}` did not answer within {} ms\n",
                    route.target.component_id,
                    timeout.as_millis()
                ),
            ),
        },
        None => call.await,
    };
    Ok(response)
}

/// The client's W3C trace context (`traceparent`, `tracestate`), passed on in the call's NATS
/// headers so the component's span joins the client's trace. The host checks the values.
fn trace_headers(headers: &http::HeaderMap) -> Option<async_nats::HeaderMap> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let traceparent = value("traceparent")?;
    let mut carried = async_nats::HeaderMap::new();
    carried.insert("traceparent", traceparent);
    if let Some(tracestate) = value("tracestate") {
        carried.insert("tracestate", tracestate);
    }
    Some(carried)
}

/// The component's answer to `request`, or the response that says why there is none.
async fn forward(context: &ListenerContext, route: &Route, request: Request<Incoming>) -> Response<Body> {
    let component = &*route.target.component_id;
    let Some(handle) = context.shared.handle.get() else {
        // Only a provider embedded without `init` gets here.
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the http server provider is not connected to a lattice\n".into(),
        );
    };
    let client = match route.target.client(handle).await {
        Ok(client) => client,
        Err(err) => {
            tracing::warn!(component, error = %err, "cannot prepare calls to the component");
            return unavailable(component, handle.lattice());
        }
    };
    let trace = trace_headers(request.headers());
    let request = prepare(request, &context.local_host);
    match incoming_handler::handle(client, trace, request).await {
        Ok((Ok(response), io)) => {
            if let Some(io) = io {
                // Streams the request body out and the response body in, beside hyper.
                let component: Arc<str> = Arc::clone(&route.target.component_id);
                tokio::spawn(async move {
                    if let Err(err) = io.await {
                        tracing::debug!(component = %component, error = %format!("{err:#}"), "http body streaming ended early");
                    }
                });
            }
            match wrpc_http::response_into_http(response) {
                Ok(response) => response.map(Either::Left),
                Err(err) => {
                    tracing::warn!(component, error = %err, "the component answered with an invalid http response");
                    text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("component `{component}` answered with an invalid response\n"),
                    )
                }
            }
        }
        Ok((Err(code), _)) => {
            tracing::warn!(component, error = ?code, "the component failed to handle an http request");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("component `{component}` failed to handle the request\n"),
            )
        }
        Err(err) => {
            tracing::warn!(component, error = %format!("{err:#}"), "http request over wRPC failed");
            unavailable(component, handle.lattice())
        }
    }
}

/// The request as `wrpc:http` carries it, with the scheme and authority a component expects:
/// the URI's, else `X-Forwarded-Host` (as upstream), else `Host`, else the listener's address.
fn prepare(mut request: Request<Incoming>, local_host: &HeaderValue) -> wrpc_http::Request {
    let forwarded = request
        .headers()
        .get("x-forwarded-host")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    if request.uri().authority().is_none() && forwarded.is_none() && !request.headers().contains_key(HOST) {
        request.headers_mut().insert(HOST, local_host.clone());
    }
    let has_authority = request.uri().authority().is_some();
    let mut wrpc = wrpc_http::request_from_http(request);
    if !has_authority && let Some(forwarded) = forwarded {
        wrpc.authority = Some(forwarded);
    }
    wrpc.scheme.get_or_insert(Scheme::Http);
    wrpc
}

fn unavailable(component: &str, lattice: &str) -> Response<Body> {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("component `{component}` did not answer on lattice `{lattice}`: is it running?\n"),
    )
}

/// A short `text/plain` response.
fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
