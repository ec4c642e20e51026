//! The crate's error type: an [`ErrorKind`] callers branch on, plus an optional third-party source.

use std::fmt;

use nkeys::KeyPairType;

use crate::time::format_utc;

/// Boxed third-party error kept as [`std::error::Error::source`] and never exposed in a kind.
type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error from encoding, decoding, validating, embedding or extracting claims.
///
/// Branch on [`Error::kind`]; the underlying parser or crypto error, when there is one, is
/// available through [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct Error {
    kind: ErrorKind,
    #[source]
    source: Option<Source>,
}

impl Error {
    /// Creates an error of the given kind without an underlying cause.
    #[must_use]
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// Creates an error of the given kind caused by `source`.
    #[must_use]
    pub fn with_source(kind: ErrorKind, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            kind,
            source: Some(Box::new(source)),
        }
    }

    /// What went wrong, for callers that need to react differently to different failures.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Consumes the error and returns its kind.
    #[must_use]
    pub fn into_kind(self) -> ErrorKind {
        self.kind
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

/// Which key of a token an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// The `iss` claim: the key that signed the token.
    Issuer,
    /// The `sub` claim: the entity the token is about.
    Subject,
}

impl fmt::Display for KeyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyRole::Issuer => "issuer",
            KeyRole::Subject => "subject",
        })
    }
}

/// A human name for a key type, with the prefix its public keys start with.
pub(crate) fn key_type_name(kind: &KeyPairType) -> &'static str {
    match kind {
        KeyPairType::Server => "server (N…)",
        KeyPairType::Cluster => "cluster (C…)",
        KeyPairType::Operator => "operator (O…)",
        KeyPairType::Account => "account (A…)",
        KeyPairType::User => "user (U…)",
        KeyPairType::Module => "module (M…)",
        KeyPairType::Service => "service (V…)",
        KeyPairType::Curve => "curve (X…)",
    }
}

/// Wraps [`key_type_name`] so it can be used in `#[error]` format strings.
struct KeyTypeName<'a>(&'a KeyPairType);

impl fmt::Display for KeyTypeName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(key_type_name(self.0))
    }
}

/// Wraps a Unix timestamp so `#[error]` format strings print it as a UTC date.
struct Utc(u64);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_utc(self.0))
    }
}

