//! One [`Client`] method per control-interface operation.
//!
//! Acknowledged operations return the host's message: empty on a plain
//! success, otherwise text such as `"successfully put label"` or a warning
//! (scaling with a different reference and `allow_update` off says so).
//! Work that takes time (scaling, starting providers) is only acknowledged
//! here; its outcome arrives later as an event, see [`Client::events`].

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use super::{Client, encode, token};
use crate::error::Error;
use crate::id::{ComponentId, ConfigName, HostId, LinkName, ProviderId};
use crate::types::claims::ClaimsEntry;
use crate::types::component::{
    ComponentAuctionAck, ComponentAuctionRequest, ScaleComponentCommand, UpdateComponentCommand,
};
use crate::types::config::{CONFIG_NOT_FOUND, ConfigValues};
use crate::types::host::{Host, HostInventory, StopHostCommand};
use crate::types::label::{HostLabel, HostLabelIdentifier};
use crate::types::link::{DeleteInterfaceLinkDefinitionRequest, Link};
use crate::types::provider::{ProviderAuctionAck, ProviderAuctionRequest, StartProviderCommand, StopProviderCommand};
use crate::types::registry::RegistryCredentialMap;

impl Client {
    /// Pings every host on the lattice and returns those that answer within
    /// the auction timeout (scatter-gather on `host.ping`). No hosts is an
    /// empty list, not an error.
    ///
    /// # Errors
    ///
    /// [`Transport`](crate::ErrorKind::Transport) if the ping cannot be sent.
    pub async fn get_hosts(&self) -> Result<Vec<Host>, Error> {
        self.scatter_gather(&self.subjects.host_ping(), Bytes::new()).await
    }

    /// What one host runs (`host.get.{host_id}`).
    ///
    /// # Errors
    ///
    /// Timeout, no responders (no such host), transport, decode, or refusal;
    /// see [`ErrorKind`](crate::ErrorKind).
    pub async fn get_host_inventory(&self, host_id: &HostId) -> Result<HostInventory, Error> {
        token("host.get", "host ID", host_id.as_str())?;
        self.request_response(&self.subjects.host_get(host_id), Bytes::new())
            .await
    }

    /// The claims of every signed component and provider the lattice knows
    /// (`claims.get`, answered by one host).
    ///
    /// # Errors
    ///
    /// Timeout, no responders, transport, decode, or refusal.
    pub async fn get_claims(&self) -> Result<Vec<ClaimsEntry>, Error> {
        let reply = self.request(&self.subjects.claims_get(), Bytes::new()).await?;
        Ok(reply.response.unwrap_or_default())
    }

    /// Asks which hosts could run a component: those whose labels match every
    /// constraint and that do not run `component_id` yet (scatter-gather on
    /// `component.auction`).
    ///
    /// # Errors
    ///
    /// [`Transport`](crate::ErrorKind::Transport) if the auction cannot be sent.
    pub async fn perform_component_auction(
        &self,
        component_ref: &str,
        component_id: &ComponentId,
        constraints: &BTreeMap<String, String>,
    ) -> Result<Vec<ComponentAuctionAck>, Error> {
        let subject = self.subjects.component_auction();
        let body = ComponentAuctionRequest {
            component_ref: component_ref.to_owned(),
            component_id: component_id.clone(),
            constraints: constraints.clone(),
        };
        self.scatter_gather(&subject, encode(&subject, &body)?).await
    }

    /// Asks which hosts could run a provider (scatter-gather on `provider.auction`).
    ///
    /// # Errors
    ///
    /// [`Transport`](crate::ErrorKind::Transport) if the auction cannot be sent.
    pub async fn perform_provider_auction(
        &self,
        provider_ref: &str,
        provider_id: &ProviderId,
        constraints: &BTreeMap<String, String>,
    ) -> Result<Vec<ProviderAuctionAck>, Error> {
        let subject = self.subjects.provider_auction();
        let body = ProviderAuctionRequest {
            provider_ref: provider_ref.to_owned(),
            provider_id: provider_id.clone(),
            constraints: constraints.clone(),
        };
        self.scatter_gather(&subject, encode(&subject, &body)?).await
    }

