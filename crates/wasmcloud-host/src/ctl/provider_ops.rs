//! Provider operations: `provider.start`, `provider.stop` and
//! `provider.auction`. Only the built-in http-server runs so far; other
//! references are refused with a message saying so.

use std::sync::Arc;

use wasmcloud_control_interface::events::data::{ProviderStartFailed, ProviderStarted, ProviderStopped};
use wasmcloud_control_interface::{
    CtlResponse, LatticeEvent, LinkName, ProviderAuctionAck, ProviderAuctionRequest, StartProviderCommand,
    StopProviderCommand,
};

use super::{OpError, Reply, decode, done, reply};
use crate::host::HostCtx;
use crate::providers::{Builtin, HTTP_SERVER_REF, RunningProvider};

/// Whether this host can run the provider `reference` names.
fn runnable(ctx: &HostCtx, reference: &str) -> Option<Builtin> {
    match Builtin::from_ref(reference)? {
        Builtin::HttpServer if ctx.config.enable_builtin_http_server => Some(Builtin::HttpServer),
        Builtin::HttpServer => None,
    }
}

/// `provider.start`.
pub(super) async fn start(ctx: &Arc<HostCtx>, payload: &[u8]) -> Reply {
    let cmd: StartProviderCommand = match decode(payload, "start provider") {
        Ok(cmd) => cmd,
        Err(e) => return reply::<()>(Err(e)),
    };
    let Some(builtin) = Builtin::from_ref(&cmd.provider_ref) else {
        return reply::<()>(Err(OpError(format!(
            "cannot start provider `{}`: only built-in providers are supported yet, e.g. {HTTP_SERVER_REF}",
            cmd.provider_ref
        ))));
    };
    if runnable(ctx, &cmd.provider_ref).is_none() {
        // Upstream stays silent for a built-in whose feature is off.
        tracing::warn!(provider_ref = %cmd.provider_ref, "built-in provider is disabled on this host");
        return Reply::Silent;
    }
    reply(start_builtin(ctx, cmd, builtin).await)
}

async fn start_builtin(
    ctx: &Arc<HostCtx>,
    cmd: StartProviderCommand,
    builtin: Builtin,
) -> Result<CtlResponse<()>, OpError> {
    if !wasmcloud_control_interface::subject::is_valid_token(cmd.provider_id.as_str()) {
        return Err(OpError(format!(
            "provider id `{}` is not usable: use letters, digits, `-` and `_`",
            cmd.provider_id
        )));
    }
    let provider = RunningProvider {
        image_ref: cmd.provider_ref.clone(),
        builtin,
        annotations: cmd.annotations.clone().unwrap_or_default(),
        config: cmd.config.clone(),
    };
    if !ctx.providers.insert(cmd.provider_id.clone(), provider) {
        return Err(OpError("provider with that ID is already running".to_owned()));
    }
    let ctx = Arc::clone(ctx);
    tokio::spawn(async move { finish_start(&ctx, cmd).await });
    Ok(done("successfully started provider"))
}

/// Starts the ingress, records the provider's spec, routes its links and
/// announces the outcome.
async fn finish_start(ctx: &HostCtx, cmd: StartProviderCommand) {
    let id = cmd.provider_id.clone();
    let provider_config = crate::host::resolve_config(ctx, &cmd.config).await;
    if let Err(error) = ctx.http.start(&id, &provider_config, &ctx.components) {
        ctx.providers.remove(id.as_str());
        tracing::warn!(provider_id = %id, %error, "built-in provider failed to start");
        ctx.events
            .publish(LatticeEvent::ProviderStartFailed(ProviderStartFailed {
                error: error.to_string(),
                host_id: ctx.identity.host_id.clone(),
                link_name: LinkName::default_name(),
                provider_id: id,
                provider_ref: cmd.provider_ref,
            }))
            .await;
        return;
    }
    let component_id = id.clone().into();
    let written = ctx
        .store
        .update_spec(&component_id, |spec| {
            spec.url.clone_from(&cmd.provider_ref);
            Ok(())
        })
        .await;
    match written {
        Ok(()) => {}
        Err(e) => tracing::warn!(provider_id = %id, error = %e, "cannot record the provider spec"),
    }
    // Route the links already in the bucket (the watch may not have them yet).
    let links = match ctx.store.component_spec(&component_id).await {
        Ok(spec) => spec.map(|s| s.links).unwrap_or_default(),
        Err(_) => ctx.state.links_from(&component_id),
    };
    crate::host::route_links(ctx, &id, &links).await;
    tracing::info!(provider_id = %id, provider_ref = %cmd.provider_ref, "built-in provider started");
    ctx.events
        .publish(LatticeEvent::ProviderStarted(ProviderStarted {
            annotations: cmd.annotations.unwrap_or_default(),
            claims: None,
            host_id: ctx.identity.host_id.clone(),
            image_ref: cmd.provider_ref,
            instance_id: None,
            link_name: None,
            provider_id: id,
            public_key: None,
        }))
        .await;
}

/// `provider.stop`.
pub(super) async fn stop(ctx: &HostCtx, payload: &[u8]) -> Result<CtlResponse<()>, OpError> {
    let cmd: StopProviderCommand = decode(payload, "stop provider")?;
    let Some(provider) = ctx.providers.remove(cmd.provider_id.as_str()) else {
        return Err(OpError("provider with that ID is not running".to_owned()));
    };
    match provider.builtin {
        Builtin::HttpServer => {
            ctx.http
                .stop(&cmd.provider_id, crate::ingress::DEFAULT_DRAIN_TIMEOUT)
                .await;
        }
    }
    tracing::info!(provider_id = %cmd.provider_id, "built-in provider stopped");
    ctx.events
        .publish(LatticeEvent::ProviderStopped(ProviderStopped {
            annotations: provider.annotations.clone(),
            host_id: ctx.identity.host_id.clone(),
            instance_id: cmd.provider_id.to_string(),
            link_name: LinkName::default_name(),
            provider_id: cmd.provider_id.clone(),
            public_key: cmd.provider_id.to_string(),
            reason: "stop".to_owned(),
        }))
        .await;
    Ok(done("successfully stopped provider"))
}

/// `provider.auction`: bids when every constraint matches a label, the id
/// does not run here, and this host can run the reference.
pub(super) fn auction(ctx: &HostCtx, payload: &[u8]) -> Reply {
    let request: ProviderAuctionRequest = match decode(payload, "provider auction") {
        Ok(request) => request,
        Err(e) => return reply::<()>(Err(e)),
    };
    if ctx.shutdown.is_requested()
        || runnable(ctx, &request.provider_ref).is_none()
        || !ctx.labels.satisfy(&request.constraints)
        || ctx.providers.contains(request.provider_id.as_str())
    {
        return Reply::Silent;
    }
    reply(Ok(CtlResponse::ok(ProviderAuctionAck {
        host_id: ctx.identity.host_id.clone(),
        provider_ref: request.provider_ref,
        provider_id: request.provider_id,
        constraints: request.constraints,
    })))
}
