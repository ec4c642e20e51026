//! Serving a running component's exports over wRPC: every function the runtime can carry
//! ([`lattice_runtime::Component::exports`]) on its own subject, and
//! `wasi:http/incoming-handler` as `wrpc:http/incoming-handler@0.1.0` through the HTTP bridge.
//! Each call runs in its own task on the component running under that id at that moment, so
//! an update swaps code under the subscriptions; a failing call costs that call alone.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::StreamExt as _;
use futures::stream::{self, BoxStream};
use lattice_control_interface::ComponentId;
use lattice_interfaces::bindings::exports::wrpc::http::incoming_handler;
use lattice_telemetry::KeyValue;
use wrpc_transport::Serve as _;

use super::http::HttpBridge;
use crate::components::Components;
use crate::telemetry::spans;

/// One call, ready to run.
type Call = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The subscriptions of one component's exports; dropping it unsubscribes them (calls
/// already running finish).
#[derive(Debug)]
pub(crate) struct Server {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Subscribes to every export of the component running as `id` and serves the calls.
///
/// # Errors
///
/// When NATS refuses a subscription; the text says which.
pub(crate) async fn serve(
    nats: &async_nats::Client,
    lattice: &str,
    id: &ComponentId,
    components: &Arc<Components>,
    tracer: Option<&lattice_telemetry::Tracer>,
) -> Result<Server, String> {
    let Some(running) = components.get(id.as_str()) else {
        return Err(format!("component `{id}` is not running"));
    };
    let component = &running.component;
    let prefix = super::prefix(lattice, id.as_str());
    let client = wrpc_transport_nats::Client::new(Arc::new(nats.clone()), prefix.clone(), Some(prefix.into()))
        .await
        .map_err(|e| format!("cannot serve component `{id}` over wRPC: {e:#}"))?;
    let mut streams: Vec<BoxStream<'static, Call>> = Vec::new();
    for export in component.exports() {
        let invocations = client
            .serve(export.instance(), export.function(), Arc::clone(export.async_paths()))
            .await
            .map_err(|e| {
                format!(
                    "cannot serve `{}.{}` of component `{id}`: {e:#}",
                    export.instance(),
                    export.function()
                )
            })?;
        let export = export.clone();
        let id = id.clone();
        let components = Arc::clone(components);
        let tracer = tracer.cloned();
        streams.push(
            invocations
                .filter_map(move |accepted| {
                    let call = accepted
                        .inspect_err(
                            |e| tracing::debug!(component_id = %id, error = %format!("{e:#}"), "wRPC handshake failed"),
                        )
                        .ok()
                        .map(|(cx, results, params)| {
                            let export = export.clone();
                            let id = id.clone();
                            let components = Arc::clone(&components);
                            let span = tracer
                                .as_ref()
                                .map(|tracer| invocation_span(tracer, &cx, &id, export.instance(), export.function()));
                            Box::pin(async move {
                                let Some(running) = components.get(id.as_str()) else {
                                    tracing::debug!(component_id = %id, "wRPC call for a component that stopped");
                                    return;
                                };
                                let invoke =
                                    running
                                        .component
                                        .invoke(export.instance(), export.function(), params, results);
                                let called = match &span {
                                    Some(span) => spans::for_runtime(span).scope(invoke).await,
                                    None => invoke.await,
                                };
                                if let Err(err) = called {
                                    if let Some(span) = &span {
                                        spans::fail(span, crate::error::chain(&err));
                                    }
                                    tracing::warn!(
                                        component_id = %id,
                                        instance = export.instance(),
                                        function = export.function(),
                                        error = %crate::error::chain(&err),
                                        "wRPC call failed in the component"
                                    );
                                }
                            }) as Call
                        });
                    std::future::ready(call)
                })
                .boxed(),
        );
    }
    if component.exports_http() {
        let bridge = HttpBridge::new(id.clone(), Arc::clone(components), tracer.cloned());
        let [(_, _, invocations)] = incoming_handler::serve_interface(&client, bridge)
            .await
            .map_err(|e| format!("cannot serve `wrpc:http/incoming-handler` of component `{id}`: {e:#}"))?;
        let id = id.clone();
        streams.push(
            invocations
                .filter_map(move |accepted| {
                    let id = id.clone();
                    std::future::ready(
                        accepted
                            .inspect_err(|e| tracing::debug!(component_id = %id, error = %format!("{e:#}"), "wRPC handshake failed"))
                            .ok()
                            .map(|call| {
                                Box::pin(async move {
                                    if let Err(err) = call.await {
                                        tracing::debug!(component_id = %id, error = %format!("{err:#}"), "wRPC http call ended early");
                                    }
                                }) as Call
                            }),
                    )
                })
                .boxed(),
        );
    }
    let mut calls = stream::select_all(streams);
    let task = tokio::spawn(async move {
        // Keeps the client (and its inbox subscription) alive as long as the subscriptions.
        let _client = client;
        while let Some(call) = calls.next().await {
            tokio::spawn(call);
        }
    });
    Ok(Server { task })
}

/// The server span of a call of `instance`'s `function` of component `id`, under the span the
/// call's NATS headers name (the caller's), if any.
pub(super) fn invocation_span(
    tracer: &lattice_telemetry::Tracer,
    cx: &wrpc_transport_nats::NatsContext,
    id: &ComponentId,
    instance: &str,
    function: &str,
) -> lattice_telemetry::Context {
    spans::wrpc_server(tracer, cx.headers.as_ref(), instance, function, |attributes| {
        attributes.push(KeyValue::new("component.id", id.to_string()));
        if let Some(caller) = cx.headers.as_ref().and_then(|h| h.get(super::client::SOURCE_ID)) {
            attributes.push(KeyValue::new("caller.id", caller.as_str().to_owned()));
        }
    })
}
