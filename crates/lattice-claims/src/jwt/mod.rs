//! Claims as Ed25519-signed JWTs: encoding, decoding with key-type and signature checks, and validation.
//!
//! A token is `base64url(header).base64url(claims).base64url(signature)`, unpadded, where the
//! header is always `{"typ":"jwt","alg":"Ed25519"}` and the signature is made by the nkeys
//! key named in `iss` over the ASCII of the first two segments.

mod entities;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use nkeys::{KeyPair, KeyPairType};
use serde::{Deserialize, Serialize};

pub use self::entities::{Account, CapabilityProvider, Cluster, Component, Host, Operator, WascapEntity};
use crate::Result;
use crate::error::{Error, ErrorKind, KeyRole};
use crate::time::{add_secs, now_secs, relative_human};

/// The claims revision this crate writes; module hashes are enforced from this revision on.
pub const WASCAP_REVISION: u32 = 3;

/// Tokens at or above this revision must carry a module hash that matches the binary.
pub(crate) const MIN_HASH_REVISION: u32 = 3;

const HEADER_TYPE: &str = "jwt";
const HEADER_ALGORITHM: &str = "Ed25519";

/// A set of JWT claims with `wascap` metadata of type `T`.
///
/// Times are seconds since the Unix epoch. Unset optional fields are omitted from the JSON,
/// and unknown fields (such as the legacy `caps`) are ignored when decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims<T> {
    /// `exp`: when the token stops being valid; `None` never expires.
    #[serde(rename = "exp", skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// `jti`: a unique token id (a nuid).
    #[serde(rename = "jti")]
    pub id: String,
    /// `iat`: when the token was issued.
    #[serde(rename = "iat")]
    pub issued_at: u64,
    /// `iss`: the public key that signed the token.
    // Defaulted so a token without `iss` reports MissingIssuer rather than a JSON error.
    #[serde(rename = "iss", default)]
    pub issuer: String,
    /// `sub`: the public key of the entity the token describes.
    #[serde(rename = "sub", default)]
    pub subject: String,
    /// `nbf`: when the token starts being valid; `None` is valid immediately.
    #[serde(rename = "nbf", skip_serializing_if = "Option::is_none")]
    pub not_before: Option<u64>,
    /// `wascap`: the entity metadata.
    #[serde(rename = "wascap", skip_serializing_if = "Option::is_none")]
    pub metadata: Option<T>,
    /// `wascap_revision`: the claims format revision; see [`WASCAP_REVISION`].
    #[serde(rename = "wascap_revision", skip_serializing_if = "Option::is_none")]
    pub wascap_revision: Option<u32>,
}

/// A token as found (e.g. in a wasm binary), with the claims decoded from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token<T> {
    /// The raw JWT.
    pub jwt: String,
    /// The decoded claims.
    pub claims: Claims<T>,
}

/// The result of [`validate_token`]: what holds for a structurally valid token right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenValidation {
    /// The signature verifies against the issuer's key; reject the token when false.
    pub signature_valid: bool,
    /// `exp` is in the past; reject the token when true.
    pub expired: bool,
    /// `nbf` is in the future; reject the token when true.
    pub cannot_use_yet: bool,
    /// When the token expires, relative to now (e.g. "in 3 days"), or "never".
    pub expires_human: String,
    /// When the token becomes valid, relative to now (e.g. "2 hours ago"), or "immediately".
    pub not_before_human: String,
}

impl Default for TokenValidation {
    fn default() -> Self {
        Self {
            signature_valid: false,
            expired: false,
            cannot_use_yet: false,
            expires_human: "never".to_string(),
            not_before_human: "immediately".to_string(),
        }
    }
}

impl<T> Claims<T> {
    /// New claims issued now with a fresh `jti`, the current revision and no time limits.
    #[must_use]
    pub fn new(issuer: String, subject: String, metadata: T) -> Self {
        Self {
            expires: None,
            id: nuid::next().to_string(),
            issued_at: now_secs(),
            issuer,
            subject,
            not_before: None,
            metadata: Some(metadata),
            wascap_revision: Some(WASCAP_REVISION),
        }
    }

    /// Sets `exp` to now plus `duration`.
    #[must_use]
    pub fn with_expires_in(mut self, duration: std::time::Duration) -> Self {
        self.expires = Some(add_secs(now_secs(), duration));
        self
    }

