//! Component operations: `component.scale`, `component.update` and
//! `component.auction`. Scale and update answer at once and do their work in
//! a task of their own, announcing the outcome as `component_scaled` or
//! `component_scale_failed`; operations on one component id apply in order.
//! A component's identity is its content: scaling or updating to the
//! reference it runs fetches it again and reloads only new bytes.

use std::collections::BTreeMap;
use std::sync::Arc;

use lattice_control_interface::events::data::{ComponentScaleFailed, ComponentScaled, ComponentScaledClaims};
use lattice_control_interface::{
    ComponentAuctionAck, ComponentAuctionRequest, ComponentId, CtlResponse, LatticeEvent, ScaleComponentCommand,
    UpdateComponentCommand,
};

use lattice_runtime::ComponentLimits;

use super::{CtlError, Reply, decode, done, reply};
use crate::artifact;
use crate::components::RunningComponent;
use crate::host::HostCtx;
use crate::store::StoredClaims;

/// `component.scale`: checks the request, answers, scales in the background.
pub(super) fn scale(
    ctx: &Arc<HostCtx>,
    payload: &[u8],
    request: Option<&lattice_telemetry::Context>,
) -> Result<CtlResponse<()>, CtlError> {
    let cmd: ScaleComponentCommand = decode(payload, "scale component")?;
    check_id(&cmd.component_id)?;
    if ctx.shutdown.is_requested() {
        return Err(CtlError::Stopping {
            what: "scale the component",
        });
    }
    let mut warnings = Vec::new();
    if let Some(running) = ctx.components.get(cmd.component_id.as_str()) {
        let changes_ref = !cmd.component_ref.is_empty() && cmd.component_ref != running.image_ref;
        if changes_ref && !cmd.allow_update && cmd.max_instances > 0 {
            warnings.push(format!(
                "component {} keeps running {}: set allow_update to move it to {}",
                cmd.component_id, running.image_ref, cmd.component_ref
            ));
        }
    }
    // As upstream, a limit that does not parse is ignored; the reply says so.
    warnings.extend(component_limits(cmd.component_limits.as_ref()).1);
    let message = warnings.join("; ");
    let span = work_span(ctx, request, "component.scale", &cmd.component_id, &cmd.component_ref);
    let ctx = Arc::clone(ctx);
    tokio::spawn(async move {
        apply_scale(&ctx, cmd).await;
        drop(span);
    });
    Ok(done(message))
}

/// `component.update`: answers, then swaps in the new reference in the
/// background.
pub(super) fn update(
    ctx: &Arc<HostCtx>,
    payload: &[u8],
    request: Option<&lattice_telemetry::Context>,
) -> Result<CtlResponse<()>, CtlError> {
    let cmd: UpdateComponentCommand = decode(payload, "update component")?;
    let id = &cmd.component_id;
    let Some(running) = ctx.components.get(id.as_str()) else {
        return Err(CtlError::ComponentNotFound(id.clone()));
    };
    // Identity is content: the same reference may name new bytes (a
    // rebuilt file, a moved tag), so it is fetched again and compared.
    let message = if running.image_ref == cmd.new_component_ref {
        format!(
            "component {id} reloading {} if its content changed",
            cmd.new_component_ref
        )
    } else {
        format!(
            "component {id} updating from {} to {}",
            running.image_ref, cmd.new_component_ref
        )
    };
    let span = work_span(ctx, request, "component.update", id, &cmd.new_component_ref);
    let ctx = Arc::clone(ctx);
    tokio::spawn(async move {
        apply_update(&ctx, cmd).await;
        drop(span);
    });
    Ok(done(message))
}

/// The span of a component's start, scale or update carried out after the control request
/// (`request`'s span) was answered; it ends when the work does.
fn work_span(
    ctx: &HostCtx,
    request: Option<&lattice_telemetry::Context>,
    name: &'static str,
    id: &ComponentId,
    reference: &str,
) -> Option<lattice_telemetry::Context> {
    let tracer = ctx.tracer()?;
    Some(crate::telemetry::spans::start(
        tracer,
        &request.cloned().unwrap_or_default(),
        name,
        lattice_telemetry::api::SpanKind::Internal,
        || {
            vec![
                lattice_telemetry::KeyValue::new("component.id", id.to_string()),
                lattice_telemetry::KeyValue::new("component.ref", reference.to_owned()),
            ]
        },
    ))
}

