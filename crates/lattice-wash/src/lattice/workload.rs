//! Components and providers: auctions, scale/start/stop/update, and waiting
//! for the event that says how it went.
//!
//! The host acknowledges a scale or provider start at once and reports the
//! outcome later as an event, so every operation here subscribes to the
//! outcome events *before* sending its request: an event published between
//! the request and a late subscription would otherwise be missed.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use lattice_control_interface::events::LatticeEvent;
use lattice_control_interface::{
    ComponentId, ConfigName, Event, EventStream, EventType, HostId, ProviderId, ScaleComponentCommand,
    StartProviderCommand, UpdateComponentCommand,
};

use super::{Lattice, LatticeError, LatticeErrorKind, validate_id};

/// What to scale: a component on a host (picked by auction when `host_id` is `None`).
#[derive(Debug, Clone, Default)]
pub struct ScaleRequest {
    /// Where to load the component from (`file://…` or an OCI reference).
    pub component_ref: String,
    /// The lattice-unique ID to run it under.
    pub component_id: ComponentId,
    /// The host to run on; `None` holds an auction.
    pub host_id: Option<HostId>,
    /// Instance limit; 0 stops the component.
    pub max_instances: u32,
    /// Labels an auction bidder must carry.
    pub constraints: BTreeMap<String, String>,
    /// Named configurations to give the component.
    pub config: Vec<ConfigName>,
    /// Whether a different reference may replace a running one.
    pub allow_update: bool,
    /// How long to wait for the outcome event; `None` returns after the ack.
    pub wait: Option<Duration>,
}

/// How a scale went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleOutcome {
    /// The host that did it.
    pub host_id: HostId,
    /// The host's acknowledgement message (empty, or a warning).
    pub message: String,
    /// Whether the outcome event was awaited (false with `wait: None`).
    pub confirmed: bool,
}

/// What to start: a provider on a host (picked by auction when `host_id` is `None`).
#[derive(Debug, Clone, Default)]
pub struct ProviderStart {
    /// Where to load the provider from, e.g. `wasmcloud+builtin://http-server`.
    pub provider_ref: String,
    /// The lattice-unique ID to run it under.
    pub provider_id: ProviderId,
    /// The host to run on; `None` holds an auction.
    pub host_id: Option<HostId>,
    /// Labels an auction bidder must carry.
    pub constraints: BTreeMap<String, String>,
    /// Named configurations to give the provider.
    pub config: Vec<ConfigName>,
    /// How long to wait for `provider_started`; `None` returns after the ack.
    pub wait: Option<Duration>,
}

/// Where something was started or stopped, and what the host said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The host.
    pub host_id: HostId,
    /// The host's acknowledgement message.
    pub message: String,
}

impl Lattice {
    /// Starts (or rescales) a component: holds an auction unless a host is
    /// given, sends the scale, and waits for `component_scaled`.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::Failed`] with the host's error text on
    /// `component_scale_failed`; [`LatticeErrorKind::NoHost`] /
    /// [`LatticeErrorKind::NoBidder`] when nobody can take it;
    /// [`LatticeErrorKind::WaitTimeout`]; or as the control request fails.
    pub async fn scale_component(&self, request: &ScaleRequest, verb: &str) -> Result<ScaleOutcome, LatticeError> {
        validate_id("component", request.component_id.as_str())?;
        let host_id = match &request.host_id {
            Some(host) => host.clone(),
            None => self.component_auction(request).await?,
        };
        let events = self
            .subscribe(
                request.wait,
                &[EventType::ComponentScaled, EventType::ComponentScaleFailed],
            )
            .await?;
        let command = ScaleComponentCommand {
            component_ref: request.component_ref.clone(),
            component_id: request.component_id.clone(),
            annotations: None,
            max_instances: request.max_instances,
            component_limits: None,
            host_id: host_id.clone(),
            config: request.config.clone(),
            allow_update: request.allow_update,
        };
        let message = self
            .client()
            .scale_component(&command)
            .await
            .map_err(|e| self.host_error(e, &host_id))?;
        let confirmed = match (events, request.wait) {
            (Some(events), Some(timeout)) => {
                let id = &request.component_id;
                let what = format!("`component_scaled` event for component `{id}` from host `{host_id}`");
                wait_for(events, timeout, &what, |event| match &event.event {
                    LatticeEvent::ComponentScaled(data)
                        if data.component_id == *id && from_host(event, &data.host_id, &host_id) =>
                    {
                        Some(Ok(()))
                    }
                    LatticeEvent::ComponentScaleFailed(data)
                        if data.component_id == *id && from_host(event, &data.host_id, &host_id) =>
                    {
                        Some(Err(LatticeError::new(
                            LatticeErrorKind::Failed,
                            format!("could not {verb} component `{id}` on host `{host_id}`: {}", data.error),
                        )))
                    }
                    _ => None,
                })
                .await?;
                true
            }
            _ => false,
        };
        Ok(ScaleOutcome {
            host_id,
            message,
            confirmed,
        })
    }