    /// Sets `nbf` to now plus `duration`.
    #[must_use]
    pub fn with_not_before_in(mut self, duration: std::time::Duration) -> Self {
        self.not_before = Some(add_secs(now_secs(), duration));
        self
    }

    /// Checks `exp` and `nbf` against `now` (seconds since the epoch).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Expired`] when `exp` is before `now`, [`ErrorKind::NotYetValid`] when
    /// `nbf` is after `now`.
    pub fn check_times(&self, now: u64) -> Result<()> {
        if let Some(at) = self.expires
            && at < now
        {
            return Err(ErrorKind::Expired { at }.into());
        }
        if let Some(from) = self.not_before
            && from > now
        {
            return Err(ErrorKind::NotYetValid { from }.into());
        }
        Ok(())
    }
}

impl<T: WascapEntity> Claims<T> {
    /// The metadata's display name, or `Anonymous` when there is no metadata.
    #[must_use]
    pub fn name(&self) -> String {
        self.metadata
            .as_ref()
            .map_or_else(|| "Anonymous".to_string(), WascapEntity::name)
    }

    /// Signs the claims with `issuer` and returns the JWT.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::WrongKeyType`] if `issuer` is not of [`WascapEntity::issuer_kind`] or the
    ///   subject is not of [`WascapEntity::subject_kind`];
    /// - [`ErrorKind::IssuerMismatch`] if `issuer`'s public key is not `self.issuer`;
    /// - [`ErrorKind::MissingIssuer`], [`ErrorKind::MissingSubject`], [`ErrorKind::InvalidKey`]
    ///   for empty or malformed keys;
    /// - [`ErrorKind::MissingSeed`] if `issuer` holds only a public key.
    pub fn encode(&self, issuer: &KeyPair) -> Result<String> {
        let signer_kind = issuer.key_pair_type();
        if signer_kind != T::issuer_kind() {
            return Err(ErrorKind::WrongKeyType {
                role: KeyRole::Issuer,
                expected: T::issuer_kind(),
                found: signer_kind,
            }
            .into());
        }
        self.check_keys()?;
        let signer = issuer.public_key();
        if signer != self.issuer {
            return Err(ErrorKind::IssuerMismatch {
                issuer: self.issuer.clone(),
                signer,
            }
            .into());
        }
        let claims_json = serde_json::to_vec(self).map_err(|e| Error::with_source(ErrorKind::Serialization, e))?;
        let header_json = format!(r#"{{"typ":"{HEADER_TYPE}","alg":"{HEADER_ALGORITHM}"}}"#);
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header_json),
            URL_SAFE_NO_PAD.encode(claims_json)
        );
        let signature = issuer
            .sign(signing_input.as_bytes())
            .map_err(|e| Error::with_source(ErrorKind::MissingSeed, e))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// Decodes a JWT, checking its format, header, key types and signature (but not its times:
    /// see [`Claims::check_times`] and [`validate_token`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidTokenFormat`], [`ErrorKind::InvalidAlgorithm`],
    /// [`ErrorKind::InvalidTokenType`], [`ErrorKind::MissingIssuer`],
    /// [`ErrorKind::MissingSubject`], [`ErrorKind::InvalidKey`], [`ErrorKind::WrongKeyType`] or
    /// [`ErrorKind::InvalidSignature`].
    pub fn decode(token: &str) -> Result<Claims<T>> {
        let parsed = Parsed::<T>::parse(token)?;
        parsed.verify()?;
        Ok(parsed.claims)
    }

    /// Checks that `iss` and `sub` are present, valid public keys of the right types, and
    /// returns the issuer's (public) key pair.
    fn check_keys(&self) -> Result<KeyPair> {
        if self.issuer.is_empty() {
            return Err(ErrorKind::MissingIssuer.into());
        }
        if self.subject.is_empty() {
            return Err(ErrorKind::MissingSubject.into());
        }
        let issuer = check_key(&self.issuer, KeyRole::Issuer, T::issuer_kind())?;
        check_key(&self.subject, KeyRole::Subject, T::subject_kind())?;
        Ok(issuer)
    }
}

