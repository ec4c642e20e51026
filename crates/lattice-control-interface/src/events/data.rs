//! The `data` objects of lattice events, one struct per event shape.
//!
//! Fields are declared in alphabetical order because upstream builds these
//! objects with `serde_json::json!`, whose maps are sorted: the bytes we
//! write then match upstream's. Optional parts that upstream adds only in
//! some cases (claims, public keys) are left out when `None`; claim fields
//! that upstream writes as `null` stay `null`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::id::{ComponentId, ConfigName, HostId, LinkName, ProviderId};
use crate::types::link::Link;

/// `host_started`: sent once when a host comes up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStarted {
    /// The host's generated name.
    #[serde(default)]
    pub friendly_name: String,
    /// The host's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Always 0 at start.
    #[serde(default)]
    pub uptime_seconds: u64,
    /// The host's version.
    #[serde(default)]
    pub version: String,
}

/// `host_stopped`: sent when a host shuts down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStopped {
    /// The host's labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The claims summary inside `component_scaled`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentScaledClaims {
    /// The call alias, or `null`.
    #[serde(default)]
    pub call_alias: Option<String>,
    /// Human-readable expiry; `"never"` when unset.
    #[serde(default)]
    pub expires_human: String,
    /// The issuer's public key.
    #[serde(default)]
    pub issuer: String,
    /// The declared name, or `null`.
    #[serde(default)]
    pub name: Option<String>,
    /// Human-readable not-before time.
    #[serde(default)]
    pub not_before_human: String,
    /// The revision, or `null`.
    #[serde(default)]
    pub revision: Option<i32>,
    /// The tags, or `null`.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// The human-readable version, or `null`.
    #[serde(default)]
    pub version: Option<String>,
}

/// `component_scaled`: a scale request finished (0 instances = stopped).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentScaled {
    /// Annotations from the scale request.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Present when the component is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ComponentScaledClaims>,
    /// The component's ID.
    pub component_id: ComponentId,
    /// The host that scaled it.
    #[serde(default)]
    pub host_id: HostId,
    /// The reference it was loaded from.
    #[serde(default)]
    pub image_ref: String,
    /// The new instance limit; 0 when stopped.
    #[serde(default)]
    pub max_instances: u32,
    /// The claims subject (`M…`), present when the component is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// `component_scale_failed`: a scale request could not be carried out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentScaleFailed {
    /// Annotations from the scale request.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The component's ID.
    pub component_id: ComponentId,
    /// Why it failed.
    #[serde(default)]
    pub error: String,
    /// The host that tried.
    #[serde(default)]
    pub host_id: HostId,
    /// The reference it was to be loaded from.
    #[serde(default)]
    pub image_ref: String,
    /// The requested instance limit.
    #[serde(default)]
    pub max_instances: u32,
    /// The claims subject, present when the claims are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// The claims summary inside `provider_started`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStartedClaims {
    /// Human-readable expiry; `"never"` when unset.
    #[serde(default)]
    pub expires_human: String,
    /// The issuer's public key.
    #[serde(default)]
    pub issuer: String,
    /// The declared name, or `null`.
    #[serde(default)]
    pub name: Option<String>,
    /// Human-readable not-before time.
    #[serde(default)]
    pub not_before_human: String,
    /// Always `null` from upstream hosts; kept for wadm.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// The human-readable version, or `null`.
    #[serde(default)]
    pub version: Option<String>,
}

/// `provider_started`: a provider is up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStarted {
    /// Annotations from the start request.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Present when the provider is signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<ProviderStartedClaims>,
    /// The host running it.
    #[serde(default)]
    pub host_id: HostId,
    /// The reference it was loaded from.
    #[serde(default)]
    pub image_ref: String,
    /// Equal to `provider_id`; present with claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Always `"default"`; present with claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_name: Option<LinkName>,
    /// The provider's ID.
    pub provider_id: ProviderId,
    /// Equal to `provider_id`; present with claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// `provider_start_failed`: a provider could not be started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStartFailed {
    /// Why it failed.
    #[serde(default)]
    pub error: String,
    /// The host that tried.
    #[serde(default)]
    pub host_id: HostId,
    /// Always `"default"`.
    #[serde(default)]
    pub link_name: LinkName,
    /// The provider's ID.
    pub provider_id: ProviderId,
    /// The reference it was to be loaded from.
    #[serde(default)]
    pub provider_ref: String,
}

/// `provider_stopped`: a provider is gone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStopped {
    /// Annotations from the start request.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The host that ran it.
    #[serde(default)]
    pub host_id: HostId,
    /// Equal to `provider_id`.
    #[serde(default)]
    pub instance_id: String,
    /// Always `"default"`.
    #[serde(default)]
    pub link_name: LinkName,
    /// The provider's ID.
    pub provider_id: ProviderId,
    /// Equal to `provider_id`.
    #[serde(default)]
    pub public_key: String,
    /// Why it stopped, e.g. `"stop"`.
    #[serde(default)]
    pub reason: String,
}

/// `provider_stop_failed`: wash waits for it; upstream hosts do not send it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStopFailed {
    /// Why it failed.
    #[serde(default)]
    pub error: String,
    /// The host that tried.
    #[serde(default)]
    pub host_id: HostId,
    /// The provider's ID.
    pub provider_id: ProviderId,
}

/// `health_check_passed`, `health_check_failed` and `health_check_status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// The host running the provider.
    #[serde(default)]
    pub host_id: HostId,
    /// The provider checked.
    pub provider_id: ProviderId,
}

/// `linkdef_set_failed`: the link's fields plus why it failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkdefSetFailed {
    /// The link that could not be set.
    #[serde(flatten)]
    pub link: Link,
    /// Why it failed.
    #[serde(default)]
    pub error: String,
}

/// `linkdef_deleted`: `target` and `interfaces` only if the link existed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkdefDeleted {
    /// The deleted link's interfaces, if it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<Vec<String>>,
    /// The link's name.
    #[serde(default)]
    pub name: LinkName,
    /// The link's source.
    pub source_id: ComponentId,
    /// The deleted link's target, if it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ComponentId>,
    /// The link's WIT namespace.
    #[serde(default)]
    pub wit_namespace: String,
    /// The link's WIT package.
    #[serde(default)]
    pub wit_package: String,
}

/// `config_set` and `config_deleted`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChanged {
    /// The configuration's name.
    pub config_name: ConfigName,
}

/// `labels_changed`: the host's full current label map.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelsChanged {
    /// The host whose labels changed.
    #[serde(default)]
    pub host_id: HostId,
    /// All its labels now.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}
