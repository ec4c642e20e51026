//! The control interface v1 server: subscribes per §2.1 of the wire
//! reference (queue groups for `link.*`, `claims.get` and `config.>`,
//! host-targeted subjects, broadcast ping and auctions), and answers each
//! request in its own task with a `{success, message, response}` envelope.
//! A bad payload, a failing operation or even a panicking handler costs that
//! one request its answer, never the server.

mod component_ops;
mod config_ops;
mod error;
mod host_ops;
mod link_ops;
mod provider_ops;

pub(crate) use provider_ops::stop_provider;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::{FutureExt as _, StreamExt as _};
use lattice_control_interface::CtlResponse;
use lattice_control_interface::subject::{CtlOperation, HostSubscriptionOptions};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};
use crate::host::HostCtx;

/// How many control requests are handled at once; more wait in NATS.
pub(crate) const MAX_CONCURRENT_REQUESTS: usize = 256;

/// What a handler answers.
pub(crate) enum Reply {
    /// Send this JSON.
    Json(Vec<u8>),
    /// Stay silent (an auction this host does not bid in).
    Silent,
}

pub(crate) use error::CtlError;

/// The envelope around a handler's result.
pub(crate) fn reply<T: Serialize>(result: Result<CtlResponse<T>, CtlError>) -> Reply {
    let response = result.unwrap_or_else(|error| CtlResponse::error(error.to_string()));
    Reply::Json(encode(&response))
}

/// A plain success with a message.
pub(crate) fn done(message: impl Into<String>) -> CtlResponse<()> {
    CtlResponse::success(message)
}

fn encode<T: Serialize>(response: &CtlResponse<T>) -> Vec<u8> {
    serde_json::to_vec(response).unwrap_or_else(|e| {
        // Upstream's last-ditch fallback spells the key `error`.
        serde_json::json!({ "success": false, "error": format!("cannot encode the reply: {e}") })
            .to_string()
            .into_bytes()
    })
}

/// Decodes a request payload, naming what was expected when it does not fit.
pub(crate) fn decode<T: DeserializeOwned>(payload: &[u8], what: &'static str) -> Result<T, CtlError> {
    serde_json::from_slice(payload).map_err(|source| CtlError::Decode { what, source })
}

/// Subscribes to every control subject of this host.
pub(crate) async fn subscribe(ctx: &HostCtx) -> Result<Vec<async_nats::Subscriber>> {
    let options = HostSubscriptionOptions {
        component_auction: ctx.config.enable_component_auction,
        provider_auction: ctx.config.enable_provider_auction,
    };
    let mut subscribers = Vec::new();
    for sub in ctx.subjects.host_subscriptions(&ctx.identity.host_id, options) {
        let subscribed = match sub.queue_group {
            Some(group) => ctx.nats.queue_subscribe(sub.subject, group).await,
            None => ctx.nats.subscribe(sub.subject).await,
        };
        subscribers.push(subscribed.map_err(|e| Error::with_source(ErrorKind::Subscribe, e))?);
    }
    Ok(subscribers)
}

/// Serves control requests until the host shuts down.
pub(crate) async fn serve(ctx: Arc<HostCtx>, subscribers: Vec<async_nats::Subscriber>) {
    let mut messages = futures::stream::select_all(subscribers);
    let limit = Arc::clone(&ctx.ctl_in_flight);
    let mut stopping = ctx.shutdown.requested();
    loop {
        let message = tokio::select! {
            message = messages.next() => message,
            _ = stopping.wait() => break,
        };
        let Some(message) = message else {
            tracing::warn!("control subscriptions ended");
            break;
        };
        let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
            break;
        };
        let ctx = Arc::clone(&ctx);
        tokio::spawn(async move {
            handle(&ctx, message).await;
            drop(permit);
        });
    }
    // Dropping the subscribers unsubscribes: no new requests reach this host.
}

/// Answers one request.
async fn handle(ctx: &Arc<HostCtx>, message: async_nats::Message) {
    let subject = message.subject.to_string();
    // A request without a reply subject is still carried out (upstream's
    // `registry.put` and a fire-and-forget `host.stop` are sent that way);
    // only its answer has nowhere to go.
    let span = ctx
        .tracer()
        .map(|tracer| request_span(ctx, tracer, &subject, message.headers.as_ref()));
    let answer = AssertUnwindSafe(dispatch(ctx, &subject, &message.payload, span.as_ref()))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| {
            tracing::error!(%subject, "control handler panicked");
            reply::<()>(Err(CtlError::Panicked))
        });
    let Reply::Json(bytes) = answer else {
        return;
    };
    let Some(reply_to) = message.reply.clone() else {
        tracing::debug!(%subject, "control request without a reply subject carried out; its answer is dropped");
        return;
    };
    if bytes.len() as u64 > ctx.nats.server_info().max_payload as u64 {
        tracing::warn!(%subject, size = bytes.len(), "control reply is larger than the server's max_payload");
    }
    if let Err(e) = ctx.nats.publish(reply_to, bytes.into()).await {
        tracing::warn!(%subject, error = %e, "cannot publish a control reply");
    }
}

/// How long an auction waits to learn whether a registry has a reference: bids must come
/// back within the auctioneer's own short timeout.
const AUCTION_REGISTRY_BOUND: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether this host can load `reference` (for auctions): a `file://` reference when file
/// loads are allowed, or an OCI reference that is cached by digest or that its registry has.
async fn can_load(ctx: &HostCtx, reference: &str, want: lattice_oci::Want) -> bool {
    match crate::artifact::classify(reference) {
        Ok(crate::artifact::Source::File(_)) => ctx.config.allow_file_load,
        Ok(crate::artifact::Source::Oci) => ctx.oci.can_pull(reference, want, AUCTION_REGISTRY_BOUND).await,
        Err(_) => false,
    }
}

