//! Provider archives (PAR): how a capability provider travels, as wasmCloud v1 packs it. An
//! archive is a tar, gzip-compressed or not, holding `claims.jwt` (a wascap JWT about the
//! provider, signed by its account) and one native binary per target, `<arch>-<os>.bin`
//! (e.g. `x86_64-linux.bin`), and optionally `world.wasm` (its WIT). The claims carry the
//! uppercase-hex SHA-256 of every file in `target_hashes`, keyed by target name.
//!
//! [`ProviderArchive::read`] trusts nothing: the JWT's signature and each unpacked file's hash
//! are checked, and what it unpacks is bounded, so a corrupted or planted archive is refused
//! with an error saying what does not match. [`Builder`] writes archives upstream tools read.
//!
//! ```no_run
//! # fn run(par: &[u8]) -> Result<(), lattice_provider_archive::Error> {
//! use lattice_provider_archive::{ProviderArchive, native_target};
//!
//! let archive = ProviderArchive::read(par, 256 << 20)?;
//! let binary = archive.target(&native_target());
//! # let _ = binary; Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};

use lattice_claims::jwt::{CapabilityProvider, Claims, Token};
use sha2::{Digest as _, Sha256};

/// The claims entry of an archive.
const CLAIMS_FILE: &str = "claims.jwt";
/// The WIT world entry of an archive, and its key in `target_hashes`.
pub const WORLD_FILE: &str = "world.wasm";
/// What a binary's entry name ends with.
const BINARY_SUFFIX: &str = ".bin";
/// gzip's magic number.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The target this machine runs: `<arch>-<os>` as Rust names them, e.g. `x86_64-linux` or
/// `aarch64-macos`.
#[must_use]
pub fn native_target() -> String {
    format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
}

/// Why an archive cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not a (gzipped) tar, or a truncated one.
    #[error("not a provider archive: {0}; create one with `wash par create`")]
    Format(String),
    /// The archive has no `claims.jwt`.
    #[error("the provider archive has no claims.jwt: sign it with `wash par create`")]
    MissingClaims,
    /// The claims do not decode or verify.
    #[error("the provider archive's claims are not valid: {0}")]
    Claims(#[source] lattice_claims::Error),
    /// The archive holds no binary.
    #[error("the provider archive holds no binary: add one with `wash par create --binary`")]
    NoBinary,
    /// A file's hash is missing from the claims.
    #[error("`{0}` in the provider archive is not covered by its claims: the archive was altered, create it again")]
    Unsigned(String),
    /// A file's hash differs from the one signed.
    #[error(
        "`{0}` in the provider archive does not match the hash in its claims: the archive was altered or corrupted"
    )]
    HashMismatch(String),
    /// Unpacking would exceed the limit.
    #[error("the provider archive unpacks to more than {0} bytes: it is too large to load")]
    TooLarge(u64),
    /// Creating an archive failed.
    #[error("cannot write the provider archive: {0}")]
    Write(String),
}

/// An archive's contents, verified.
#[derive(Debug, Clone)]
pub struct ProviderArchive {
    claims: Token<CapabilityProvider>,
    targets: BTreeMap<String, Vec<u8>>,
    world: Option<Vec<u8>>,
}

impl ProviderArchive {
    /// Reads an archive (gzipped or not), unpacking at most `max_unpacked` bytes in all, and
    /// verifies the claims' signature and every file's hash.
    ///
    /// # Errors
    ///
    /// When the bytes are not an archive, the claims are missing or invalid, a file is not
    /// covered by the claims or does not match its hash, there is no binary, or the contents
    /// exceed `max_unpacked`.
    pub fn read(bytes: &[u8], max_unpacked: u64) -> Result<Self, Error> {
        let files = unpack(bytes, max_unpacked)?;
        let mut jwt = None;
        let mut targets = BTreeMap::new();
        let mut world = None;
        for (name, contents) in files {
            if name == CLAIMS_FILE {
                jwt = Some(String::from_utf8(contents).map_err(|_| Error::Format("claims.jwt is not text".into()))?);
            } else if name == WORLD_FILE {
                world = Some(contents);
            } else if let Some(target) = name.strip_suffix(BINARY_SUFFIX) {
                targets.insert(target.to_owned(), contents);
            }
        }
        let jwt = jwt.ok_or(Error::MissingClaims)?;
        let claims = Claims::<CapabilityProvider>::decode(jwt.trim()).map_err(Error::Claims)?;
        let archive = Self {
            claims: Token {
                jwt: jwt.trim().to_owned(),
                claims,
            },
            targets,
            world,
        };
        archive.verify()?;
        Ok(archive)
    }

