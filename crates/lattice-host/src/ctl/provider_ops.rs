//! Provider operations: `provider.start`, `provider.stop` and `provider.auction`. A start
//! answers at once and does its work in a task of its own, announcing `provider_started` or
//! `provider_start_failed`. Besides the built-in http-server, a provider is started from an
//! OCI reference to a provider archive, or a `file://` reference to an archive or an
//! executable (archives: the binary for this machine, signature and hashes verified); the
//! binary is copied into the host's private provider directory first and run from there,
//! never from where the reference points.

use std::path::PathBuf;
use std::sync::Arc;

use lattice_claims::jwt::{CapabilityProvider, Token};
use lattice_control_interface::events::data::{
    ProviderStartFailed, ProviderStarted, ProviderStartedClaims, ProviderStopped,
};
use lattice_control_interface::{
    CtlResponse, LatticeEvent, LinkName, ProviderAuctionAck, ProviderAuctionRequest, ProviderId, StartProviderCommand,
    StopProviderCommand,
};
use lattice_provider_archive::{ProviderArchive, native_target};

use super::{CtlError, Reply, decode, done, reply};
use crate::artifact::{self, Artifact};
use crate::host::HostCtx;
use crate::providers::{BUILTIN_SCHEME, Builtin, Kind, ProviderProcess, RunningProvider, reported_ref};
use crate::store::StoredClaims;

/// The largest provider archive or executable a host reads.
const MAX_PROVIDER_SIZE: usize = 512 << 20;
/// The most an archive may unpack to.
const MAX_UNPACKED: u64 = 1 << 30;

/// Whether this host can run the provider `reference` names: an enabled built-in, a file
/// when file loads are allowed, or an OCI reference the registry (or the cache) has.
async fn can_run(ctx: &HostCtx, reference: &str) -> bool {
    match Builtin::from_ref(reference) {
        Some(Builtin::HttpServer) => ctx.config.enable_builtin_http_server,
        None => super::can_load(ctx, reference, lattice_oci::Want::Provider).await,
    }
}

/// `provider.start`.
pub(super) async fn start(ctx: &Arc<HostCtx>, payload: &[u8]) -> Reply {
    let cmd: StartProviderCommand = match decode(payload, "start provider") {
        Ok(cmd) => cmd,
        Err(e) => return reply::<()>(Err(e)),
    };
    if let Some(builtin) = Builtin::from_ref(&cmd.provider_ref)
        && !(match builtin {
            Builtin::HttpServer => ctx.config.enable_builtin_http_server,
        })
    {
        // Upstream stays silent for a built-in whose feature is off.
        tracing::warn!(provider_ref = %cmd.provider_ref, "built-in provider is disabled on this host");
        return Reply::Silent;
    }
    reply(begin_start(ctx, cmd))
}

fn begin_start(ctx: &Arc<HostCtx>, cmd: StartProviderCommand) -> Result<CtlResponse<()>, CtlError> {
    if !lattice_control_interface::subject::is_valid_token(cmd.provider_id.as_str()) {
        return Err(CtlError::InvalidId {
            kind: "provider",
            id: cmd.provider_id.to_string(),
        });
    }
    if ctx.shutdown.is_requested() {
        return Err(CtlError::Stopping {
            what: "start the provider",
        });
    }
    let builtin = Builtin::from_ref(&cmd.provider_ref);
    if builtin.is_none() && cmd.provider_ref.starts_with(BUILTIN_SCHEME) {
        return Err(CtlError::UnsupportedProvider(format!(
            "there is no built-in provider `{}`: the built-ins are wasmcloud+builtin://http-server",
            cmd.provider_ref
        )));
    }
    if !ctx.providers.reserve(&cmd.provider_id) {
        return Err(CtlError::ProviderRunning);
    }
    let ctx = Arc::clone(ctx);
    tokio::spawn(async move {
        let id = cmd.provider_id.clone();
        let started = match builtin {
            Some(builtin) => start_builtin(&ctx, &cmd, builtin).await,
            None => start_process(&ctx, &cmd).await,
        };
        ctx.providers.release(&id);
        match started {
            Ok(claims) => finish_start(&ctx, cmd, claims.as_ref()).await,
            Err(error) => {
                tracing::warn!(provider_id = %id, provider_ref = %cmd.provider_ref, %error, "provider failed to start");
                ctx.events
                    .publish(LatticeEvent::ProviderStartFailed(ProviderStartFailed {
                        error,
                        host_id: ctx.identity.host_id.clone(),
                        link_name: LinkName::default_name(),
                        provider_id: id,
                        provider_ref: cmd.provider_ref,
                    }))
                    .await;
            }
        }
    });
    Ok(done("successfully started provider"))
}

