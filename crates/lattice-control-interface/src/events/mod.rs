//! Lattice events: the CloudEvents 1.0 envelope and typed event data.
//!
//! Hosts announce what happened on `wasmbus.evt.{lattice}.{event_name}` as
//! structured-mode JSON CloudEvents whose `type` is
//! `com.wasmcloud.lattice.{event_name}` and whose `source` is the host ID.
//! [`Event`] is one such message with its `data` decoded by type; event names
//! this crate does not know decode as [`LatticeEvent::Unknown`] rather than
//! failing, so a newer host never breaks an older listener.

pub mod data;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::id::HostId;
use crate::types::host::HostInventory;
use crate::types::link::Link;
use data::{
    ComponentScaleFailed, ComponentScaled, ConfigChanged, HealthCheck, HostStarted, HostStopped, LabelsChanged,
    LinkdefDeleted, LinkdefSetFailed, ProviderStartFailed, ProviderStarted, ProviderStopFailed, ProviderStopped,
};

/// `type` of every wasmCloud lattice event is this prefix plus the event name.
pub const EVENT_TYPE_PREFIX: &str = "com.wasmcloud.lattice.";
/// The CloudEvents version hosts write.
pub const SPEC_VERSION: &str = "1.0";
/// The content type of `data`.
pub const DATA_CONTENT_TYPE: &str = "application/json";