/// `component.auction`: bids only when every constraint matches a label, the
/// component does not run here yet, and this host can load the reference.
pub(super) async fn auction(ctx: &HostCtx, payload: &[u8]) -> Reply {
    let request: ComponentAuctionRequest = match decode(payload, "component auction") {
        Ok(request) => request,
        Err(e) => return reply::<()>(Err(e)),
    };
    if ctx.shutdown.is_requested()
        || !ctx.labels.satisfy(&request.constraints)
        || ctx.components.contains(request.component_id.as_str())
        || !super::can_load(ctx, &request.component_ref, lattice_oci::Want::Component).await
    {
        return Reply::Silent;
    }
    reply(Ok(CtlResponse::ok(ComponentAuctionAck {
        component_ref: request.component_ref,
        component_id: request.component_id,
        host_id: ctx.identity.host_id.clone(),
        constraints: request.constraints,
    })))
}

/// Ids end up in subjects and bucket keys.
fn check_id(id: &ComponentId) -> Result<(), CtlError> {
    if lattice_control_interface::subject::is_valid_token(id.as_str()) {
        Ok(())
    } else {
        Err(CtlError::InvalidId {
            kind: "component",
            id: id.to_string(),
        })
    }
}

/// The scale semantics of the wire reference (§2.4).
async fn apply_scale(ctx: &HostCtx, cmd: ScaleComponentCommand) {
    let started = std::time::Instant::now();
    let id = cmd.component_id.clone();
    let lock = ctx.components.op_lock(&id);
    let _serialised = lock.lock().await;
    let annotations = cmd.annotations.clone().unwrap_or_default();
    match (ctx.components.get(id.as_str()), cmd.max_instances) {
        (None, 0) => {
            let stopped = Outcome::stopped(&cmd.component_ref, annotations);
            publish_scaled(ctx, &id, &stopped, None).await;
        }
        (Some(_), 0) => {
            if let Some(running) = ctx.components.remove(id.as_str()) {
                // Closing the permits turns away invocations still waiting to run.
                if let Some(permits) = &running.permits {
                    permits.close();
                }
                if let Some(metrics) = ctx.metrics() {
                    metrics.set_max_instances(id.as_str(), &running.image_ref, 0);
                }
                let stopped = Outcome::stopped(&running.image_ref, annotations);
                publish_scaled(ctx, &id, &stopped, running.component.claims()).await;
                tracing::info!(component_id = %id, "component stopped");
            }
        }
        (current, max_instances) => {
            let update_ref = current
                .as_ref()
                .is_none_or(|c| cmd.allow_update && !cmd.component_ref.is_empty() && cmd.component_ref != c.image_ref);
            let same_ref = current
                .as_ref()
                .is_some_and(|c| cmd.component_ref.is_empty() || cmd.component_ref == c.image_ref);
            let (image_ref, component) = match (&current, update_ref) {
                (Some(running), false) if same_ref => {
                    match reload_if_changed(ctx, &id, running, max_instances, &annotations).await {
                        Ok(component) => (running.image_ref.clone(), component),
                        Err(error) => {
                            let failed = Outcome {
                                image_ref: running.image_ref.clone(),
                                max_instances,
                                annotations,
                            };
                            publish_failed(ctx, &id, &failed, error, running.component.claims()).await;
                            return;
                        }
                    }
                }
                (Some(running), false) => (running.image_ref.clone(), running.component.clone()),
                _ => match load(
                    ctx,
                    &id,
                    &cmd.component_ref,
                    Starting {
                        max_instances,
                        annotations: &annotations,
                    },
                )
                .await
                {
                    Ok(component) => (cmd.component_ref.clone(), component),
                    Err(error) => {
                        let failed = Outcome {
                            image_ref: cmd.component_ref.clone(),
                            max_instances,
                            annotations,
                        };
                        publish_failed(
                            ctx,
                            &id,
                            &failed,
                            error,
                            current.as_ref().and_then(|c| c.component.claims()),
                        )
                        .await;
                        return;
                    }
                },
            };
            let running = RunningComponent {
                image_ref: image_ref.clone(),
                component,
                max_instances,
                permits: RunningComponent::permits_for(max_instances),
                annotations: annotations.clone(),
                config: cmd.config.clone(),
                limits: cmd.component_limits.clone(),
            };
            install(ctx, &id, running, update_ref).await;
            tracing::info!(
                component_id = %id,
                %image_ref,
                max_instances,
                elapsed = ?started.elapsed(),
                "component running"
            );
            let outcome = Outcome {
                image_ref,
                max_instances,
                annotations,
            };
            let claims = ctx.components.get(id.as_str());
            publish_scaled(ctx, &id, &outcome, claims.as_ref().and_then(|c| c.component.claims())).await;
        }
    }
}