/// Starts the ingress of a built-in http-server.
async fn start_builtin(
    ctx: &Arc<HostCtx>,
    cmd: &StartProviderCommand,
    builtin: Builtin,
) -> Result<Option<Token<CapabilityProvider>>, String> {
    let annotations = cmd.annotations.clone().unwrap_or_default();
    ctx.permitted(&crate::policy::Request::StartProvider {
        id: cmd.provider_id.as_str(),
        image_ref: &cmd.provider_ref,
        annotations: &annotations,
        claims: None,
    })
    .await?;
    let provider_config = crate::reconcile::resolve_config(ctx, &cmd.config).await;
    match builtin {
        Builtin::HttpServer => ctx
            .http
            .start(&cmd.provider_id, &provider_config, &ctx.components)
            .map_err(|e| e.to_string())?,
    }
    ctx.providers.insert(
        cmd.provider_id.clone(),
        RunningProvider {
            image_ref: reported_ref(&cmd.provider_ref).to_owned(),
            kind: Kind::Builtin(builtin),
            annotations: cmd.annotations.clone().unwrap_or_default(),
            config: cmd.config.clone(),
            claims: None,
        },
    );
    Ok(None)
}

/// Fetches, verifies and spawns a provider process.
async fn start_process(
    ctx: &Arc<HostCtx>,
    cmd: &StartProviderCommand,
) -> Result<Option<Token<CapabilityProvider>>, String> {
    let (executable, claims) = executable(ctx, &cmd.provider_id, &cmd.provider_ref).await?;
    let annotations = cmd.annotations.clone().unwrap_or_default();
    ctx.permitted(&crate::policy::Request::StartProvider {
        id: cmd.provider_id.as_str(),
        image_ref: &cmd.provider_ref,
        annotations: &annotations,
        claims: claims.as_ref().map(|token| (&token.claims).into()),
    })
    .await?;
    let process = ProviderProcess::start(ctx, cmd.provider_id.clone(), executable, cmd.config.clone()).await?;
    ctx.providers.insert(
        cmd.provider_id.clone(),
        RunningProvider {
            image_ref: reported_ref(&cmd.provider_ref).to_owned(),
            kind: Kind::Process(process),
            annotations: cmd.annotations.clone().unwrap_or_default(),
            config: cmd.config.clone(),
            claims: claims.clone(),
        },
    );
    Ok(claims)
}

/// The executable to run for `reference`, copied into the host's private provider
/// directory, and the claims when it came from an archive.
async fn executable(
    ctx: &HostCtx,
    id: &ProviderId,
    reference: &str,
) -> Result<(PathBuf, Option<Token<CapabilityProvider>>), String> {
    let policy = artifact::FilePolicy {
        allow: ctx.config.allow_file_load,
        root: ctx.config.allowed_file_root.as_deref(),
    };
    let bytes = artifact::fetch(reference, Artifact::Provider, policy, &ctx.oci, MAX_PROVIDER_SIZE)
        .await
        .map_err(|e| e.to_string())?;
    let (binary, claims) = if is_archive(&bytes) {
        let archive = tokio::task::spawn_blocking(move || ProviderArchive::read(&bytes, MAX_UNPACKED))
            .await
            .map_err(|e| format!("reading the provider archive failed unexpectedly: {e}"))?
            .map_err(|e| e.to_string())?;
        check_claims(ctx, archive.claims())?;
        let target = native_target();
        let binary = archive.target(&target).map(<[u8]>::to_vec).ok_or_else(|| {
            format!(
                "the provider archive has no binary for this host's target {target} (it has {}): add one with `wash par insert`",
                archive.targets().collect::<Vec<_>>().join(", ")
            )
        })?;
        (binary, Some(archive.claims().clone()))
    } else {
        if ctx.config.require_signed || !ctx.config.allowed_issuers.is_empty() {
            return Err(format!(
                "provider `{reference}` is an unsigned executable and this host runs only signed providers: package it with `wash par create`"
            ));
        }
        (bytes, None)
    };
    let path = ctx
        .provider_files
        .write(id, &binary)
        .map_err(|e| format!("cannot prepare provider `{id}` to run: {e}"))?;
    Ok((path, claims))
}

/// A provider archive: a gzip stream, or a tar (its `ustar` magic at offset 257).
fn is_archive(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b]) || bytes.get(257..262) == Some(b"ustar")
}

/// The host's trust rules for an archive's claims: not expired, not early, and from an
/// allowed issuer when the host lists them.
fn check_claims(ctx: &HostCtx, token: &Token<CapabilityProvider>) -> Result<(), String> {
    let validation =
        lattice_claims::jwt::validate_token::<CapabilityProvider>(&token.jwt).map_err(|e| e.to_string())?;
    if validation.expired {
        return Err(format!(
            "the provider's claims expired {}: sign the archive again",
            validation.expires_human
        ));
    }
    if validation.cannot_use_yet {
        return Err(format!(
            "the provider's claims are not valid until {}",
            validation.not_before_human
        ));
    }
    let issuer = &token.claims.issuer;
    if !ctx.config.allowed_issuers.is_empty() && !ctx.config.allowed_issuers.contains(issuer) {
        return Err(format!(
            "the provider is signed by {issuer}, which this host does not allow: add it with --allowed-issuer or sign with an allowed account"
        ));
    }
    Ok(())
}