/// The kinds of failure callers can branch on.
///
/// New kinds may be added in minor releases, so matches need a wildcard arm.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The token is not three base64url segments of JSON separated by dots.
    #[error("invalid token format: {detail}; a wascap token is three base64url (unpadded) segments separated by dots")]
    InvalidTokenFormat {
        /// Which part of the token was wrong.
        detail: String,
    },
    /// The header names an algorithm other than `Ed25519`.
    #[error("unsupported token algorithm `{found}`; wascap tokens are signed with `Ed25519`")]
    InvalidAlgorithm {
        /// The `alg` the header carried.
        found: String,
    },
    /// The header names a type other than `jwt`.
    #[error("unsupported token type `{found}`; wascap tokens have type `jwt`")]
    InvalidTokenType {
        /// The `typ` the header carried.
        found: String,
    },
    /// The signature does not match the header and claims for the issuer's key.
    #[error("the token signature is not valid: it was altered or not signed by its issuer; sign it again")]
    InvalidSignature,
    /// The `iss` claim is empty.
    #[error("the token has no issuer (`iss`)")]
    MissingIssuer,
    /// The `sub` claim is empty.
    #[error("the token has no subject (`sub`)")]
    MissingSubject,
    /// The token carries no `wascap` metadata where it is required.
    #[error("the token has no `wascap` metadata; sign it again with `wash claims sign`")]
    MissingMetadata,
    /// A key in the token is not a valid nkeys public key.
    #[error("the {role} `{key}` is not a valid nkeys public key")]
    InvalidKey {
        /// Which claim holds the key.
        role: KeyRole,
        /// The text that was found instead of a key.
        key: String,
    },
    /// A key is valid but of the wrong type for this kind of claims.
    #[error(
        "the {role} is a {} key, but these claims need a {} key",
        KeyTypeName(found),
        KeyTypeName(expected)
    )]
    WrongKeyType {
        /// Which key was wrong.
        role: KeyRole,
        /// The type this kind of claims requires.
        expected: KeyPairType,
        /// The type that was found.
        found: KeyPairType,
    },
    /// The key pair given to sign with is not the key named as the claims' issuer.
    #[error(
        "the signing key `{signer}` is not the claims issuer `{issuer}`; sign with the issuer's seed or set the issuer to the signing key"
    )]
    IssuerMismatch {
        /// The `iss` in the claims.
        issuer: String,
        /// The public key of the key pair that was asked to sign.
        signer: String,
    },
    /// The key pair given to sign with has only a public key.
    #[error("the signing key has no seed, so it cannot sign; load it from its seed (`S…`)")]
    MissingSeed,
    /// The claims could not be serialized to JSON.
    #[error("the claims could not be serialized to JSON")]
    Serialization,
    /// The token's `exp` is in the past.
    #[error("the token expired at {}; sign it again with a later expiry", Utc(*at))]
    Expired {
        /// The `exp` claim, in seconds since the Unix epoch.
        at: u64,
    },
    /// The token's `nbf` is in the future.
    #[error("the token cannot be used before {}", Utc(*from))]
    NotYetValid {
        /// The `nbf` claim, in seconds since the Unix epoch.
        from: u64,
    },
    /// The module hash in the claims does not match the binary.
    #[error(
        "the component was modified after it was signed (claims hash {expected}, actual {actual}); sign it again with `wash claims sign`"
    )]
    InvalidModuleHash {
        /// The hash recorded in the claims.
        expected: String,
        /// The hash of the binary as it is now.
        actual: String,
    },
    /// The input does not start with the WebAssembly magic number.
    #[error("the input is not a WebAssembly module or component (no `\\0asm` header)")]
    NotWasm,
    /// The input starts like WebAssembly but is truncated or malformed.
    #[error("the WebAssembly binary is malformed at byte offset {offset}; rebuild it")]
    InvalidWasm {
        /// Where in the outer binary parsing failed.
        offset: usize,
    },
    /// Components are nested deeper than this crate is willing to recurse.
    #[error("the WebAssembly binary nests components more than {limit} levels deep")]
    NestingTooDeep {
        /// The deepest nesting that is accepted.
        limit: usize,
    },
    /// The binary has more than one claims section at top level.
    #[error(
        "the binary has more than one claims section (`wasmcloud_jwt` or `jwt`); sign it again with `wash claims sign`, which replaces them all"
    )]
    DuplicateClaimsSection,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_without_trailing_period() {
        let kinds = [
            ErrorKind::InvalidTokenFormat {
                detail: "expected 3 segments, found 1".into(),
            },
            ErrorKind::InvalidAlgorithm { found: "HS256".into() },
            ErrorKind::InvalidSignature,
            ErrorKind::WrongKeyType {
                role: KeyRole::Issuer,
                expected: KeyPairType::Account,
                found: KeyPairType::Operator,
            },
            ErrorKind::Expired { at: 0 },
            ErrorKind::NotYetValid { from: 86_400 },
            ErrorKind::NotWasm,
            ErrorKind::DuplicateClaimsSection,
        ];
        for kind in kinds {
            let msg = Error::new(kind).to_string();
            let first = msg.chars().next().unwrap();
            assert!(!first.is_uppercase(), "{msg}");
            assert!(!msg.ends_with('.'), "{msg}");
        }
    }

    #[test]
    fn time_kinds_name_the_time() {
        let msg = ErrorKind::Expired { at: 86_400 }.to_string();
        assert!(msg.contains("1970-01-02 00:00:00 UTC"), "{msg}");
        let msg = ErrorKind::NotYetValid { from: 0 }.to_string();
        assert!(msg.contains("1970-01-01 00:00:00 UTC"), "{msg}");
    }

    #[test]
    fn wrong_key_type_names_both_types() {
        let msg = ErrorKind::WrongKeyType {
            role: KeyRole::Subject,
            expected: KeyPairType::Module,
            found: KeyPairType::Service,
        }
        .to_string();
        assert_eq!(
            msg,
            "the subject is a service (V…) key, but these claims need a module (M…) key"
        );
    }

    #[test]
    fn source_is_kept() {
        use std::error::Error as _;
        let inner = std::io::Error::other("boom");
        let err = Error::with_source(ErrorKind::InvalidWasm { offset: 3 }, inner);
        assert_eq!(err.source().unwrap().to_string(), "boom");
        assert_eq!(err.kind(), &ErrorKind::InvalidWasm { offset: 3 });
    }
}