/// Swaps a running component for the one `cmd` names, keeping its scale.
/// Identity is content: the same bytes under the same reference change
/// nothing; the same bytes under a new reference are recorded without a
/// recompile; new bytes, under any reference, are loaded.
async fn apply_update(ctx: &HostCtx, cmd: UpdateComponentCommand) {
    let id = cmd.component_id.clone();
    let lock = ctx.components.op_lock(&id);
    let _serialised = lock.lock().await;
    let Some(current) = ctx.components.get(id.as_str()) else {
        tracing::warn!(component_id = %id, "component stopped before its update could apply");
        return;
    };
    let annotations = cmd.annotations.clone().unwrap_or_else(|| current.annotations.clone());
    let outcome = Outcome {
        image_ref: cmd.new_component_ref.clone(),
        max_instances: current.max_instances,
        annotations,
    };
    let loaded = match fetch(ctx, &cmd.new_component_ref).await {
        Ok(bytes) if lattice_runtime::wasm_hash(&bytes) == current.component.wasm_hash() => {
            if cmd.new_component_ref == current.image_ref && outcome.annotations == current.annotations {
                tracing::info!(component_id = %id, image_ref = %cmd.new_component_ref, "component unchanged: same content");
                return;
            }
            Ok(current.component.clone())
        }
        Ok(bytes) => {
            let starting = Starting {
                max_instances: outcome.max_instances,
                annotations: &outcome.annotations,
            };
            compile(ctx, &id, &cmd.new_component_ref, bytes, starting).await
        }
        Err(error) => Err(error),
    };
    match loaded {
        Ok(component) => {
            let reloaded = component.wasm_hash() != current.component.wasm_hash();
            let running = RunningComponent {
                image_ref: cmd.new_component_ref.clone(),
                component,
                max_instances: current.max_instances,
                // The same permits: requests in flight still count.
                permits: current.permits.clone(),
                annotations: outcome.annotations.clone(),
                config: current.config.clone(),
                limits: current.limits.clone(),
            };
            install(ctx, &id, running, true).await;
            let claims = ctx.components.get(id.as_str());
            publish_scaled(ctx, &id, &outcome, claims.as_ref().and_then(|c| c.component.claims())).await;
            // As upstream hosts do (and wadm expects): the new reference at its
            // scale, then the one it replaced at 0.
            if current.image_ref != cmd.new_component_ref {
                let retired = Outcome::stopped(&current.image_ref, current.annotations.clone());
                publish_scaled(ctx, &id, &retired, current.component.claims()).await;
            }
            tracing::info!(component_id = %id, image_ref = %cmd.new_component_ref, reloaded, "component updated");
        }
        Err(error) => publish_failed(ctx, &id, &outcome, error, current.component.claims()).await,
    }
}

/// The component a scale to the reference already running leaves in
/// place: the running one while the reference names the same bytes, the
/// new bytes loaded once it names others.
async fn reload_if_changed(
    ctx: &HostCtx,
    id: &ComponentId,
    running: &RunningComponent,
    max_instances: u32,
    annotations: &BTreeMap<String, String>,
) -> Result<lattice_runtime::Component, String> {
    let bytes = match fetch(ctx, &running.image_ref).await {
        Ok(bytes) => bytes,
        Err(error) => {
            // What runs stays: it was loaded from this reference and still serves.
            tracing::warn!(component_id = %id, image_ref = %running.image_ref, %error, "cannot check the component's reference for new content; keeping what runs");
            return Ok(running.component.clone());
        }
    };
    if lattice_runtime::wasm_hash(&bytes) == running.component.wasm_hash() {
        return Ok(running.component.clone());
    }
    tracing::info!(component_id = %id, image_ref = %running.image_ref, "component content changed: reloading");
    let starting = Starting {
        max_instances,
        annotations,
    };
    compile(ctx, id, &running.image_ref, bytes, starting).await
}

/// The `component_limits` of a scale request as the runtime applies them,
/// and a message for each entry that is ignored (as upstream ignores them).
fn component_limits(limits: Option<&BTreeMap<String, String>>) -> (ComponentLimits, Vec<String>) {
    let Some(map) = limits else {
        return (ComponentLimits::default(), Vec::new());
    };
    let (asked, ignored) = lattice_control_interface::ComponentLimits::from_map_with_ignored(map);
    let limits = ComponentLimits {
        max_linear_memory: asked.max_memory_bytes,
        max_execution_time: asked.max_execution_time,
    };
    (limits, ignored)
}

