//! The SDK's errors: [`ProviderError`] for start-up and wRPC set-up, with a
//! `#[non_exhaustive]` [`ErrorKind`] callers branch on, and [`HookError`], what a provider's
//! hook returns when it refuses a link or a config.

use std::time::Duration;

/// Why a provider could not start, or could not prepare a wRPC client or server.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct ProviderError {
    kind: ErrorKind,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ProviderError {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// Keeps a third-party error as the `source()`.
    pub(crate) fn with_source(kind: ErrorKind, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// The provider's exports could not be served: NATS refused the subscription of
    /// `interface`'s functions (what `serve_interface` returns as an error).
    pub fn serve(interface: &str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::with_source(ErrorKind::Serve(interface.to_owned()), source)
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

/// The kinds of [`ProviderError`].
///
/// New kinds may be added in minor releases, so matches need a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Nothing arrived on stdin in time: the process was not started by a host.
    #[error(
        "no host data on stdin within {}s: a provider is started by a wasmCloud host \
         (wash start provider), which writes its host data there",
        .0.as_secs()
    )]
    NoHostData(Duration),
    /// Stdin held something that is not host data (the source says what).
    #[error("cannot read the host data on stdin; a provider is started by a wasmCloud host")]
    InvalidHostData,
    /// The host data carries a key that does not parse (the source says why).
    #[error("invalid {0} in the host data; restart the provider from its host")]
    InvalidKey(&'static str),
    /// The lattice's NATS server refused or did not answer (the source says how).
    #[error("cannot connect to the lattice at {0}; check that NATS runs there and the host's credentials")]
    Connect(String),
    /// NATS refused a subscription.
    #[error("cannot subscribe to `{0}`")]
    Subscribe(String),
    /// A wRPC client or server on this subject prefix (`{lattice}.{id}`) could not be
    /// prepared: its inbox subscription failed.
    #[error("cannot prepare wRPC on `{0}`")]
    Wrpc(String),
    /// The provider's `init` hook refused to start (the source says why).
    #[error("the provider could not start")]
    Init,
    /// An interface's functions could not be served.
    #[error("cannot serve `{0}` over wRPC")]
    Serve(String),
}

/// A hook's refusal: the SDK logs it with the link or config it concerned and carries on.
/// A link whose hook fails is not recorded as applied, so the same put is tried again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HookError(String);

impl HookError {
    /// A refusal with this message (lowercase, naming the fix where there is one).
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The `init` hook could not serve `interface`: NATS refused the subscription of its
    /// functions (what `serve_interface` returns as an error).
    pub fn serve(interface: &str, error: impl std::fmt::Display) -> Self {
        Self(format!("cannot serve {interface}: {error}"))
    }
}

impl From<String> for HookError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for HookError {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_name_the_fix() {
        let err = ProviderError::new(ErrorKind::NoHostData(Duration::from_secs(5)));
        assert_eq!(
            err.to_string(),
            "no host data on stdin within 5s: a provider is started by a wasmCloud host \
             (wash start provider), which writes its host data there"
        );
        let err = ProviderError::with_source(
            ErrorKind::Connect("nats://127.0.0.1:1".into()),
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        );
        assert_eq!(
            err.to_string(),
            "cannot connect to the lattice at nats://127.0.0.1:1; check that NATS runs there and the host's credentials"
        );
        assert!(std::error::Error::source(&err).is_some());
        assert!(matches!(err.kind(), ErrorKind::Connect { .. }));
    }
}