    /// Scales a component on `command.host_id` (`component.scale.{host_id}`);
    /// a count of 0 stops it. The host acknowledges at once and reports the
    /// outcome as `component_scaled` or `component_scale_failed`.
    ///
    /// # Errors
    ///
    /// Timeout, no responders, transport, decode, refusal, or a host ID
    /// that cannot be a subject token.
    pub async fn scale_component(&self, command: &ScaleComponentCommand) -> Result<String, Error> {
        token("component.scale", "host ID", command.host_id.as_str())?;
        let subject = self.subjects.component_scale(&command.host_id);
        self.request_ack(&subject, encode(&subject, command)?).await
    }

    /// Replaces a running component's image (`component.update.{host_id}`).
    ///
    /// # Errors
    ///
    /// As [`Client::scale_component`]; a host that does not run the component refuses.
    pub async fn update_component(&self, command: &UpdateComponentCommand) -> Result<String, Error> {
        token("component.update", "host ID", command.host_id.as_str())?;
        let subject = self.subjects.component_update(&command.host_id);
        self.request_ack(&subject, encode(&subject, command)?).await
    }

    /// Starts a provider on `command.host_id` (`provider.start.{host_id}`).
    /// The outcome arrives as `provider_started` or `provider_start_failed`.
    ///
    /// # Errors
    ///
    /// As [`Client::scale_component`]. A host without a builtin provider's
    /// feature does not answer at all, which surfaces as a timeout.
    pub async fn start_provider(&self, command: &StartProviderCommand) -> Result<String, Error> {
        token("provider.start", "host ID", command.host_id.as_str())?;
        let subject = self.subjects.provider_start(&command.host_id);
        self.request_ack(&subject, encode(&subject, command)?).await
    }

    /// Stops a provider (`provider.stop.{host_id}`).
    ///
    /// # Errors
    ///
    /// As [`Client::scale_component`]; refused if the provider is not running.
    pub async fn stop_provider(&self, host_id: &HostId, provider_id: &ProviderId) -> Result<String, Error> {
        token("provider.stop", "host ID", host_id.as_str())?;
        let subject = self.subjects.provider_stop(host_id);
        let body = StopProviderCommand {
            host_id: host_id.clone(),
            provider_id: provider_id.clone(),
        };
        self.request_ack(&subject, encode(&subject, &body)?).await
    }

    /// Asks a host to shut down, within `timeout` if given (`host.stop.{host_id}`).
    ///
    /// # Errors
    ///
    /// As [`Client::scale_component`].
    pub async fn stop_host(&self, host_id: &HostId, timeout: Option<Duration>) -> Result<String, Error> {
        token("host.stop", "host ID", host_id.as_str())?;
        let subject = self.subjects.host_stop(host_id);
        let body = StopHostCommand {
            host_id: host_id.clone(),
            timeout: timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        };
        self.request_ack(&subject, encode(&subject, &body)?).await
    }

