//! Claims inside wasm binaries: stripping old tokens, hashing, embedding a new token and extracting it.
//!
//! The token lives in a custom section named [`SECTION_JWT`] appended to the outer binary.
//! The module hash in the claims is the SHA-256 of the binary with every claims section
//! removed, at any nesting depth, so re-signing a signed binary yields the same hash.

use std::time::Duration;

use sha2::{Digest as _, Sha256};
use wasm_encoder::{Encode as _, Section as _};
use wasmparser::{Chunk, Encoding, Parser, Payload};

use crate::Result;
use crate::error::{Error, ErrorKind};
use crate::jwt::{Claims, Component, MIN_HASH_REVISION, Token, WASCAP_REVISION};
use crate::time::{add_secs, now_secs};

/// Name of the custom section holding the token.
pub const SECTION_JWT: &str = "wasmcloud_jwt";

/// Name of the custom section used by wascap before 0.9; still read and always stripped.
pub const SECTION_LEGACY_JWT: &str = "jwt";

/// How deep nested modules and components may go before the binary is rejected.
///
/// Stripping recurses once per level; real components nest a handful of levels, and the
/// limit keeps a crafted binary from exhausting the stack.
pub const MAX_NESTING: usize = 64;

const WASM_MAGIC: &[u8; 4] = b"\0asm";

/// Section ids of nested core modules and components inside a component.
const COMPONENT_MODULE_SECTION: u8 = 1;
const COMPONENT_SECTION: u8 = 4;

fn is_claims_section(name: &str) -> bool {
    name == SECTION_JWT || name == SECTION_LEGACY_JWT
}

/// The binary re-encoded without claims sections, and the tokens found at top level.
struct Scan<'a> {
    stripped: Vec<u8>,
    tokens: Vec<&'a [u8]>,
}

fn scan(wasm: &[u8]) -> Result<Scan<'_>> {
    if !wasm.starts_with(WASM_MAGIC) {
        return Err(ErrorKind::NotWasm.into());
    }
    let mut stripped = Vec::with_capacity(wasm.len());
    let mut tokens = Vec::new();
    rewrite(wasm, 0, 0, &mut stripped, Some(&mut tokens))?;
    Ok(Scan { stripped, tokens })
}

fn invalid_at(offset: usize) -> Error {
    ErrorKind::InvalidWasm { offset }.into()
}

/// Copies `wasm` into `out` section by section, dropping claims sections and recursing into
/// nested modules and components, whose sections are re-encoded with their new length.
///
/// `base` is the offset of `wasm` in the outer binary (for error offsets); `tokens`, when
/// given, collects the contents of the dropped claims sections (only wanted at top level).
fn rewrite<'a>(
    wasm: &'a [u8],
    base: usize,
    depth: usize,
    out: &mut Vec<u8>,
    mut tokens: Option<&mut Vec<&'a [u8]>>,
) -> Result<()> {
    if depth > MAX_NESTING {
        return Err(ErrorKind::NestingTooDeep { limit: MAX_NESTING }.into());
    }
    let mut parser = Parser::new(0);
    let mut pos = 0usize;
    loop {
        let rest = wasm.get(pos..).ok_or_else(|| invalid_at(base + pos))?;
        let (consumed, payload) = match parser.parse(rest, true) {
            Ok(Chunk::Parsed { consumed, payload }) => (consumed, payload),
            // With `eof = true` the parser reports truncation as an error, but stay total.
            Ok(Chunk::NeedMoreData(_)) => return Err(invalid_at(base + wasm.len())),
            Err(e) => {
                let offset = base + e.offset();
                return Err(Error::with_source(ErrorKind::InvalidWasm { offset }, e));
            }
        };
        pos = pos.checked_add(consumed).ok_or_else(|| invalid_at(base + pos))?;
        match payload {
            Payload::Version { encoding, .. } => out.extend_from_slice(match encoding {
                Encoding::Module => &wasm_encoder::Module::HEADER,
                Encoding::Component => &wasm_encoder::Component::HEADER,
            }),
            Payload::CustomSection(reader) if is_claims_section(reader.name()) => {
                if let Some(tokens) = tokens.as_deref_mut() {
                    tokens.push(reader.data());
                }
            }
            Payload::ModuleSection { unchecked_range, .. } => {
                pos = rewrite_nested(wasm, base, depth, COMPONENT_MODULE_SECTION, unchecked_range, out)?;
            }
            Payload::ComponentSection { unchecked_range, .. } => {
                pos = rewrite_nested(wasm, base, depth, COMPONENT_SECTION, unchecked_range, out)?;
            }
            Payload::CodeSectionStart { range, .. } => {
                copy_section(wasm, base, wasm_encoder::SectionId::Code as u8, range.clone(), out)?;
                // Function bodies are copied with the section; don't parse them one by one.
                parser.skip_section();
                pos = range.end;
            }
            Payload::End(_) => return Ok(()),
            other => {
                if let Some((id, range)) = other.as_section() {
                    copy_section(wasm, base, id, range, out)?;
                }
            }
        }
    }
}

