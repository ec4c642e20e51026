//! The HTTP bridge: a provider's `wrpc:http/incoming-handler.handle` call served into the
//! component's `wasi:http/incoming-handler` export, with bodies streamed both ways. A failure
//! of the component becomes the `internal-error` case the provider turns into a 500.

use std::sync::Arc;

use http_body_util::BodyExt as _;
use lattice_control_interface::ComponentId;
use lattice_interfaces::bindings::exports::wrpc::http::incoming_handler::Handler;
use lattice_interfaces::http::{self, ErrorCode, Request, Response};
use lattice_runtime::HttpErrorCode;
use wrpc_transport_nats::NatsContext;

use crate::components::Components;
use crate::telemetry::spans;

/// Serves one component's HTTP handler over wRPC.
#[derive(Debug, Clone)]
pub(super) struct HttpBridge {
    id: ComponentId,
    components: Arc<Components>,
    /// Starts a server span per request, when traces are on.
    tracer: Option<lattice_telemetry::Tracer>,
}

impl HttpBridge {
    pub(super) fn new(id: ComponentId, components: Arc<Components>, tracer: Option<lattice_telemetry::Tracer>) -> Self {
        Self { id, components, tracer }
    }
}

impl Handler<NatsContext> for HttpBridge {
    async fn handle(&self, cx: NatsContext, request: Request) -> anyhow::Result<Result<Response, ErrorCode>> {
        let Some(tracer) = &self.tracer else {
            return self.serve(request).await;
        };
        let span = super::server::invocation_span(tracer, &cx, &self.id, "wrpc:http/incoming-handler@0.1.0", "handle");
        let answered = spans::for_runtime(&span).scope(self.serve(request)).await;
        if let Ok(Err(error)) = &answered {
            spans::fail(&span, format!("{error:?}"));
        }
        answered
    }
}

impl HttpBridge {
    async fn serve(&self, request: Request) -> anyhow::Result<Result<Response, ErrorCode>> {
        let Some(running) = self.components.get(self.id.as_str()) else {
            return Ok(Err(ErrorCode::InternalError(Some(format!(
                "component `{}` is not running on this host",
                self.id
            )))));
        };
        let request = match http::request_into_http(request) {
            Ok(request) => request.map(|body| body.map_err(|never| -> HttpErrorCode { match never {} })),
            Err(err) => return Ok(Err(ErrorCode::InternalError(Some(format!("invalid request: {err}"))))),
        };
        match running.component.handle_http(request).await {
            Ok(response) => Ok(Ok(http::response_from_http(response))),
            Err(err) => {
                let message = crate::error::chain(&err);
                tracing::warn!(component_id = %self.id, error = %message, "http request over wRPC failed in the component");
                Ok(Err(ErrorCode::InternalError(Some(message))))
            }
        }
    }
}
