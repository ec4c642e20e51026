//! Serving `wasi:http/incoming-handler`: the call the host's HTTP ingress
//! makes for each request. Each request gets a fresh store and instance from
//! the component's cached `ProxyPre`, runs under the memory cap and the
//! execution deadline, and fails alone when the guest misbehaves.

use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Body;
use wasmtime_wasi_http::p2::WasiHttpView as _;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use crate::component::{Component, classify};
use crate::error::{Error, ErrorKind, Result};

pub use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode as HttpErrorCode;
pub use wasmtime_wasi_http::p2::body::HyperOutgoingBody as ResponseBody;

impl Component {
    /// Runs `request` through the component's `wasi:http/incoming-handler`
    /// and returns its response once the guest has set it; the body then
    /// streams while the guest writes it, still under the deadline.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::MissingExport`] when the component does not export the
    ///   handler,
    /// - [`ErrorKind::InvalidRequest`] when the request has no authority,
    /// - [`ErrorKind::Instantiation`] when instantiating fails,
    /// - [`ErrorKind::Trap`], [`ErrorKind::DeadlineExceeded`],
    ///   [`ErrorKind::MemoryLimitExceeded`], [`ErrorKind::TableLimitExceeded`],
    ///   [`ErrorKind::ResourceLimitExceeded`] or [`ErrorKind::MissingLink`]
    ///   when the guest fails before setting a response,
    /// - [`ErrorKind::ErrorResponse`] when the guest answers with an error
    ///   code, and [`ErrorKind::NoResponse`] when it returns without
    ///   answering.
    ///
    /// The host maps all of these to a 500 for this request only.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime: the guest runs in a spawned task.
    pub async fn handle_http<B>(&self, request: hyper::Request<B>) -> Result<hyper::Response<ResponseBody>>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<HttpErrorCode>,
    {
        let proxy_pre = self.proxy_pre().cloned().ok_or_else(|| {
            Error::new(ErrorKind::MissingExport {
                interface: "wasi:http/incoming-handler".into(),
            })
        })?;
        let scheme = match request.uri().scheme_str() {
            Some("https") => Scheme::Https,
            Some("http") | None => Scheme::Http,
            Some(other) => Scheme::Other(other.to_string()),
        };
        let mut invocation = self
            .begin("wasi:http/incoming-handler", "handle", http_operation())
            .await?;
        // The caller's hold on the probe: an error answer is known only here.
        let probe = invocation.probe.clone();
        let budget = invocation.budget;
        let store = &mut invocation.store;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(scheme, request)
            .map_err(|e| Error::wasmtime(ErrorKind::InvalidRequest, e))?;
        let outparam = store
            .data_mut()
            .http()
            .new_response_outparam(sender)
            .map_err(|e| Error::wasmtime(ErrorKind::InvalidRequest, e))?;

        // The guest runs in its own task so it can keep writing the body
        // after the response head has been handed back. It reports how it
        // ended on `outcome`; once the head is out nobody listens, and the
        // task logs a failure itself.
        let component_id = self.id().clone();
        let (outcome_tx, mut outcome) = tokio::sync::oneshot::channel::<Result<()>>();
        tokio::spawn(async move {
            let store = &mut invocation.store;
            // The epoch callback stops guests running wasm; this timeout also
            // stops one parked in a host call that never completes.
            let run = tokio::time::timeout(budget, async {
                let proxy = match proxy_pre.instantiate_async(&mut *store).await {
                    Ok(proxy) => proxy,
                    Err(e) => return Err((e, ErrorKind::Instantiation)),
                };
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut *store, incoming, outparam)
                    .await
                    .map_err(|e| (e, ErrorKind::Trap))
            })
            .await;
            let ended = match run {
                Ok(Ok(())) => Ok(()),
                Ok(Err((err, otherwise))) => Err(classify(err, store.data(), otherwise)),
                Err(_elapsed) => Err(Error::new(ErrorKind::DeadlineExceeded)),
            };
            if ended.is_err() {
                invocation.fail();
            }
            // Ends the invocation: its store (and fiber stack) first, then its permits.
            drop(invocation);
            if let Err(Err(err)) = outcome_tx.send(ended) {
                log_after_head(&component_id, &err);
            }
        });