    /// Stops a component by scaling it to 0 on the host that runs it (found
    /// from the inventories unless given).
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::NotRunning`] when no host runs it, or as [`Lattice::scale_component`].
    pub async fn stop_component(
        &self,
        id: &ComponentId,
        host_id: Option<&HostId>,
        wait: Option<Duration>,
    ) -> Result<ScaleOutcome, LatticeError> {
        validate_id("component", id.as_str())?;
        let (host_id, image_ref) = self.find_component(id, host_id).await?;
        let request = ScaleRequest {
            component_ref: image_ref,
            component_id: id.clone(),
            host_id: Some(host_id),
            max_instances: 0,
            wait,
            ..ScaleRequest::default()
        };
        self.scale_component(&request, "stop").await
    }

    /// Asks the host running a component to replace its image (or, with the
    /// reference it runs, to reload it if its bytes changed); returns the
    /// host, the old reference and the host's message ("component X updating
    /// from A to B"). With `wait`, also waits for the `component_scaled` of
    /// the new reference (a reload of unchanged bytes publishes none).
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::NotRunning`] when no host runs it;
    /// [`LatticeErrorKind::Failed`] with the host's error text on
    /// `component_scale_failed`; [`LatticeErrorKind::WaitTimeout`]; or as
    /// the request fails.
    pub async fn update_component(
        &self,
        id: &ComponentId,
        new_ref: &str,
        host_id: Option<&HostId>,
        wait: Option<Duration>,
    ) -> Result<(Started, String), LatticeError> {
        validate_id("component", id.as_str())?;
        let (host_id, old_ref) = self.find_component(id, host_id).await?;
        let events = self
            .subscribe(wait, &[EventType::ComponentScaled, EventType::ComponentScaleFailed])
            .await?;
        let command = UpdateComponentCommand {
            component_id: id.clone(),
            new_component_ref: new_ref.to_owned(),
            host_id: host_id.clone(),
            annotations: None,
        };
        let message = self
            .client()
            .update_component(&command)
            .await
            .map_err(|e| self.host_error(e, &host_id))?;
        if let (Some(events), Some(timeout)) = (events, wait) {
            let what = format!("`component_scaled` event for the update of component `{id}` on host `{host_id}`");
            wait_for(events, timeout, &what, |event| match &event.event {
                LatticeEvent::ComponentScaled(data)
                    if data.component_id == *id
                        && data.image_ref == new_ref
                        && data.max_instances > 0
                        && from_host(event, &data.host_id, &host_id) =>
                {
                    Some(Ok(()))
                }
                LatticeEvent::ComponentScaleFailed(data)
                    if data.component_id == *id && from_host(event, &data.host_id, &host_id) =>
                {
                    Some(Err(LatticeError::new(
                        LatticeErrorKind::Failed,
                        format!("could not update component `{id}` on host `{host_id}`: {}", data.error),
                    )))
                }
                _ => None,
            })
            .await?;
        }
        Ok((Started { host_id, message }, old_ref))
    }

    /// Starts a provider: holds an auction unless a host is given, sends the
    /// start, and waits for `provider_started`.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::Failed`] with the host's error text on
    /// `provider_start_failed`, or as [`Lattice::scale_component`].
    pub async fn start_provider(&self, request: &ProviderStart) -> Result<Started, LatticeError> {
        validate_id("provider", request.provider_id.as_str())?;
        let host_id = match &request.host_id {
            Some(host) => host.clone(),
            None => self.provider_auction(request).await?,
        };
        let events = self
            .subscribe(
                request.wait,
                &[EventType::ProviderStarted, EventType::ProviderStartFailed],
            )
            .await?;
        let command = StartProviderCommand {
            provider_id: request.provider_id.clone(),
            provider_ref: request.provider_ref.clone(),
            host_id: host_id.clone(),
            config: request.config.clone(),
            annotations: None,
        };
        let message = self
            .client()
            .start_provider(&command)
            .await
            .map_err(|e| self.host_error(e, &host_id))?;
        if let (Some(events), Some(timeout)) = (events, request.wait) {
            let id = &request.provider_id;
            let what = format!("`provider_started` event for provider `{id}` from host `{host_id}`");
            wait_for(events, timeout, &what, |event| match &event.event {
                LatticeEvent::ProviderStarted(data)
                    if data.provider_id == *id && from_host(event, &data.host_id, &host_id) =>
                {
                    Some(Ok(()))
                }
                LatticeEvent::ProviderStartFailed(data)
                    if data.provider_id == *id && from_host(event, &data.host_id, &host_id) =>
                {
                    Some(Err(LatticeError::new(
                        LatticeErrorKind::Failed,
                        format!("could not start provider `{id}` on host `{host_id}`: {}", data.error),
                    )))
                }
                _ => None,
            })
            .await?;
        }
        Ok(Started { host_id, message })
    }

    /// Stops a provider on the host that runs it (found from the inventories
    /// unless given) and waits for `provider_stopped`.
    ///
    /// # Errors
    ///
    /// [`LatticeErrorKind::NotRunning`] when no host runs it, or as the request fails.
    pub async fn stop_provider(
        &self,
        id: &ProviderId,
        host_id: Option<&HostId>,
        wait: Option<Duration>,
    ) -> Result<Started, LatticeError> {
        validate_id("provider", id.as_str())?;
        let host_id = self.find_provider(id, host_id).await?;
        let events = self
            .subscribe(wait, &[EventType::ProviderStopped, EventType::ProviderStopFailed])
            .await?;
        let message = self
            .client()
            .stop_provider(&host_id, id)
            .await
            .map_err(|e| self.host_error(e, &host_id))?;
        if let (Some(events), Some(timeout)) = (events, wait) {
            let what = format!("`provider_stopped` event for provider `{id}` from host `{host_id}`");
            wait_for(events, timeout, &what, |event| match &event.event {
                LatticeEvent::ProviderStopped(data)
                    if data.provider_id == *id && from_host(event, &data.host_id, &host_id) =>
                {
                    Some(Ok(()))
                }
                LatticeEvent::ProviderStopFailed(data)
                    if data.provider_id == *id && from_host(event, &data.host_id, &host_id) =>
                {
                    Some(Err(LatticeError::new(
                        LatticeErrorKind::Failed,
                        format!("could not stop provider `{id}` on host `{host_id}`: {}", data.error),
                    )))
                }
                _ => None,
            })
            .await?;
        }
        Ok(Started { host_id, message })
    }

    async fn subscribe(
        &self,
        wait: Option<Duration>,
        types: &[EventType],
    ) -> Result<Option<EventStream>, LatticeError> {
        if wait.is_none() {
            return Ok(None);
        }
        let events = self
            .client()
            .events(Some(types))
            .await
            .map_err(|e| self.any_host_error(e))?;
        Ok(Some(events))
    }

    async fn component_auction(&self, request: &ScaleRequest) -> Result<HostId, LatticeError> {
        let acks = self
            .client()
            .perform_component_auction(&request.component_ref, &request.component_id, &request.constraints)
            .await
            .map_err(|e| self.any_host_error(e))?;
        match acks.into_iter().next() {
            Some(ack) => Ok(ack.host_id),
            None => Err(self
                .no_bidder("component", request.component_id.as_str(), &request.constraints)
                .await),
        }
    }

    async fn provider_auction(&self, request: &ProviderStart) -> Result<HostId, LatticeError> {
        let acks = self
            .client()
            .perform_provider_auction(&request.provider_ref, &request.provider_id, &request.constraints)
            .await
            .map_err(|e| self.any_host_error(e))?;
        match acks.into_iter().next() {
            Some(ack) => Ok(ack.host_id),
            None => Err(self
                .no_bidder("provider", request.provider_id.as_str(), &request.constraints)
                .await),
        }
    }

    /// Explains an auction nobody answered: no host at all, or none that fits.
    async fn no_bidder(&self, what: &str, id: &str, constraints: &BTreeMap<String, String>) -> LatticeError {
        match self.require_hosts().await {
            Err(e) => e,
            Ok(hosts) => {
                let constraints = if constraints.is_empty() {
                    String::new()
                } else {
                    let pairs: Vec<String> = constraints.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!(" carries the labels {} and", pairs.join(","))
                };
                LatticeError::new(
                    LatticeErrorKind::NoBidder,
                    format!(
                        "none of the {} host(s) on lattice `{}`{constraints} can take {what} `{id}`: \
                         it may already run there (see `wash get inventory`), or no host can load its \
                         reference (file loads off, or the registry unreachable or without it); pass \
                         --host-id to see that host's error; compare --constraint with the labels in \
                         `wash get hosts`",
                        hosts.len(),
                        self.name()
                    ),
                )
            }
        }
    }
}

/// Whether an event came from `host`: by its `host_id` field, or its source when that is empty.
fn from_host(event: &Event, data_host: &HostId, host: &HostId) -> bool {
    if data_host.as_str().is_empty() {
        event.source == *host
    } else {
        data_host == host
    }
}

/// Reads events until `decide` returns a result or `timeout` passes.
/// Events that do not decode are skipped: one odd host must not hide the answer.
async fn wait_for(
    mut events: EventStream,
    timeout: Duration,
    what: &str,
    mut decide: impl FnMut(&Event) -> Option<Result<(), LatticeError>>,
) -> Result<(), LatticeError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Err(_) => return Err(LatticeError::wait_timeout(what, timeout)),
            Ok(None) => {
                return Err(LatticeError::new(
                    LatticeErrorKind::Ctl,
                    format!("the NATS connection closed while waiting for the {what}: check the NATS server"),
                ));
            }
            Ok(Some(Err(_undecodable))) => {}
            Ok(Some(Ok(event))) => {
                if let Some(result) = decide(&event) {
                    return result;
                }
            }
        }
    }
}
