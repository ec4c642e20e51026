//! Verifying the claims (signed JWT) embedded in a component before it runs:
//! a bad signature, expired or not-yet-valid claims, or bytes that no longer
//! match the signed hash are each refused with their own [`ErrorKind`].

use crate::error::{Error, ErrorKind, Result};

/// The verified claims of a signed component.
pub type ComponentClaims = wascap::jwt::Token<wascap::jwt::Component>;

/// Extracts and verifies the claims of `wasm` (signature, module hash, `exp`
/// and `nbf`). Unsigned components yield `None` unless `require_signed`.
pub(crate) fn verify(wasm: &[u8], require_signed: bool) -> Result<Option<ComponentClaims>> {
    match wascap::wasm::extract_claims(wasm) {
        Ok(Some(token)) => Ok(Some(token)),
        Ok(None) if require_signed => Err(Error::new(ErrorKind::Unsigned)),
        Ok(None) => Ok(None),
        Err(err) => {
            let kind = kind_of(err.kind());
            Err(Error::with_source(kind, err))
        }
    }
}

fn kind_of(kind: &wascap::ErrorKind) -> ErrorKind {
    match kind {
        wascap::ErrorKind::InvalidSignature => ErrorKind::ClaimsInvalidSignature,
        wascap::ErrorKind::Expired { .. } => ErrorKind::ClaimsExpired,
        wascap::ErrorKind::NotYetValid { .. } => ErrorKind::ClaimsNotYetValid,
        wascap::ErrorKind::InvalidModuleHash { .. } => ErrorKind::ClaimsHashMismatch,
        _ => ErrorKind::ClaimsInvalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component: the preamble alone.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn unsigned_is_allowed_unless_required() {
        assert!(verify(EMPTY_COMPONENT, false).unwrap().is_none());
        let err = verify(EMPTY_COMPONENT, true).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Unsigned);
    }

    #[test]
    fn wascap_kinds_map_to_runtime_kinds() {
        assert_eq!(
            kind_of(&wascap::ErrorKind::InvalidSignature),
            ErrorKind::ClaimsInvalidSignature
        );
        assert_eq!(kind_of(&wascap::ErrorKind::MissingIssuer), ErrorKind::ClaimsInvalid);
    }
}