    fn verify(&self) -> Result<(), Error> {
        if self.targets.is_empty() {
            return Err(Error::NoBinary);
        }
        let hashes = &self.metadata().target_hashes;
        let files = self
            .targets
            .iter()
            .map(|(target, bytes)| (target.as_str(), bytes))
            .chain(self.world.iter().map(|world| (WORLD_FILE, world)));
        for (name, bytes) in files {
            let signed = hashes.get(name).ok_or_else(|| Error::Unsigned(name.to_owned()))?;
            if *signed != sha256_upper_hex(bytes) {
                return Err(Error::HashMismatch(name.to_owned()));
            }
        }
        Ok(())
    }

    /// The claims, with the JWT they came from.
    #[must_use]
    pub fn claims(&self) -> &Token<CapabilityProvider> {
        &self.claims
    }

    /// The provider's metadata from the claims.
    ///
    /// # Panics
    ///
    /// Never: [`ProviderArchive::read`] and [`Builder::build`] only produce archives whose
    /// claims have metadata (its target hashes were checked).
    #[must_use]
    pub fn metadata(&self) -> &CapabilityProvider {
        self.claims
            .claims
            .metadata
            .as_ref()
            .expect("verified claims carry provider metadata")
    }

    /// The binary for `target`, if the archive has one.
    #[must_use]
    pub fn target(&self, target: &str) -> Option<&[u8]> {
        self.targets.get(target).map(Vec::as_slice)
    }

    /// The targets the archive has binaries for, in order.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.targets.keys().map(String::as_str)
    }

    /// The provider's WIT world, encoded as wasm, if the archive has it.
    #[must_use]
    pub fn world(&self) -> Option<&[u8]> {
        self.world.as_deref()
    }

    /// The archive as bytes, gzip-compressed when `compress`.
    ///
    /// # Errors
    ///
    /// Never in practice (writing to memory); a tar header that cannot hold a name is
    /// reported as [`Error::Write`].
    pub fn to_bytes(&self, compress: bool) -> Result<Vec<u8>, Error> {
        let write_error = |e: std::io::Error| Error::Write(e.to_string());
        let mut tar = tar::Builder::new(Vec::new());
        let mut append = |name: &str, contents: &[u8]| {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            tar.append_data(&mut header, name, contents)
        };
        append(CLAIMS_FILE, self.claims.jwt.as_bytes()).map_err(write_error)?;
        if let Some(world) = &self.world {
            append(WORLD_FILE, world).map_err(write_error)?;
        }
        for (target, binary) in &self.targets {
            append(&format!("{target}{BINARY_SUFFIX}"), binary).map_err(write_error)?;
        }
        let plain = tar.into_inner().map_err(write_error)?;
        if !compress {
            return Ok(plain);
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&plain).map_err(write_error)?;
        gz.finish().map_err(write_error)
    }
}

/// Creates a signed archive.
#[derive(Debug, Clone)]
#[must_use]
pub struct Builder {
    metadata: CapabilityProvider,
    targets: BTreeMap<String, Vec<u8>>,
    world: Option<Vec<u8>>,
}

impl Builder {
    /// An archive for the provider `name`, made by `vendor`.
    pub fn new(name: impl Into<String>, vendor: impl Into<String>) -> Self {
        Self {
            metadata: CapabilityProvider {
                name: Some(name.into()),
                vendor: vendor.into(),
                ..CapabilityProvider::default()
            },
            targets: BTreeMap::new(),
            world: None,
        }
    }