/// Rewrites the nested module or component at `range` of `wasm` as section `id` of `out`
/// and returns where the outer binary continues.
fn rewrite_nested(
    wasm: &[u8],
    base: usize,
    depth: usize,
    id: u8,
    range: std::ops::Range<usize>,
    out: &mut Vec<u8>,
) -> Result<usize> {
    // The parser does not check that a nested binary lies within the input.
    let nested = wasm.get(range.clone()).ok_or_else(|| invalid_at(base + wasm.len()))?;
    let mut inner = Vec::with_capacity(nested.len());
    rewrite(nested, base + range.start, depth + 1, &mut inner, None)?;
    out.push(id);
    inner.as_slice().encode(out);
    // The outer parser has already moved past the nested bytes; follow it.
    Ok(range.end)
}

fn copy_section(wasm: &[u8], base: usize, id: u8, range: std::ops::Range<usize>, out: &mut Vec<u8>) -> Result<()> {
    let data = wasm.get(range).ok_or_else(|| invalid_at(base + wasm.len()))?;
    wasm_encoder::RawSection { id, data }.append_to(out);
    Ok(())
}

fn sha256_upper_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02X}");
    }
    hex
}

/// Returns `wasm` re-encoded without any `wasmcloud_jwt` or `jwt` custom section, including
/// those inside nested modules and components.
///
/// Other sections are copied unchanged; section lengths are re-encoded minimally.
///
/// # Errors
///
/// [`ErrorKind::NotWasm`] if the input lacks the wasm magic number,
/// [`ErrorKind::InvalidWasm`] if it is truncated or malformed, and
/// [`ErrorKind::NestingTooDeep`] past [`MAX_NESTING`].
pub fn strip_claims(wasm: &[u8]) -> Result<Vec<u8>> {
    Ok(scan(wasm)?.stripped)
}

/// The module hash: uppercase hex SHA-256 of [`strip_claims`]`(wasm)`.
///
/// # Errors
///
/// As for [`strip_claims`].
pub fn compute_hash(wasm: &[u8]) -> Result<String> {
    Ok(sha256_upper_hex(&strip_claims(wasm)?))
}

/// Strips old claims, sets the module hash in `claims`, signs them with `issuer` and appends
/// the token as a `wasmcloud_jwt` custom section.
///
/// Claims without metadata get a default [`Component`] so the hash is always recorded.
///
/// # Errors
///
/// As for [`strip_claims`] and [`Claims::encode`].
pub fn embed_claims(wasm: &[u8], claims: &Claims<Component>, issuer: &nkeys::KeyPair) -> Result<Vec<u8>> {
    let mut out = strip_claims(wasm)?;
    let mut claims = claims.clone();
    claims.metadata.get_or_insert_with(Component::default).module_hash = sha256_upper_hex(&out);
    let jwt = claims.encode(issuer)?;
    wasm_encoder::CustomSection {
        name: SECTION_JWT.into(),
        data: jwt.as_bytes().into(),
    }
    .append_to(&mut out);
    Ok(out)
}

/// Returns the raw token of `wasm` without decoding it, or `None` if it is unsigned.
///
/// Useful to show a token that [`extract_claims`] rejects (e.g. an expired one).
///
/// # Errors
///
/// As for [`strip_claims`], plus [`ErrorKind::DuplicateClaimsSection`] if there is more than
/// one top-level claims section and [`ErrorKind::InvalidTokenFormat`] if it is not UTF-8.
pub fn find_token(wasm: &[u8]) -> Result<Option<String>> {
    Ok(single_token(&scan(wasm)?)?.map(str::to_string))
}

fn single_token<'a>(scan: &Scan<'a>) -> Result<Option<&'a str>> {
    let raw = match scan.tokens.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        _ => return Err(ErrorKind::DuplicateClaimsSection.into()),
    };
    let jwt = std::str::from_utf8(raw).map_err(|e| {
        Error::with_source(
            ErrorKind::InvalidTokenFormat {
                detail: "the claims section is not UTF-8".to_string(),
            },
            e,
        )
    })?;
    Ok(Some(jwt))
}

/// Extracts and fully verifies the claims of `wasm`; `None` if it is unsigned.
///
/// Checks the token (format, key types, signature), then the module hash (for
/// `wascap_revision >= 3`; older tokens predate hashing of this form), then `exp` and `nbf`
/// against the system clock.
///
/// # Errors
///
/// As for [`strip_claims`], [`find_token`] and [`Claims::decode`], plus
/// [`ErrorKind::MissingMetadata`], [`ErrorKind::InvalidModuleHash`], [`ErrorKind::Expired`]
/// and [`ErrorKind::NotYetValid`].
pub fn extract_claims(wasm: &[u8]) -> Result<Option<Token<Component>>> {
    extract_claims_at(wasm, now_secs())
}