/// The server span of a control request on `subject`, under the span its headers name.
fn request_span(
    ctx: &HostCtx,
    tracer: &lattice_telemetry::Tracer,
    subject: &str,
    headers: Option<&async_nats::HeaderMap>,
) -> lattice_telemetry::Context {
    let name = ctx
        .subjects
        .parse(subject)
        .map_or("ctl.unsupported", |op| operation_name(&op));
    crate::telemetry::spans::start(
        tracer,
        &lattice_telemetry::propagate::from_nats(headers),
        name,
        lattice_telemetry::api::SpanKind::Server,
        || {
            vec![
                lattice_telemetry::KeyValue::new("messaging.system", "nats"),
                lattice_telemetry::KeyValue::new("messaging.destination.name", subject.to_owned()),
                lattice_telemetry::KeyValue::new("host.id", ctx.identity.host_id.to_string()),
            ]
        },
    )
}

/// The span name of a control operation: `ctl.` and its subject's words.
fn operation_name(op: &CtlOperation) -> &'static str {
    match op {
        CtlOperation::HostPing => "ctl.host.ping",
        CtlOperation::HostGet(_) => "ctl.host.get",
        CtlOperation::HostStop(_) => "ctl.host.stop",
        CtlOperation::LabelPut(_) => "ctl.label.put",
        CtlOperation::LabelDel(_) => "ctl.label.del",
        CtlOperation::ComponentScale(_) => "ctl.component.scale",
        CtlOperation::ComponentUpdate(_) => "ctl.component.update",
        CtlOperation::ComponentAuction => "ctl.component.auction",
        CtlOperation::ProviderStart(_) => "ctl.provider.start",
        CtlOperation::ProviderStop(_) => "ctl.provider.stop",
        CtlOperation::ProviderAuction => "ctl.provider.auction",
        CtlOperation::LinkPut => "ctl.link.put",
        CtlOperation::LinkDel => "ctl.link.del",
        CtlOperation::LinkGet => "ctl.link.get",
        CtlOperation::ConfigPut(_) => "ctl.config.put",
        CtlOperation::ConfigGet(_) => "ctl.config.get",
        CtlOperation::ConfigDel(_) => "ctl.config.del",
        CtlOperation::ClaimsGet => "ctl.claims.get",
        CtlOperation::RegistryPut => "ctl.registry.put",
        _ => "ctl.unsupported",
    }
}

async fn dispatch(
    ctx: &Arc<HostCtx>,
    subject: &str,
    payload: &[u8],
    span: Option<&lattice_telemetry::Context>,
) -> Reply {
    let Some(op) = ctx.subjects.parse(subject) else {
        return reply::<()>(Err(CtlError::UnsupportedSubject));
    };
    tracing::debug!(?op, "control request");
    match op {
        CtlOperation::HostPing => reply(Ok(CtlResponse::ok(host_ops::ping(ctx)))),
        CtlOperation::HostGet(_) => reply(Ok(CtlResponse::ok(crate::heartbeat::inventory(ctx)))),
        CtlOperation::HostStop(_) => reply(host_ops::stop(ctx, payload)),
        CtlOperation::LabelPut(_) => reply(host_ops::put_label(&ctx.labels, &ctx.events, payload).await),
        CtlOperation::LabelDel(_) => reply(host_ops::delete_label(&ctx.labels, &ctx.events, payload).await),
        CtlOperation::ComponentScale(_) => reply(component_ops::scale(ctx, payload, span)),
        CtlOperation::ComponentUpdate(_) => reply(component_ops::update(ctx, payload, span)),
        CtlOperation::ComponentAuction => component_ops::auction(ctx, payload).await,
        CtlOperation::ProviderStart(_) => provider_ops::start(ctx, payload).await,
        CtlOperation::ProviderStop(_) => reply(provider_ops::stop(ctx, payload).await),
        CtlOperation::ProviderAuction => provider_ops::auction(ctx, payload).await,
        CtlOperation::LinkPut => reply(link_ops::put(&ctx.store, &ctx.events, payload).await),
        CtlOperation::LinkDel => reply(link_ops::delete(ctx, payload).await),
        CtlOperation::LinkGet => reply(link_ops::get(&ctx.store).await),
        CtlOperation::ConfigPut(name) => reply(config_ops::put(&ctx.store, &ctx.events, &name, payload).await),
        CtlOperation::ConfigGet(name) => reply(config_ops::get(&ctx.store, &name).await),
        CtlOperation::ConfigDel(name) => reply(config_ops::delete(&ctx.store, &ctx.events, &name).await),
        CtlOperation::ClaimsGet => reply(config_ops::claims(&ctx.store).await),
        CtlOperation::RegistryPut => reply(host_ops::put_registries(ctx, payload)),
        _ => reply::<()>(Err(CtlError::UnsupportedSubject)),
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn text(reply: Reply) -> String {
        match reply {
            Reply::Json(bytes) => String::from_utf8(bytes).unwrap(),
            Reply::Silent => "<silent>".to_owned(),
        }
    }

    #[test]
    fn envelopes() {
        expect![[r#"{"success":false,"message":"unsupported subject"}"#]]
            .assert_eq(&text(reply::<()>(Err(CtlError::UnsupportedSubject))));
        expect![[r#"{"success":true,"message":"successfully put label"}"#]]
            .assert_eq(&text(reply(Ok(done("successfully put label")))));
        let err = decode::<lattice_control_interface::ScaleComponentCommand>(b"{\"count\":1}", "scale component")
            .unwrap_err();
        expect![[r#"cannot decode the scale component request: missing field `component_id` at line 1 column 11"#]]
            .assert_eq(&err.to_string());
    }
}