    /// The provider's revision.
    pub fn revision(mut self, rev: i32) -> Self {
        self.metadata.rev = Some(rev);
        self
    }

    /// The provider's human-readable version.
    pub fn version(mut self, ver: impl Into<String>) -> Self {
        self.metadata.ver = Some(ver.into());
        self
    }

    /// A JSON schema of the provider's link configuration.
    pub fn config_schema(mut self, schema: serde_json::Value) -> Self {
        self.metadata.config_schema = Some(schema);
        self
    }

    /// The binary for `target` (e.g. [`native_target`]).
    pub fn target(mut self, target: impl Into<String>, binary: Vec<u8>) -> Self {
        self.targets.insert(target.into(), binary);
        self
    }

    /// The provider's WIT world, encoded as wasm.
    pub fn world(mut self, world: Vec<u8>) -> Self {
        self.world = Some(world);
        self
    }

    /// Hashes every file into the claims and signs them: `issuer` is the account (`SA…`)
    /// vouching for the provider, `subject` its service key (`SV…` or `V…`).
    ///
    /// # Errors
    ///
    /// [`Error::NoBinary`] without a target, [`Error::Claims`] when the keys are of the wrong
    /// kind or the issuer holds no seed.
    pub fn build(mut self, issuer: &nkeys::KeyPair, subject: &str) -> Result<ProviderArchive, Error> {
        if self.targets.is_empty() {
            return Err(Error::NoBinary);
        }
        self.metadata.target_hashes = self
            .targets
            .iter()
            .map(|(target, binary)| (target.clone(), sha256_upper_hex(binary)))
            .collect();
        if let Some(world) = &self.world {
            self.metadata
                .target_hashes
                .insert(WORLD_FILE.to_owned(), sha256_upper_hex(world));
        }
        let claims = Claims::new(issuer.public_key(), subject.to_owned(), self.metadata);
        let jwt = claims.encode(issuer).map_err(Error::Claims)?;
        Ok(ProviderArchive {
            claims: Token { jwt, claims },
            targets: self.targets,
            world: self.world,
        })
    }
}

fn sha256_upper_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02X}");
            hex
        })
}

