//! The admin endpoint (`--http-admin`): `GET`/`HEAD /livez` answers
//! `{"status":"ok"}` while the process serves; `/readyz` answers the same
//! once the host has joined the lattice and until it starts stopping, else
//! 500 `{"status":"failure"}`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::error::{Error, ErrorKind, Result};
use crate::shutdown::Requested;

/// Binds the admin listener; serving starts with [`serve`].
pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::with_source(ErrorKind::AdminListener { addr: addr.to_string() }, e))
}

/// Serves the admin endpoint until the host stops.
pub(crate) async fn serve(listener: TcpListener, ready: Arc<AtomicBool>, mut stopping: Requested) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopping.wait() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "admin endpoint cannot accept a connection");
                continue;
            }
        };
        let ready = Arc::clone(&ready);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let ready = ready.load(Ordering::Acquire);
                async move { Ok::<_, Infallible>(answer(&request, ready)) }
            });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "admin connection failed");
            }
        });
    }
}

fn answer(request: &Request<Incoming>, ready: bool) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return json(StatusCode::METHOD_NOT_ALLOWED, r#"{"status":"failure"}"#);
    }
    match request.uri().path() {
        "/livez" => json(StatusCode::OK, r#"{"status":"ok"}"#),
        "/readyz" if ready => json(StatusCode::OK, r#"{"status":"ok"}"#),
        "/readyz" => json(StatusCode::INTERNAL_SERVER_ERROR, r#"{"status":"failure"}"#),
        _ => json(StatusCode::NOT_FOUND, r#"{"status":"failure"}"#),
    }
}

fn json(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
