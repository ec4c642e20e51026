//! The runtime's error type: one struct with a `#[non_exhaustive]` kind that
//! callers branch on (the host maps kinds to HTTP statuses and ctl messages),
//! and the underlying wasmtime/wascap/io error kept as `source()`.

use std::fmt;

/// Errors from building the runtime, loading components and running them.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// What went wrong, for callers that branch on it.
///
/// The `Display` of [`Error`] is the kind's message; details of the cause are
/// in [`std::error::Error::source`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The wasmtime engine could not be created with the requested settings.
    Engine,
    /// The component is larger than the configured maximum.
    ComponentTooLarge {
        /// Size of the rejected bytes.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The bytes are a core WebAssembly module, not a component.
    CoreModule,
    /// The bytes are neither a valid component nor a valid module.
    InvalidComponent,
    /// The embedded claims carry a signature that does not verify.
    ClaimsInvalidSignature,
    /// The embedded claims have expired.
    ClaimsExpired,
    /// The embedded claims are not valid yet.
    ClaimsNotYetValid,
    /// The component's bytes do not match the hash its claims were signed over.
    ClaimsHashMismatch,
    /// The embedded claims are malformed in some other way.
    ClaimsInvalid,
    /// The runtime requires signed components and this one carries no claims.
    Unsigned,
    /// The claims are of a `wascap_revision` below 3, which carries no
    /// module hash: any binary could carry them. Refused unless legacy
    /// claims are allowed.
    ClaimsLegacyRevision {
        /// The token's revision (0 when it has none).
        revision: u32,
    },
    /// The claims were issued by an account that is not on the runtime's
    /// allow-list.
    IssuerNotAllowed {
        /// The issuer's account public key (`A…`).
        issuer: String,
    },
    /// Reading or writing the compiled-component cache failed.
    Cache,
    /// The compile cache directory (or its key file) cannot be trusted: it
    /// is a symbolic link, owned by another user, or writable by others.
    CacheDirRefused {
        /// The directory or file refused.
        path: std::path::PathBuf,
        /// Why, and what to do about it.
        reason: String,
    },
    /// Linking the component's imports or instantiating it failed.
    Instantiation,
    /// The component does not export the interface the caller invoked.
    MissingExport {
        /// The interface that is not exported, e.g. `wasi:http/incoming-handler`.
        interface: String,
    },
    /// The guest called an import that no built-in serves and no link provides.
    MissingLink {
        /// The link name the guest used (`default` unless it chose another).
        link_name: String,
        /// The imported interface, without version, e.g. `wasi:blobstore/blobstore`.
        interface: String,
        /// The function the guest called.
        function: String,
    },
    /// A call the guest made over a link failed: its target did not answer, went away, or
    /// failed the call.
    LinkFailed {
        /// What went wrong, naming the target.
        message: String,
    },
    /// The guest ran past its execution deadline and was stopped.
    DeadlineExceeded,
    /// The guest tried to grow its linear memory past the configured cap.
    MemoryLimitExceeded,
    /// The guest tried to grow a table past the cap on table elements
    /// ([`crate::Limits::max_table_elements`]).
    TableLimitExceeded,
    /// The guest tried to hold more host resources (streams, pollables,
    /// buckets, …) at once than [`crate::Limits::max_resource_entries`].
    ResourceLimitExceeded,
    /// The guest trapped (panicked, hit `unreachable`, divided by zero, …).
    Trap,
    /// The guest returned without producing a response.
    NoResponse,
    /// The guest answered with a `wasi:http` error code instead of a response.
    ErrorResponse,
    /// The request given to the component was not usable (e.g. no authority, parameters
    /// that do not decode).
    InvalidRequest,
    /// The component was stopped while the invocation waited to run.
    Stopped,
    /// The embedder's [`crate::Admission`] refused the invocation (the host's policy).
    Denied {
        /// Why, as the policy said it.
        reason: String,
    },
    /// The invocation's results could not be sent back to the caller.
    Transport,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Engine => f.write_str("cannot create the wasmtime engine"),
            Self::ComponentTooLarge { size, max } => write!(
                f,
                "component is {size} bytes, more than the maximum of {max}: raise the maximum component size"
            ),
            Self::CoreModule => f.write_str(
                "this is a core wasm module, not a component: build for wasm32-wasip2 or convert it with `wasm-tools component new`",
            ),
            Self::InvalidComponent => f.write_str("not a valid wasm component"),
            Self::ClaimsInvalidSignature => {
                f.write_str("component claims signature is not valid: re-sign the component")
            }
            Self::ClaimsExpired => {
                f.write_str("component claims have expired: re-sign with a later expiry")
            }
            Self::ClaimsNotYetValid => {
                f.write_str("component claims are not valid yet: wait for their not-before time")
            }
            Self::ClaimsHashMismatch => f.write_str(
                "component bytes do not match the hash in its claims: it was modified after signing, re-sign it",
            ),
            Self::ClaimsInvalid => f.write_str("component claims are invalid"),
            Self::Unsigned => f.write_str(
                "component is not signed and this runtime requires signed components: sign it with `wash claims sign`",
            ),
            Self::ClaimsLegacyRevision { revision } => write!(
                f,
                "component claims are of wascap revision {revision}, which does not bind them to the component's bytes: re-sign it with `wash claims sign`, or allow legacy claims on this host"
            ),
            Self::IssuerNotAllowed { issuer } => write!(
                f,
                "component is signed by account {issuer}, which this host does not trust: sign it with an allowed account key, or add the issuer to the allowed issuers"
            ),
            Self::Cache => f.write_str("compiled-component cache failed"),
            Self::CacheDirRefused { path, reason } => {
                write!(f, "refusing the compile cache at {}: {reason}", path.display())
            }
            Self::Instantiation => f.write_str("cannot instantiate the component"),
            Self::MissingExport { interface } => {
                write!(f, "component does not export `{interface}`")
            }
            Self::MissingLink {
                link_name,
                interface,
                function,
            } => write!(
                f,
                "component called `{interface}#{function}` but no link named `{link_name}` provides `{interface}`: link the component to a provider or component that exports it"
            ),
            Self::LinkFailed { message } => write!(f, "a call over a link failed: {message}"),
            Self::DeadlineExceeded => {
                f.write_str("component exceeded its execution deadline and was stopped")
            }
            Self::MemoryLimitExceeded => f.write_str(
                "component tried to grow its memory past the cap: raise the max linear memory",
            ),
            Self::TableLimitExceeded => f.write_str(
                "component tried to grow a table past the cap on table elements: raise the max table elements",
            ),
            Self::ResourceLimitExceeded => f.write_str(
                "component tried to hold more host resources (streams, pollables, sockets, …) at once than the cap allows: drop resources it no longer needs, or raise the max resource entries",
            ),
            Self::Trap => f.write_str("component trapped"),
            Self::NoResponse => f.write_str("component returned without setting a response"),
            Self::ErrorResponse => f.write_str("component answered with an error instead of a response"),
            Self::InvalidRequest => f.write_str("request cannot be passed to the component"),
            Self::Stopped => f.write_str("component was stopped: start it again or call another host"),
            Self::Denied { reason } => f.write_str(reason),
            Self::Transport => f.write_str("cannot send the results back to the caller"),
        }
    }
}