/// The regular files of a (gzipped) tar, by file name, at most `max` bytes in all.
fn unpack(bytes: &[u8], max: u64) -> Result<Vec<(String, Vec<u8>)>, Error> {
    if bytes.len() < 2 {
        return Err(Error::Format("too short".into()));
    }
    let reader: Box<dyn std::io::Read + '_> = if bytes[..2] == GZIP_MAGIC {
        Box::new(flate2::read::GzDecoder::new(bytes))
    } else {
        Box::new(bytes)
    };
    // One byte past the limit tells "too large" from "exactly at the limit".
    let mut archive = tar::Archive::new(reader.take(max.saturating_add(1)));
    let format = |e: std::io::Error| Error::Format(e.to_string());
    let mut files = Vec::new();
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(format)? {
        let mut entry = entry.map_err(format)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let size = entry.header().size().map_err(format)?;
        total = total.saturating_add(size);
        if total > max {
            return Err(Error::TooLarge(max));
        }
        let path = entry.path().map_err(format)?;
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        let mut contents = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry.read_to_end(&mut contents).map_err(format)?;
        files.push((name, contents));
    }
    if files.is_empty() {
        return Err(Error::Format("no files in it".into()));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (nkeys::KeyPair, String) {
        (
            nkeys::KeyPair::new_account(),
            nkeys::KeyPair::new_service().public_key(),
        )
    }

    fn archive() -> ProviderArchive {
        let (issuer, subject) = keys();
        Builder::new("kv", "acme")
            .revision(2)
            .version("1.0.0")
            .target("x86_64-linux", b"\x7fELF binary".to_vec())
            .target("aarch64-macos", b"mach-o".to_vec())
            .world(b"\0asm world".to_vec())
            .build(&issuer, &subject)
            .unwrap()
    }

    #[test]
    fn round_trips_compressed_and_plain() {
        let original = archive();
        for compress in [false, true] {
            let bytes = original.to_bytes(compress).unwrap();
            assert_eq!(bytes[..2] == GZIP_MAGIC, compress);
            let read = ProviderArchive::read(&bytes, 1 << 20).unwrap();
            assert_eq!(read.target("x86_64-linux"), Some(&b"\x7fELF binary"[..]));
            assert_eq!(read.targets().collect::<Vec<_>>(), ["aarch64-macos", "x86_64-linux"]);
            assert_eq!(read.world(), Some(&b"\0asm world"[..]));
            let meta = read.metadata();
            assert_eq!(meta.name.as_deref(), Some("kv"));
            assert_eq!((meta.rev, meta.ver.as_deref()), (Some(2), Some("1.0.0")));
            assert_eq!(meta.target_hashes["x86_64-linux"].len(), 64);
            assert_eq!(read.claims().jwt, original.claims().jwt);
        }
    }

    #[test]
    fn a_swapped_binary_is_refused_by_hash() {
        let mut tampered = archive();
        tampered.targets.insert("x86_64-linux".into(), b"planted".to_vec());
        let bytes = tampered.to_bytes(true).unwrap();
        let err = ProviderArchive::read(&bytes, 1 << 20).unwrap_err();
        assert!(
            matches!(err, Error::HashMismatch(ref t) if t == "x86_64-linux"),
            "{err}"
        );
        assert!(err.to_string().contains("does not match the hash"), "{err}");
    }

    #[test]
    fn an_added_binary_is_refused_as_unsigned() {
        let mut extended = archive();
        extended.targets.insert("riscv64-linux".into(), b"extra".to_vec());
        let err = ProviderArchive::read(&extended.to_bytes(false).unwrap(), 1 << 20).unwrap_err();
        assert!(matches!(err, Error::Unsigned(ref t) if t == "riscv64-linux"), "{err}");
    }

    #[test]
    fn forged_claims_and_junk_are_refused() {
        let mut forged = archive();
        // One character of the signature changed: the JWT no longer verifies.
        let jwt = &mut forged.claims.jwt;
        let last = jwt.pop().unwrap();
        jwt.push(if last == 'A' { 'B' } else { 'A' });
        let err = ProviderArchive::read(&forged.to_bytes(false).unwrap(), 1 << 20).unwrap_err();
        assert!(matches!(err, Error::Claims(_)), "{err}");

        assert!(matches!(ProviderArchive::read(b"x", 1 << 20), Err(Error::Format(_))));
        let err = ProviderArchive::read(&[0x1f, 0x8b, 0, 0, 0], 1 << 20).unwrap_err();
        assert!(matches!(err, Error::Format(_)), "{err}");
    }

    #[test]
    fn unpacking_is_bounded() {
        let (issuer, subject) = keys();
        let big = Builder::new("big", "acme")
            .target("x86_64-linux", vec![0; 1 << 20])
            .build(&issuer, &subject)
            .unwrap();
        let bytes = big.to_bytes(true).unwrap();
        // Compresses to almost nothing, unpacks to a MiB.
        assert!(bytes.len() < 16 << 10);
        let err = ProviderArchive::read(&bytes, 64 << 10).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err}");
        assert!(ProviderArchive::read(&bytes, 2 << 20).is_ok());
    }

    #[test]
    fn missing_pieces_are_named() {
        let (issuer, subject) = keys();
        let err = Builder::new("none", "acme").build(&issuer, &subject).unwrap_err();
        assert!(matches!(err, Error::NoBinary));
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_cksum();
        tar.append_data(&mut header, "x86_64-linux.bin", &b"bin"[..]).unwrap();
        let err = ProviderArchive::read(&tar.into_inner().unwrap(), 1 << 20).unwrap_err();
        assert!(matches!(err, Error::MissingClaims), "{err}");
    }

    #[test]
    fn native_target_is_arch_dash_os() {
        let target = native_target();
        assert!(target.starts_with(std::env::consts::ARCH));
        assert!(target.ends_with(std::env::consts::OS));
    }
}