/// Fetches, verifies and compiles a component.
async fn load(
    ctx: &HostCtx,
    id: &ComponentId,
    reference: &str,
    start: Starting<'_>,
) -> Result<lattice_runtime::Component, String> {
    let bytes = fetch(ctx, reference).await?;
    compile(ctx, id, reference, bytes, start).await
}

/// The bytes `reference` names, under the host's file policy and size cap.
async fn fetch(ctx: &HostCtx, reference: &str) -> Result<Vec<u8>, String> {
    let policy = artifact::FilePolicy {
        allow: ctx.config.allow_file_load,
        root: ctx.config.allowed_file_root.as_deref(),
    };
    artifact::fetch(
        reference,
        artifact::Artifact::Component,
        policy,
        &ctx.oci,
        ctx.runtime.limits().max_component_size,
    )
    .await
    .map_err(|e| e.to_string())
}

/// Verifies and compiles fetched bytes, then asks the policy service.
async fn compile(
    ctx: &HostCtx,
    id: &ComponentId,
    reference: &str,
    bytes: Vec<u8>,
    start: Starting<'_>,
) -> Result<lattice_runtime::Component, String> {
    let max_components = usize::try_from(ctx.runtime.limits().max_components).unwrap_or(usize::MAX);
    if !ctx.components.contains(id.as_str()) && ctx.components.list().len() >= max_components {
        return Err(format!(
            "this host already runs its maximum of {max_components} components: raise --max-components or scale on another host"
        ));
    }
    let runtime = ctx.runtime.clone();
    let runtime_id = id.to_string();
    let component = tokio::task::spawn_blocking(move || runtime.load(runtime_id, &bytes))
        .await
        .map_err(|e| format!("loading the component failed unexpectedly: {e}"))?
        .map_err(|e| crate::error::chain(&e))?;
    ctx.permitted(&crate::policy::Request::StartComponent {
        id: id.as_str(),
        image_ref: reference,
        max_instances: start.max_instances,
        annotations: start.annotations,
        claims: component.claims().map(|token| (&token.claims).into()),
    })
    .await?;
    Ok(component)
}

/// What a load is for, as the policy service is told it.
struct Starting<'a> {
    max_instances: u32,
    annotations: &'a BTreeMap<String, String>,
}