impl Error {
    /// An error of `kind` without an underlying cause.
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// An error of `kind` caused by a standard error.
    pub(crate) fn with_source(
        kind: ErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            kind,
            source: Some(source.into()),
        }
    }

    /// An error of `kind` caused by a wasmtime error (which is not itself a
    /// `std::error::Error`, like `anyhow::Error`).
    pub(crate) fn wasmtime(kind: ErrorKind, source: wasmtime::Error) -> Self {
        Self {
            kind,
            source: Some(source.into_boxed_dyn_error()),
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

/// Shorthand for results with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_without_trailing_period() {
        let kinds = [
            ErrorKind::Engine,
            ErrorKind::ComponentTooLarge { size: 2, max: 1 },
            ErrorKind::CoreModule,
            ErrorKind::ClaimsExpired,
            ErrorKind::ClaimsLegacyRevision { revision: 2 },
            ErrorKind::IssuerNotAllowed { issuer: "AXYZ".into() },
            ErrorKind::CacheDirRefused {
                path: "/x".into(),
                reason: "it is a symbolic link".into(),
            },
            ErrorKind::MissingLink {
                link_name: "default".into(),
                interface: "wasi:keyvalue/store".into(),
                function: "open".into(),
            },
            ErrorKind::DeadlineExceeded,
            ErrorKind::LinkFailed {
                message: "nothing answers".into(),
            },
            ErrorKind::Stopped,
            ErrorKind::Transport,
        ];
        for kind in kinds {
            let msg = kind.to_string();
            assert!(!msg.ends_with('.'), "{msg}");
            assert_eq!(msg[..1], msg[..1].to_lowercase(), "{msg}");
        }
    }

    #[test]
    fn missing_link_names_the_interface() {
        let err = Error::new(ErrorKind::MissingLink {
            link_name: "cache".into(),
            interface: "wasi:keyvalue/store".into(),
            function: "open".into(),
        });
        assert!(
            err.to_string()
                .contains("no link named `cache` provides `wasi:keyvalue/store`")
        );
    }

    #[test]
    fn source_is_kept() {
        let err = Error::wasmtime(ErrorKind::Trap, wasmtime::format_err!("boom"));
        let source = std::error::Error::source(&err).expect("has a source");
        assert_eq!(source.to_string(), "boom");
    }
}
