//! Verifying the claims (signed JWT) embedded in a component before it runs:
//! a bad signature, expired or not-yet-valid claims, or bytes that no longer
//! match the signed hash are each refused with their own [`ErrorKind`], and
//! so are claims of a revision that predates the hash (unless allowed),
//! unsigned components when signatures are required, and issuers not on the
//! allow-list.

use crate::error::{Error, ErrorKind, Result};

/// The verified claims of a signed component.
pub type ComponentClaims = lattice_claims::jwt::Token<lattice_claims::jwt::Component>;

/// The first `wascap_revision` whose claims are bound to the component's
/// bytes by a module hash that wascap checks.
pub(crate) const MIN_HASHED_REVISION: u32 = 3;

/// What a runtime accepts besides valid claims.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrustPolicy {
    /// Refuse components without claims.
    pub(crate) require_signed: bool,
    /// Accept claims older than [`MIN_HASHED_REVISION`], which any binary
    /// can carry.
    pub(crate) allow_legacy: bool,
    /// When not empty, only components issued by these account keys (`A…`)
    /// run; unsigned ones are refused.
    pub(crate) allowed_issuers: Vec<String>,
}

/// Extracts and verifies the claims of `wasm` (signature, module hash, `exp`
/// and `nbf`), then applies `policy`. Unsigned components yield `None` when
/// the policy lets them run.
pub(crate) fn verify(wasm: &[u8], policy: &TrustPolicy) -> Result<Option<ComponentClaims>> {
    let token = match lattice_claims::wasm::extract_claims(wasm) {
        Ok(token) => token,
        Err(err) => {
            let kind = kind_of(err.kind());
            return Err(Error::with_source(kind, err));
        }
    };
    let Some(token) = token else {
        if policy.require_signed || !policy.allowed_issuers.is_empty() {
            return Err(Error::new(ErrorKind::Unsigned));
        }
        return Ok(None);
    };
    let revision = token.claims.wascap_revision.unwrap_or(0);
    if revision < MIN_HASHED_REVISION && !policy.allow_legacy {
        return Err(Error::new(ErrorKind::ClaimsLegacyRevision { revision }));
    }
    if !policy.allowed_issuers.is_empty() && !policy.allowed_issuers.contains(&token.claims.issuer) {
        return Err(Error::new(ErrorKind::IssuerNotAllowed {
            issuer: token.claims.issuer,
        }));
    }
    Ok(Some(token))
}

fn kind_of(kind: &lattice_claims::ErrorKind) -> ErrorKind {
    match kind {
        lattice_claims::ErrorKind::InvalidSignature => ErrorKind::ClaimsInvalidSignature,
        lattice_claims::ErrorKind::Expired { .. } => ErrorKind::ClaimsExpired,
        lattice_claims::ErrorKind::NotYetValid { .. } => ErrorKind::ClaimsNotYetValid,
        lattice_claims::ErrorKind::InvalidModuleHash { .. } => ErrorKind::ClaimsHashMismatch,
        _ => ErrorKind::ClaimsInvalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component: the preamble alone.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn unsigned_is_allowed_unless_required_or_issuers_are_listed() {
        assert!(verify(EMPTY_COMPONENT, &TrustPolicy::default()).unwrap().is_none());
        let required = TrustPolicy {
            require_signed: true,
            ..TrustPolicy::default()
        };
        let err = verify(EMPTY_COMPONENT, &required).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Unsigned);
        let listed = TrustPolicy {
            allowed_issuers: vec![nkeys::KeyPair::new_account().public_key()],
            ..TrustPolicy::default()
        };
        let err = verify(EMPTY_COMPONENT, &listed).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Unsigned);
    }

    #[test]
    fn wascap_kinds_map_to_runtime_kinds() {
        assert_eq!(
            kind_of(&lattice_claims::ErrorKind::InvalidSignature),
            ErrorKind::ClaimsInvalidSignature
        );
        assert_eq!(
            kind_of(&lattice_claims::ErrorKind::MissingIssuer),
            ErrorKind::ClaimsInvalid
        );
    }
}