    /// Sets a label on a host (`label.put.{host_id}`); emits `labels_changed`.
    ///
    /// # Errors
    ///
    /// As [`Client::scale_component`]; hosts refuse keys starting `hostcore.`.
    pub async fn put_label(&self, host_id: &HostId, key: &str, value: &str) -> Result<String, Error> {
        token("label.put", "host ID", host_id.as_str())?;
        let subject = self.subjects.label_put(host_id);
        let body = HostLabel {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        self.request_ack(&subject, encode(&subject, &body)?).await
    }

    /// Removes a label from a host (`label.del.{host_id}`).
    ///
    /// # Errors
    ///
    /// As [`Client::scale_component`].
    pub async fn delete_label(&self, host_id: &HostId, key: &str) -> Result<String, Error> {
        token("label.del", "host ID", host_id.as_str())?;
        let subject = self.subjects.label_del(host_id);
        let body = HostLabelIdentifier { key: key.to_owned() };
        self.request_ack(&subject, encode(&subject, &body)?).await
    }

    /// Puts a link, replacing one with the same identity (`link.put`, one host answers).
    ///
    /// # Errors
    ///
    /// Timeout, no responders, transport, decode, or refusal (e.g. a named
    /// configuration that does not exist, or a conflicting target).
    pub async fn put_link(&self, link: &Link) -> Result<String, Error> {
        let subject = self.subjects.link_put();
        self.request_ack(&subject, encode(&subject, link)?).await
    }

    /// Deletes a link by source, name and package (`link.del`); deleting a
    /// link that does not exist succeeds.
    ///
    /// # Errors
    ///
    /// Timeout, no responders, transport, decode, or refusal.
    pub async fn delete_link(
        &self,
        source_id: &ComponentId,
        name: &LinkName,
        wit_namespace: &str,
        wit_package: &str,
    ) -> Result<String, Error> {
        let subject = self.subjects.link_del();
        let body = DeleteInterfaceLinkDefinitionRequest {
            source_id: source_id.clone(),
            name: name.clone(),
            wit_namespace: wit_namespace.to_owned(),
            wit_package: wit_package.to_owned(),
        };
        self.request_ack(&subject, encode(&subject, &body)?).await
    }

    /// Every link in the lattice (`link.get`).
    ///
    /// # Errors
    ///
    /// Timeout, no responders, transport, decode, or refusal.
    pub async fn get_links(&self) -> Result<Vec<Link>, Error> {
        let reply = self.request(&self.subjects.link_get(), Bytes::new()).await?;
        Ok(reply.response.unwrap_or_default())
    }

    /// Stores a named configuration (`config.put.{name}`); emits `config_set`.
    ///
    /// # Errors
    ///
    /// Timeout, no responders, transport, decode, refusal, or a name that
    /// cannot be a subject token.
    pub async fn put_config(&self, name: &ConfigName, values: &ConfigValues) -> Result<String, Error> {
        token("config.put", "config name", name.as_str())?;
        let subject = self.subjects.config_put(name);
        self.request_ack(&subject, encode(&subject, values)?).await
    }

    /// Reads a named configuration (`config.get.{name}`); `None` if there is
    /// none by that name.
    ///
    /// # Errors
    ///
    /// As [`Client::put_config`].
    pub async fn get_config(&self, name: &ConfigName) -> Result<Option<ConfigValues>, Error> {
        token("config.get", "config name", name.as_str())?;
        let subject = self.subjects.config_get(name);
        let reply = self.request(&subject, Bytes::new()).await?;
        if reply.response.is_none() && reply.message != CONFIG_NOT_FOUND {
            tracing::debug!(%subject, message = %reply.message, "config reply without values");
        }
        Ok(reply.response)
    }

    /// Deletes a named configuration (`config.del.{name}`); emits `config_deleted`.
    ///
    /// # Errors
    ///
    /// As [`Client::put_config`].
    pub async fn delete_config(&self, name: &ConfigName) -> Result<String, Error> {
        token("config.del", "config name", name.as_str())?;
        let subject = self.subjects.config_del(name);
        self.request_ack(&subject, Bytes::new()).await
    }

    /// Gives every host registry credentials (`registry.put`, broadcast);
    /// returns the first host's acknowledgement.
    ///
    /// # Errors
    ///
    /// Timeout, no responders, transport, decode, or refusal.
    pub async fn put_registries(&self, registries: &RegistryCredentialMap) -> Result<String, Error> {
        let subject = self.subjects.registry_put();
        self.request_ack(&subject, encode(&subject, registries)?).await
    }
}