macro_rules! lattice_events {
    ($( $(#[$doc:meta])* $variant:ident($data:ty) = $name:literal, )*) => {
        /// The name of a lattice event, the last token of its subject.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum EventType {
            $( $(#[$doc])* $variant, )*
        }

        impl EventType {
            /// Every event type this crate knows, in declaration order.
            pub const ALL: &[EventType] = &[$(EventType::$variant),*];

            /// The event name as in the subject, e.g. `"component_scaled"`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            /// Looks an event name up; `None` for names this crate does not know.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(EventType::$variant),)*
                    _ => None,
                }
            }
        }

        /// An event's data, decoded according to its type.
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum LatticeEvent {
            $( $(#[$doc])* $variant($data), )*
            /// An event this crate does not know, kept as it came.
            Unknown {
                /// The event name, or the whole `type` if it lacks the wasmCloud prefix.
                event_type: String,
                /// The raw `data`.
                data: Value,
            },
        }

        impl LatticeEvent {
            /// The known type, or `None` for [`LatticeEvent::Unknown`].
            pub fn event_type(&self) -> Option<EventType> {
                match self {
                    $(Self::$variant(_) => Some(EventType::$variant),)*
                    Self::Unknown { .. } => None,
                }
            }

            /// The event name as in the subject.
            pub fn name(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $name,)*
                    Self::Unknown { event_type, .. } => event_type,
                }
            }

            /// Decodes `data` for the event called `name`.
            ///
            /// # Errors
            ///
            /// When `data` does not have the shape the named event has.
            pub fn from_data(name: &str, data: Value) -> Result<Self, serde_json::Error> {
                match EventType::from_name(name) {
                    $(Some(EventType::$variant) => Ok(Self::$variant(serde_json::from_value(data)?)),)*
                    None => Ok(Self::Unknown { event_type: name.to_owned(), data }),
                }
            }

            /// Encodes the event's `data`.
            ///
            /// # Errors
            ///
            /// Never in practice: every data type serialises to a JSON object.
            pub fn to_data(&self) -> Result<Value, serde_json::Error> {
                match self {
                    $(Self::$variant(data) => serde_json::to_value(data),)*
                    Self::Unknown { data, .. } => Ok(data.clone()),
                }
            }
        }
    };
}

lattice_events! {
    /// A host came up.
    HostStarted(HostStarted) = "host_started",
    /// A host shut down.
    HostStopped(HostStopped) = "host_stopped",
    /// A host's periodic inventory.
    HostHeartbeat(HostInventory) = "host_heartbeat",
    /// A component was scaled (0 instances = stopped).
    ComponentScaled(ComponentScaled) = "component_scaled",
    /// A component could not be scaled.
    ComponentScaleFailed(ComponentScaleFailed) = "component_scale_failed",
    /// A provider started.
    ProviderStarted(ProviderStarted) = "provider_started",
    /// A provider could not be started.
    ProviderStartFailed(ProviderStartFailed) = "provider_start_failed",
    /// A provider stopped.
    ProviderStopped(ProviderStopped) = "provider_stopped",
    /// A provider could not be stopped (wash waits for it; hosts do not send it).
    ProviderStopFailed(ProviderStopFailed) = "provider_stop_failed",
    /// A provider turned healthy.
    HealthCheckPassed(HealthCheck) = "health_check_passed",
    /// A provider turned unhealthy.
    HealthCheckFailed(HealthCheck) = "health_check_failed",
    /// A provider's health did not change.
    HealthCheckStatus(HealthCheck) = "health_check_status",
    /// A link was put.
    LinkdefSet(Link) = "linkdef_set",
    /// A link could not be put.
    LinkdefSetFailed(LinkdefSetFailed) = "linkdef_set_failed",
    /// A link was deleted.
    LinkdefDeleted(LinkdefDeleted) = "linkdef_deleted",
    /// A named configuration was put.
    ConfigSet(ConfigChanged) = "config_set",
    /// A named configuration was deleted.
    ConfigDeleted(ConfigChanged) = "config_deleted",
    /// A host's labels changed.
    LabelsChanged(LabelsChanged) = "labels_changed",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A structured-mode CloudEvents 1.0 envelope with undecoded `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudEvent {
    /// `"1.0"`.
    pub specversion: String,
    /// Unique per event (hosts use a UUID).
    pub id: String,
    /// `com.wasmcloud.lattice.{event_name}`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The sending host's ID.
    pub source: String,
    /// RFC 3339 UTC time of the event; optional in CloudEvents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `"application/json"`; optional in CloudEvents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    /// The event's data.
    #[serde(default)]
    pub data: Value,
}

/// A lattice event: who sent it, when, and its typed data.
///
/// Serialises as (and deserialises from) the JSON [`CloudEvent`] hosts publish.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "CloudEvent")]
pub struct Event {
    /// The CloudEvent `id`.
    pub id: String,
    /// The CloudEvent `source`: the host that sent the event.
    pub source: HostId,
    /// The CloudEvent `time` (RFC 3339), if given.
    pub time: Option<String>,
    /// The typed data.
    pub event: LatticeEvent,
}

impl Event {
    /// An event as a host sends it; the host supplies a unique `id` and the
    /// RFC 3339 `time`, so this crate needs no clock or ID generator.
    pub fn new(source: HostId, id: impl Into<String>, time: impl Into<String>, event: LatticeEvent) -> Self {
        Self {
            id: id.into(),
            source,
            time: Some(time.into()),
            event,
        }
    }

    /// The event name as in the subject, e.g. `"host_heartbeat"`.
    pub fn name(&self) -> &str {
        self.event.name()
    }

    /// The envelope with `data` encoded.
    ///
    /// # Errors
    ///
    /// Never in practice; see [`LatticeEvent::to_data`].
    pub fn to_cloud_event(&self) -> Result<CloudEvent, serde_json::Error> {
        let event_type = match &self.event {
            LatticeEvent::Unknown { event_type, .. } if event_type.contains('.') => event_type.clone(),
            event => format!("{EVENT_TYPE_PREFIX}{}", event.name()),
        };
        Ok(CloudEvent {
            specversion: SPEC_VERSION.to_owned(),
            id: self.id.clone(),
            event_type,
            source: self.source.to_string(),
            time: self.time.clone(),
            datacontenttype: Some(DATA_CONTENT_TYPE.to_owned()),
            data: self.event.to_data()?,
        })
    }
}

impl TryFrom<CloudEvent> for Event {
    type Error = serde_json::Error;

    fn try_from(ce: CloudEvent) -> Result<Self, Self::Error> {
        let name = ce.event_type.strip_prefix(EVENT_TYPE_PREFIX).unwrap_or(&ce.event_type);
        let event = LatticeEvent::from_data(name, ce.data)?;
        Ok(Self {
            id: ce.id,
            source: HostId::new(ce.source),
            time: ce.time,
            event,
        })
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_cloud_event()
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

#[cfg(test)]
mod tests;