/// Records the provider's spec and claims, routes or tells it its links, and announces it.
async fn finish_start(ctx: &HostCtx, cmd: StartProviderCommand, claims: Option<&Token<CapabilityProvider>>) {
    let id = cmd.provider_id.clone();
    let component_id = id.clone().into();
    let written = ctx
        .store
        .update_spec(&component_id, |spec| {
            reported_ref(&cmd.provider_ref).clone_into(&mut spec.url);
            Ok(())
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(provider_id = %id, error = %e, "cannot record the provider spec");
    }
    if let Some(claims) = claims
        && let Err(e) = ctx.store.put_claims(&stored_claims(claims)).await
    {
        tracing::warn!(provider_id = %id, error = %e, "cannot record the provider claims");
    }
    // Route the links already in the bucket (the watch may not have them yet).
    let links = match ctx.store.component_spec(&component_id).await {
        Ok(spec) => spec.map(|s| s.links).unwrap_or_default(),
        Err(_) => ctx.state.links_from(&component_id),
    };
    crate::reconcile::route_links(ctx, &id, &links).await;
    tracing::info!(provider_id = %id, provider_ref = %cmd.provider_ref, "provider started");
    ctx.events
        .publish(LatticeEvent::ProviderStarted(ProviderStarted {
            annotations: cmd.annotations.unwrap_or_default(),
            claims: claims.map(event_claims),
            host_id: ctx.identity.host_id.clone(),
            image_ref: reported_ref(&cmd.provider_ref).to_owned(),
            instance_id: claims.map(|_| id.to_string()),
            link_name: claims.map(|_| LinkName::default_name()),
            provider_id: id.clone(),
            public_key: claims.map(|_| id.to_string()),
        }))
        .await;
}

/// The claims as the `CLAIMS_` bucket entry stores them.
fn stored_claims(token: &Token<CapabilityProvider>) -> StoredClaims {
    let meta = token.claims.metadata.clone().unwrap_or_default();
    StoredClaims {
        call_alias: None,
        issuer: token.claims.issuer.clone(),
        name: meta.name.unwrap_or_default(),
        revision: meta.rev.unwrap_or(0).to_string(),
        subject: token.claims.subject.clone(),
        tags: Vec::new(),
        version: meta.ver.unwrap_or_default(),
        config_schema: meta.config_schema.map(|schema| schema.to_string()),
    }
}

/// The claims part of `provider_started`.
fn event_claims(token: &Token<CapabilityProvider>) -> ProviderStartedClaims {
    let meta = token.claims.metadata.clone().unwrap_or_default();
    let validation = lattice_claims::jwt::validate_token::<CapabilityProvider>(&token.jwt).unwrap_or_default();
    ProviderStartedClaims {
        expires_human: validation.expires_human,
        issuer: token.claims.issuer.clone(),
        name: meta.name,
        not_before_human: validation.not_before_human,
        tags: None,
        version: meta.ver,
    }
}

/// `provider.stop`.
pub(super) async fn stop(ctx: &HostCtx, payload: &[u8]) -> Result<CtlResponse<()>, CtlError> {
    let cmd: StopProviderCommand = decode(payload, "stop provider")?;
    let Some(provider) = ctx.providers.remove(cmd.provider_id.as_str()) else {
        return Err(CtlError::ProviderNotRunning);
    };
    stop_provider(ctx, &cmd.provider_id, &provider).await;
    Ok(done("successfully stopped provider"))
}

/// Stops a provider taken out of the table and announces it.
pub(crate) async fn stop_provider(ctx: &HostCtx, id: &ProviderId, provider: &RunningProvider) {
    match &provider.kind {
        Kind::Builtin(Builtin::HttpServer) => {
            ctx.http.stop(id, crate::ingress::DEFAULT_DRAIN_TIMEOUT).await;
        }
        Kind::Process(process) => process.stop().await,
    }
    tracing::info!(provider_id = %id, "provider stopped");
    ctx.events
        .publish(LatticeEvent::ProviderStopped(ProviderStopped {
            annotations: provider.annotations.clone(),
            host_id: ctx.identity.host_id.clone(),
            instance_id: id.to_string(),
            link_name: LinkName::default_name(),
            provider_id: id.clone(),
            public_key: id.to_string(),
            reason: "stop".to_owned(),
        }))
        .await;
}

/// `provider.auction`: bids when every constraint matches a label, the id does not run here,
/// and this host can run the reference.
pub(super) async fn auction(ctx: &HostCtx, payload: &[u8]) -> Reply {
    let request: ProviderAuctionRequest = match decode(payload, "provider auction") {
        Ok(request) => request,
        Err(e) => return reply::<()>(Err(e)),
    };
    if ctx.shutdown.is_requested()
        || !ctx.labels.satisfy(&request.constraints)
        || ctx.providers.contains(request.provider_id.as_str())
        || !can_run(ctx, &request.provider_ref).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_told_from_executables() {
        assert!(is_archive(&[0x1f, 0x8b, 8, 0]));
        let mut tar = vec![0; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert!(is_archive(&tar));
        assert!(!is_archive(b"\x7fELF\x02\x01\x01"));
        assert!(!is_archive(b""));
    }
}