/// Like [`extract_claims`], with the current time given in seconds since the epoch.
///
/// # Errors
///
/// As for [`extract_claims`].
pub fn extract_claims_at(wasm: &[u8], now: u64) -> Result<Option<Token<Component>>> {
    let scan = scan(wasm)?;
    let Some(jwt) = single_token(&scan)? else {
        return Ok(None);
    };
    let claims = Claims::<Component>::decode(jwt)?;
    let meta = claims.metadata.as_ref().ok_or(ErrorKind::MissingMetadata)?;
    if claims.wascap_revision.unwrap_or(0) >= MIN_HASH_REVISION {
        let actual = sha256_upper_hex(&scan.stripped);
        if meta.module_hash != actual {
            return Err(ErrorKind::InvalidModuleHash {
                expected: meta.module_hash.clone(),
                actual,
            }
            .into());
        }
    }
    claims.check_times(now)?;
    Ok(Some(Token {
        jwt: jwt.to_string(),
        claims,
    }))
}

/// What [`sign_component`] puts in the claims besides the keys.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// `name`.
    pub name: Option<String>,
    /// `tags` (always written, possibly empty, as upstream does).
    pub tags: Vec<String>,
    /// `rev`.
    pub rev: Option<i32>,
    /// `ver`.
    pub ver: Option<String>,
    /// `call_alias`, normalized like upstream: lowercase ASCII with ` `, `-`, `.` turned into `_`.
    pub call_alias: Option<String>,
    /// Sets `exp` to now plus this.
    pub expires_in: Option<Duration>,
    /// Sets `nbf` to now plus this.
    pub not_before: Option<Duration>,
}

/// Lowercases, trims, drops non-ASCII characters and turns separators into underscores.
fn normalize_call_alias(alias: &str) -> String {
    alias
        .trim()
        .to_lowercase()
        .chars()
        .filter(char::is_ascii)
        .map(|c| if matches!(c, ' ' | '-' | '.') { '_' } else { c })
        .collect()
}

/// Signs `wasm` as the component `subject`, issued by the account `issuer`.
///
/// Only `subject`'s public key is used, so it may be a public-only key pair.
///
/// # Errors
///
/// As for [`embed_claims`]; in particular [`ErrorKind::WrongKeyType`] unless `issuer` is an
/// account (`A…`) key with a seed and `subject` a module (`M…`) key.
pub fn sign_component(
    wasm: &[u8],
    issuer: &nkeys::KeyPair,
    subject: &nkeys::KeyPair,
    opts: &SignOptions,
) -> Result<Vec<u8>> {
    let now = now_secs();
    let claims = Claims {
        expires: opts.expires_in.map(|d| add_secs(now, d)),
        id: nuid::next().to_string(),
        issued_at: now,
        issuer: issuer.public_key(),
        subject: subject.public_key(),
        not_before: opts.not_before.map(|d| add_secs(now, d)),
        metadata: Some(Component {
            name: opts.name.clone(),
            module_hash: String::new(),
            tags: Some(opts.tags.clone()),
            rev: opts.rev,
            ver: opts.ver.clone(),
            call_alias: opts.call_alias.as_deref().map(normalize_call_alias),
            provider: false,
        }),
        wascap_revision: Some(WASCAP_REVISION),
    };
    embed_claims(wasm, &claims, issuer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid core module: just the header.
    const EMPTY_MODULE: &[u8] = b"\0asm\x01\0\0\0";

    #[test]
    fn hex_is_uppercase_sha256() {
        assert_eq!(
            sha256_upper_hex(b""),
            "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
        );
    }

    #[test]
    fn stripping_an_unsigned_module_is_identity() {
        assert_eq!(strip_claims(EMPTY_MODULE).unwrap(), EMPTY_MODULE);
    }

    #[test]
    fn claims_sections_are_dropped_and_others_kept() {
        let mut wasm = EMPTY_MODULE.to_vec();
        for (name, data) in [("jwt", &b"a"[..]), ("keep", b"b"), (SECTION_JWT, b"c")] {
            wasm_encoder::CustomSection {
                name: name.into(),
                data: data.into(),
            }
            .append_to(&mut wasm);
        }
        let scan = scan(&wasm).unwrap();
        assert_eq!(scan.tokens, vec![&b"a"[..], b"c"]);
        let mut expected = EMPTY_MODULE.to_vec();
        wasm_encoder::CustomSection {
            name: "keep".into(),
            data: b"b".into(),
        }
        .append_to(&mut expected);
        assert_eq!(scan.stripped, expected);
    }

    #[test]
    fn nesting_is_bounded() {
        // A component whose only section is a component section holding the next level.
        let mut wasm = wasm_encoder::Component::HEADER.to_vec();
        for _ in 0..(MAX_NESTING + 2) {
            let mut outer = wasm_encoder::Component::HEADER.to_vec();
            outer.push(COMPONENT_SECTION);
            wasm.as_slice().encode(&mut outer);
            wasm = outer;
        }
        let err = strip_claims(&wasm).unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::NestingTooDeep { limit: MAX_NESTING });
    }

    #[test]
    fn call_alias_is_normalized() {
        assert_eq!(normalize_call_alias(" My-Alias.v2 ü"), "my_alias_v2_");
    }
}
