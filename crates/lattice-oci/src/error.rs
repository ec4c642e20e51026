//! What can go wrong talking to a registry, in words that name the registry,
//! the reference and the fix. Never a credential.

use oci_client::errors::{OciDistributionError, OciErrorCode};

use crate::ArtifactKind;

/// Why a pull or push failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not an OCI reference.
    #[error(
        "`{reference}` is not an OCI reference ({reason}): write it as registry/repository:tag or registry/repository@sha256:<digest>"
    )]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What the parser objected to.
        reason: String,
    },
    /// The reference names the `latest` tag (or none) and the policy refuses it.
    #[error(
        "`{reference}` names the `latest` tag (or no tag), which can move under a running host: pin a version tag or a digest, or allow it with --allow-latest"
    )]
    LatestRefused {
        /// The reference as given.
        reference: String,
    },
    /// The registry wants credentials this client does not have, or refused the ones given.
    #[error("registry {registry} refused access to `{reference}`: {}", if *.had_credentials {
        "it rejected the credentials given for it; check the user name and password (registry.put, --oci-user/--oci-password, wash's --user/--password, or `docker login`)"
    } else {
        "it requires credentials and none are configured for it; give them with registry.put, --oci-user/--oci-password, wash's --user/--password, or `docker login`"
    })]
    Unauthorized {
        /// The registry host.
        registry: String,
        /// The reference as given.
        reference: String,
        /// Whether credentials were sent.
        had_credentials: bool,
    },
    /// The registry does not have the repository, tag or digest.
    #[error(
        "registry {registry} has no `{reference}`: check the repository and tag, or push it first with `wash push`"
    )]
    NotFound {
        /// The registry host.
        registry: String,
        /// The reference as given.
        reference: String,
    },
    /// No connection to the registry could be made.
    #[error("registry {registry} cannot be reached for `{reference}`: {message}{}", if *.insecure_hint {
        format!("; if it serves plain HTTP, allow that with WASMCLOUD_OCI_ALLOWED_INSECURE={registry} (wash: --insecure)")
    } else {
        String::new()
    })]
    Unreachable {
        /// The registry host.
        registry: String,
        /// The reference as given.
        reference: String,
        /// The innermost cause.
        message: String,
        /// Whether plain HTTP might be what is missing.
        insecure_hint: bool,
    },
    /// The registry did not finish in time.
    #[error(
        "registry {registry} did not finish with `{reference}` within {seconds} s: is it overloaded or unreachable?"
    )]
    Timeout {
        /// The registry host.
        registry: String,
        /// The reference as given.
        reference: String,
        /// The bound.
        seconds: u64,
    },
    /// The artifact is not of the kind asked for.
    #[error("`{reference}` is not a {want}: its layers are {found}; push a {want} there with `wash push`")]
    WrongKind {
        /// The reference as given.
        reference: String,
        /// What was asked for.
        want: ArtifactKind,
        /// The media types found.
        found: String,
    },
    /// The artifact is larger than the caller's bound.
    #[error("`{reference}` is {size} bytes, more than the maximum of {max} bytes this host loads")]
    TooLarge {
        /// The reference as given.
        reference: String,
        /// Its size as the manifest states it, or as far as it was read.
        size: u64,
        /// The bound.
        max: u64,
    },
    /// What arrived does not hash to the digest it was asked for by.
    #[error(
        "the content registry {registry} sent for `{reference}` does not match its digest (expected {expected}, got {actual}): the registry's copy is corrupt or was altered; push it again"
    )]
    DigestMismatch {
        /// The registry host.
        registry: String,
        /// The reference as given.
        reference: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// The bytes to push are neither a component nor a provider archive.
    #[error("{0}")]
    NotAnArtifact(String),
    /// Any other answer of the registry.
    #[error("registry {registry} failed on `{reference}`: {message}")]
    Registry {
        /// The registry host.
        registry: String,
        /// The reference as given.
        reference: String,
        /// What it said.
        message: String,
    },
    /// The local cache cannot be used.
    #[error("cannot use the OCI cache at {path}: {message}")]
    Cache {
        /// The cache directory.
        path: String,
        /// Why.
        message: String,
    },
    /// An extra root certificate file cannot be used.
    #[error("cannot use the root certificates in {path}: {message}; give a PEM file of CA certificates")]
    Certificate {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// Where an operation was headed, for turning the client's errors into ours.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    pub(crate) registry: &'a str,
    pub(crate) reference: &'a str,
    pub(crate) had_credentials: bool,
    pub(crate) insecure: bool,
    /// The bound on the whole operation, for a timeout's message.
    pub(crate) seconds: u64,
}

impl Target<'_> {
    pub(crate) fn timeout(&self, seconds: u64) -> Error {
        Error::Timeout {
            registry: self.registry.to_owned(),
            reference: self.reference.to_owned(),
            seconds,
        }
    }

    pub(crate) fn not_found(&self) -> Error {
        Error::NotFound {
            registry: self.registry.to_owned(),
            reference: self.reference.to_owned(),
        }
    }

    pub(crate) fn mismatch(&self, expected: &str, actual: &str) -> Error {
        Error::DigestMismatch {
            registry: self.registry.to_owned(),
            reference: self.reference.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        }
    }

    pub(crate) fn registry(&self, message: impl Into<String>) -> Error {
        Error::Registry {
            registry: self.registry.to_owned(),
            reference: self.reference.to_owned(),
            message: message.into(),
        }
    }

    fn unauthorized(&self) -> Error {
        Error::Unauthorized {
            registry: self.registry.to_owned(),
            reference: self.reference.to_owned(),
            had_credentials: self.had_credentials,
        }
    }

    /// Our error for one of the client's.
    pub(crate) fn classify(&self, error: OciDistributionError) -> Error {
        match error {
            OciDistributionError::AuthenticationFailure(_) | OciDistributionError::UnauthorizedError { .. } => {
                self.unauthorized()
            }
            OciDistributionError::ImageManifestNotFoundError(_) => self.not_found(),
            OciDistributionError::ServerError { code: 401 | 403, .. } => self.unauthorized(),
            OciDistributionError::ServerError { code: 404, .. } => self.not_found(),
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    self.unauthorized()
                } else if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::BlobUnknown
                            | OciErrorCode::NotFound
                    )
                }) {
                    self.not_found()
                } else {
                    let text: Vec<String> = envelope.errors.iter().map(|e| e.message.clone()).collect();
                    self.registry(text.join("; "))
                }
            }
            OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
                expected,
                actual,
            }) => self.mismatch(&expected, &actual),
            OciDistributionError::RequestError(e) if e.is_connect() || e.is_request() => Error::Unreachable {
                registry: self.registry.to_owned(),
                reference: self.reference.to_owned(),
                message: innermost(&e),
                insecure_hint: !self.insecure,
            },
            OciDistributionError::RequestError(e) if e.is_timeout() => self.timeout(self.seconds),
            other => self.registry(innermost(&other)),
        }
    }
}

/// The deepest cause of an error: "connection refused" rather than "error sending request".
pub(crate) fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
