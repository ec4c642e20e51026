//! [`CtlError`]: why a control request was refused. Its text is the reply's `message`, so the
//! wording is part of the wire (upstream's where upstream has one) and is pinned by tests.

use lattice_control_interface::{ComponentId, ConfigName, UNSUPPORTED_SUBJECT};

use crate::labels::ReservedLabel;
use crate::store::StoreError;

/// A control request the host refuses, and why.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CtlError {
    /// No operation answers to the subject.
    #[error("{UNSUPPORTED_SUBJECT}")]
    UnsupportedSubject,
    /// The payload is not the request the subject expects.
    #[error("cannot decode the {what} request: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// An id that cannot be used in subjects and bucket keys.
    #[error("{kind} id `{id}` is not usable: use letters, digits, `-` and `_`")]
    InvalidId { kind: &'static str, id: String },
    /// The host is shutting down and takes no new work.
    #[error("host is stopping: {what} on another host")]
    Stopping { what: &'static str },
    /// `component.update` of a component that does not run here.
    #[error("component {0} not found")]
    ComponentNotFound(ComponentId),
    /// A config name reserved for secret references.
    #[error(
        "config name {0} is reserved for secret references, which this host does not support yet: choose a name not starting with SECRET"
    )]
    SecretConfigName(ConfigName),
    /// A label key of the `hostcore.` namespace.
    #[error(transparent)]
    ReservedLabel(#[from] ReservedLabel),
    /// A provider reference this host cannot start.
    #[error("{0}")]
    UnsupportedProvider(String),
    /// `provider.start` for an id that runs (or is starting) here.
    #[error("provider with that ID is already running")]
    ProviderRunning,
    /// `provider.stop` for an id that does not run here.
    #[error("provider with that ID is not running")]
    ProviderNotRunning,
    /// A link that cannot be stored; the text says why.
    #[error("{0}")]
    InvalidLink(String),
    /// The lattice buckets failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A handler panicked; the log has the details.
    #[error("the host failed to handle this request; see its log")]
    Panicked,
}