/// Parses `key` as a public key and checks it is of type `expected`.
fn check_key(key: &str, role: KeyRole, expected: KeyPairType) -> Result<KeyPair> {
    let kp = KeyPair::from_public_key(key).map_err(|e| {
        Error::with_source(
            ErrorKind::InvalidKey {
                role,
                key: key.to_string(),
            },
            e,
        )
    })?;
    let found = kp.key_pair_type();
    if found != expected {
        return Err(ErrorKind::WrongKeyType { role, expected, found }.into());
    }
    Ok(kp)
}

/// The JWT header; fields default so a missing one is reported as a wrong value.
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    typ: String,
    #[serde(default)]
    alg: String,
}

/// A token split and decoded, with its structure checked but its signature not yet verified.
struct Parsed<'a, T> {
    claims: Claims<T>,
    issuer: KeyPair,
    signing_input: &'a str,
    signature: Vec<u8>,
}

fn format_error(detail: impl Into<String>) -> Error {
    ErrorKind::InvalidTokenFormat { detail: detail.into() }.into()
}

fn format_error_with(detail: &str, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::with_source(
        ErrorKind::InvalidTokenFormat {
            detail: detail.to_string(),
        },
        source,
    )
}

impl<'a, T: WascapEntity> Parsed<'a, T> {
    fn parse(token: &'a str) -> Result<Self> {
        let mut segments = token.split('.');
        let (Some(header_seg), Some(claims_seg), Some(signature_seg), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            let found = token.split('.').count();
            return Err(format_error(format!("expected 3 segments, found {found}")));
        };

        let header_bytes = URL_SAFE_NO_PAD
            .decode(header_seg)
            .map_err(|e| format_error_with("the header is not base64url", e))?;
        let header: Header = serde_json::from_slice(&header_bytes)
            .map_err(|e| format_error_with("the header is not a JSON object", e))?;
        if header.alg != HEADER_ALGORITHM {
            return Err(ErrorKind::InvalidAlgorithm { found: header.alg }.into());
        }
        if header.typ != HEADER_TYPE {
            return Err(ErrorKind::InvalidTokenType { found: header.typ }.into());
        }

        let claims_bytes = URL_SAFE_NO_PAD
            .decode(claims_seg)
            .map_err(|e| format_error_with("the claims are not base64url", e))?;
        let claims: Claims<T> = serde_json::from_slice(&claims_bytes)
            .map_err(|e| format_error_with("the claims are not valid JSON for this entity", e))?;
        let issuer = claims.check_keys()?;

        let signature = URL_SAFE_NO_PAD
            .decode(signature_seg)
            .map_err(|e| format_error_with("the signature is not base64url", e))?;
        // The signed bytes are exactly the first two segments and the dot between them.
        let signing_input = token
            .get(..header_seg.len() + 1 + claims_seg.len())
            .ok_or_else(|| format_error("the token could not be split"))?;

        Ok(Self {
            claims,
            issuer,
            signing_input,
            signature,
        })
    }

    fn verify(&self) -> Result<()> {
        self.issuer
            .verify(self.signing_input.as_bytes(), &self.signature)
            .map_err(|e| Error::with_source(ErrorKind::InvalidSignature, e))
    }
}

/// Decodes `token` and reports whether its signature and times are valid right now.
///
/// # Errors
///
/// Structural problems are errors, as for [`Claims::decode`]: format, header, missing or
/// wrong-typed keys. A bad signature or an expired or not-yet-valid token is not an error
/// but reported in the returned [`TokenValidation`].
pub fn validate_token<T: WascapEntity>(token: &str) -> Result<TokenValidation> {
    validate_token_at::<T>(token, now_secs())
}

/// Like [`validate_token`], with the current time given in seconds since the epoch.
///
/// # Errors
///
/// As for [`validate_token`].
pub fn validate_token_at<T: WascapEntity>(token: &str, now: u64) -> Result<TokenValidation> {
    let parsed = Parsed::<T>::parse(token)?;
    let claims = &parsed.claims;
    Ok(TokenValidation {
        signature_valid: parsed.verify().is_ok(),
        expired: claims.expires.is_some_and(|at| at < now),
        cannot_use_yet: claims.not_before.is_some_and(|from| from > now),
        expires_human: claims
            .expires
            .map_or_else(|| "never".to_string(), |at| relative_human(at, now)),
        not_before_human: claims
            .not_before
            .map_or_else(|| "immediately".to_string(), |from| relative_human(from, now)),
    })
}

#[cfg(test)]
mod tests;