        let answered = match receiver.await {
            Ok(Ok(response)) => {
                // The head is out; a failure while streaming the body can
                // only be logged (the client sees the body end early). One
                // that came before the channel closed is logged here.
                outcome.close();
                if let Ok(Err(err)) = outcome.try_recv() {
                    log_after_head(self.id(), &err);
                }
                Ok(response)
            }
            Ok(Err(code)) => Err(Error::with_source(ErrorKind::ErrorResponse, code)),
            // The guest dropped the outparam without setting it: its task
            // says why.
            Err(_) => match outcome.await {
                Ok(Ok(())) => Err(Error::new(ErrorKind::NoResponse)),
                Ok(Err(err)) => Err(err),
                // The task ended without reporting: it panicked.
                Err(_) => Err(Error::new(ErrorKind::Trap)),
            },
        };
        if let (Err(_), Some(probe)) = (&answered, &probe) {
            probe.fail();
        }
        answered
    }

    /// [`Component::handle_http`] for a request straight from a hyper
    /// server connection.
    ///
    /// # Errors
    ///
    /// As for [`Component::handle_http`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn handle_hyper(
        &self,
        request: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<ResponseBody>> {
        use http_body_util::BodyExt as _;
        let request = request.map(|body| body.map_err(request_body_error));
        self.handle_http(request).await
    }
}

/// The `wasi:http` error code a guest sees when reading a request body from
/// hyper fails, as [`Component::handle_hyper`] maps it; for embedders that
/// wrap the body on its way in.
#[must_use]
pub fn request_body_error(error: hyper::Error) -> HttpErrorCode {
    wasmtime_wasi_http::p2::hyper_request_error(error)
}

/// Sends a guest's outgoing request over its `wasi:http/outgoing-handler` link and turns the
/// answer into what `wasi:http` hands the guest: the response streaming from the peer, or an
/// error code (a failure to reach the target is `internal-error` naming the link).
pub(crate) async fn send_over_link(
    invoker: &crate::links::LinkInvoker,
    cx: crate::links::CallContext,
    route: &crate::links::Route,
    request: hyper::Request<ResponseBody>,
    config: wasmtime_wasi_http::p2::types::OutgoingRequestConfig,
) -> Result<wasmtime_wasi_http::p2::types::IncomingResponse, HttpErrorCode> {
    use lattice_interfaces::bindings::wrpc::http::outgoing_handler;
    use lattice_interfaces::http as wrpc_http;

    let nanos = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let options = wrpc_http::RequestOptions {
        connect_timeout: Some(nanos(config.connect_timeout)),
        first_byte_timeout: Some(nanos(config.first_byte_timeout)),
        between_bytes_timeout: Some(nanos(config.between_bytes_timeout)),
    };
    let failed = |what: String| {
        HttpErrorCode::InternalError(Some(format!(
            "outgoing request over link `{}` to `{}` failed: {what}",
            route.link_name, route.target
        )))
    };
    let request = wrpc_http::request_from_http(request);
    let (answer, io) = outgoing_handler::handle(invoker, cx, request, Some(options))
        .await
        .map_err(|e| failed(format!("{e:#}")))?;
    let response = match answer {
        Ok(response) => response,
        // The peer's own error code, described (the two `error-code` types are the same WIT).
        Err(code) => return Err(failed(format!("the http-client answered {code:?}"))),
    };
    if let Some(io) = io {
        // Streams the request body to the peer while the response comes back.
        tokio::spawn(async move {
            if let Err(e) = io.await {
                tracing::debug!(error = %format!("{e:#}"), "outgoing request body ended early");
            }
        });
    }
    let response = wrpc_http::response_into_http(response).map_err(|e| failed(e.to_string()))?;
    use http_body_util::BodyExt as _;
    Ok(wasmtime_wasi_http::p2::types::IncomingResponse {
        resp: response.map(|body| body.map_err(|never| -> HttpErrorCode { match never {} }).boxed_unsync()),
        worker: None,
        between_bytes_timeout: config.between_bytes_timeout,
    })
}

/// The operation an observer is told of for each HTTP request.
pub(crate) fn http_operation() -> &'static Arc<str> {
    static OPERATION: std::sync::LazyLock<Arc<str>> =
        std::sync::LazyLock::new(|| Arc::from(crate::observe::HTTP_OPERATION));
    &OPERATION
}

/// A guest that failed after its response head went out: the client sees
/// the body end early, the log says why.
fn log_after_head(component_id: &crate::id::ComponentId, err: &Error) {
    tracing::warn!(
        component_id = %component_id,
        error = %err,
        "component failed after sending the response head"
    );
}