/// Puts a loaded component in the table with its config, and records its
/// spec and claims in the lattice buckets.
async fn install(ctx: &HostCtx, id: &ComponentId, running: RunningComponent, new_ref: bool) {
    let config = crate::reconcile::resolve_config(ctx, &running.config).await;
    running.component.set_config([config]);
    running
        .component
        .set_limits(component_limits(running.limits.as_ref()).0);
    running.component.set_instance_permits(running.permits.clone());
    if let Some(metrics) = ctx.metrics() {
        running.component.set_observer(Some(metrics.observer(
            id.as_str(),
            &running.image_ref,
            &running.component,
        )));
        metrics.set_max_instances(id.as_str(), &running.image_ref, running.max_instances);
    }
    if ctx.policy.is_active() {
        let admission = crate::policy::Admission {
            policy: Arc::clone(&ctx.policy),
            target: crate::policy::Target {
                id: id.to_string(),
                image_ref: running.image_ref.clone(),
                annotations: running.annotations.clone(),
                claims: running.component.claims().map(|token| (&token.claims).into()),
            },
        };
        running.component.set_admission(Some(Arc::new(admission)));
    }
    let image_ref = running.image_ref.clone();
    let claims = running.component.claims().map(stored_claims);
    ctx.components.insert(id.clone(), running);
    // Serve the exports of what now runs under `id`; the old subscriptions go once the new
    // ones are in place, so a call in between finds one of them.
    match crate::rpc::serve(&ctx.nats, &ctx.config.lattice, id, &ctx.components, ctx.tracer()).await {
        Ok(server) => ctx.components.set_server(id.clone(), server),
        Err(error) => tracing::warn!(component_id = %id, %error, "component exports are not served over wRPC"),
    }
    if new_ref {
        let written = ctx
            .store
            .update_spec(id, |spec| {
                spec.url.clone_from(&image_ref);
                Ok(())
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(component_id = %id, error = %e, "cannot record the component spec");
        }
    }
    if let Some(claims) = claims
        && let Err(e) = ctx.store.put_claims(&claims).await
    {
        tracing::warn!(component_id = %id, error = %e, "cannot record the component claims");
    }
}

/// The claims as the `CLAIMS_` bucket entry stores them.
fn stored_claims(token: &lattice_runtime::ComponentClaims) -> StoredClaims {
    let meta = token.claims.metadata.clone().unwrap_or_default();
    StoredClaims {
        call_alias: Some(meta.call_alias.unwrap_or_default()),
        issuer: token.claims.issuer.clone(),
        name: meta.name.unwrap_or_default(),
        revision: meta.rev.unwrap_or(0).to_string(),
        subject: token.claims.subject.clone(),
        tags: meta.tags.unwrap_or_default(),
        version: meta.ver.unwrap_or_default(),
        config_schema: None,
    }
}

/// What a scale or update did, for its event.
struct Outcome {
    image_ref: String,
    max_instances: u32,
    annotations: BTreeMap<String, String>,
}

impl Outcome {
    fn stopped(image_ref: &str, annotations: BTreeMap<String, String>) -> Self {
        Self {
            image_ref: image_ref.to_owned(),
            max_instances: 0,
            annotations,
        }
    }
}

async fn publish_scaled(
    ctx: &HostCtx,
    id: &ComponentId,
    outcome: &Outcome,
    claims: Option<&lattice_runtime::ComponentClaims>,
) {
    let event = ComponentScaled {
        annotations: outcome.annotations.clone(),
        claims: claims.map(event_claims),
        component_id: id.clone(),
        host_id: ctx.identity.host_id.clone(),
        image_ref: outcome.image_ref.clone(),
        max_instances: outcome.max_instances,
        public_key: claims.map(|c| c.claims.subject.clone()),
    };
    ctx.events.publish(LatticeEvent::ComponentScaled(event)).await;
}

async fn publish_failed(
    ctx: &HostCtx,
    id: &ComponentId,
    outcome: &Outcome,
    error: String,
    claims: Option<&lattice_runtime::ComponentClaims>,
) {
    tracing::warn!(component_id = %id, image_ref = %outcome.image_ref, %error, "component scale failed");
    let event = ComponentScaleFailed {
        annotations: outcome.annotations.clone(),
        component_id: id.clone(),
        error,
        host_id: ctx.identity.host_id.clone(),
        image_ref: outcome.image_ref.clone(),
        max_instances: outcome.max_instances,
        public_key: claims.map(|c| c.claims.subject.clone()),
    };
    ctx.events.publish(LatticeEvent::ComponentScaleFailed(event)).await;
}

/// The claims part of `component_scaled`.
fn event_claims(token: &lattice_runtime::ComponentClaims) -> ComponentScaledClaims {
    let meta = token.claims.metadata.clone().unwrap_or_default();
    let validation =
        lattice_claims::jwt::validate_token::<lattice_claims::jwt::Component>(&token.jwt).unwrap_or_default();
    ComponentScaledClaims {
        call_alias: meta.call_alias,
        expires_human: validation.expires_human,
        issuer: token.claims.issuer.clone(),
        name: meta.name,
        not_before_human: validation.not_before_human,
        revision: meta.rev,
        tags: meta.tags,
        version: meta.ver,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_limits_parse_or_say_why_not() {
        use std::time::Duration;

        let (limits, ignored) = component_limits(None);
        assert_eq!(limits, ComponentLimits::default());
        assert!(ignored.is_empty());

        let asked = BTreeMap::from([
            ("max_memory_limit".to_owned(), "1048576".to_owned()),
            ("max_execution_time".to_owned(), " 250 ".to_owned()),
        ]);
        let (limits, ignored) = component_limits(Some(&asked));
        assert_eq!(limits.max_linear_memory, Some(1 << 20));
        assert_eq!(limits.max_execution_time, Some(Duration::from_millis(250)));
        assert!(ignored.is_empty());

        let bad = BTreeMap::from([
            ("max_memory_limit".to_owned(), "64MiB".to_owned()),
            ("max_cpu".to_owned(), "2".to_owned()),
        ]);
        let (limits, ignored) = component_limits(Some(&bad));
        assert_eq!(limits, ComponentLimits::default());
        expect_test::expect![[r#"
            [
                "component_limits.max_cpu ignored: the known limits are max_memory_limit and max_execution_time",
                "component_limits.max_memory_limit `64MiB` ignored: give a number of bytes, e.g. \"67108864\"",
            ]
        "#]]
        .assert_debug_eq(&ignored);
    }

    #[test]
    fn ids_must_be_subject_tokens() {
        assert!(check_id(&ComponentId::new("http-hello")).is_ok());
        assert!(check_id(&ComponentId::new("a.b")).is_err());
        assert!(check_id(&ComponentId::new("")).is_err());
    }
}
