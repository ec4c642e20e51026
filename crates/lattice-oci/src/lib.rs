//! Components and provider archives in OCI registries, as wasmCloud v1 hosts
//! and tools store them: a component is a one-layer artifact
//! (`application/wasm`, the Wasm OCI artifact layout, or one of the legacy
//! layer types), a provider archive a `.par.gz` in one layer of type
//! `application/vnd.wasmcloud.provider.archive.layer.v1+par`.
//!
//! [`Oci`] pulls through a content-addressed cache (a digest already present
//! is not fetched again, and a reference by digest loads with no network at
//! all), verifies every byte against its digest, bounds size and time, and
//! pushes. Credentials come from [`Oci::put_credentials`], then the user's
//! Docker config file, else none; plain HTTP only for registries listed as
//! insecure; extra root certificates for private CAs.

mod auth;
mod cache;
mod error;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

use futures::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

pub use auth::Credential;
use cache::{Cache, LayerRecord, sha256_digest};
pub use error::Error;
use error::{Target, innermost};

/// Media types of the artifacts this crate reads and writes.
pub mod media_types {
    /// A component's layer in the Wasm OCI artifact layout.
    pub const WASM_LAYER: &str = oci_wasm::WASM_LAYER_MEDIA_TYPE;
    /// The config of the Wasm OCI artifact layout.
    pub const WASM_CONFIG: &str = oci_wasm::WASM_MANIFEST_CONFIG_MEDIA_TYPE;
    /// A component's layer as older wasmCloud tools pushed it.
    pub const LEGACY_WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
    /// A plain OCI layer, accepted for components as upstream hosts do.
    pub const OCI_TAR_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// A provider archive's layer.
    pub const PROVIDER_LAYER: &str = "application/vnd.wasmcloud.provider.archive.layer.v1+par";
    /// A provider archive's config.
    pub const PROVIDER_CONFIG: &str = "application/vnd.wasmcloud.provider.archive.config";
}

/// What an artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A WebAssembly component (or module).
    Component,
    /// A provider archive.
    Provider,
}

impl std::fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Component => "component",
            Self::Provider => "provider archive",
        })
    }
}

impl ArtifactKind {
    /// The kind a layer of `media_type` holds.
    fn of_layer(media_type: &str) -> Option<Self> {
        match media_type {
            media_types::WASM_LAYER | media_types::LEGACY_WASM_LAYER | media_types::OCI_TAR_LAYER => {
                Some(Self::Component)
            }
            media_types::PROVIDER_LAYER => Some(Self::Provider),
            _ => None,
        }
    }

    /// The kind of artifact `bytes` are, for pushing.
    pub fn of_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\0asm") {
            Some(Self::Component)
        } else if bytes.starts_with(&[0x1f, 0x8b]) || bytes.get(257..262) == Some(b"ustar") {
            Some(Self::Provider)
        } else {
            None
        }
    }
}

/// How an [`Oci`] client behaves.
#[derive(Debug, Clone)]
pub struct Options {
    /// Whether references to the `latest` tag (or to no tag) may be pulled.
    pub allow_latest: bool,
    /// Registries (`host` or `host:port`) spoken to over plain HTTP.
    pub allowed_insecure: Vec<String>,
    /// PEM files of extra root certificates to trust.
    pub extra_root_certificates: Vec<PathBuf>,
    /// Where pulled artifacts are kept; `None` keeps nothing.
    pub cache_dir: Option<PathBuf>,
    /// Whether the user's Docker config file supplies credentials.
    pub docker_config: bool,
    /// The bound on connecting to a registry.
    pub connect_timeout: Duration,
    /// The bound on a whole pull or push.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allow_latest: false,
            allowed_insecure: Vec::new(),
            extra_root_certificates: Vec::new(),
            cache_dir: None,
            docker_config: true,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(120),
        }
    }
}

/// A pulled artifact.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// Its bytes: a component, or a provider archive as pushed.
    pub bytes: Vec<u8>,
    /// What it is.
    pub kind: ArtifactKind,
    /// The digest of its manifest (what a `@sha256:` reference names).
    pub manifest_digest: String,
    /// The digest of its layer.
    pub layer_digest: String,
    /// Whether the bytes came from the local cache.
    pub cached: bool,
}

/// A pushed artifact.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pushed {
    /// The reference pushed to.
    pub reference: String,
    /// The digest of the manifest written.
    pub digest: String,
    /// What was pushed.
    pub kind: ArtifactKind,
}

/// Which kinds of artifact a pull accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Components only.
    Component,
    /// Provider archives only.
    Provider,
    /// Either.
    Any,
}

impl Want {
    fn accepts(self, kind: ArtifactKind) -> bool {
        match self {
            Self::Component => kind == ArtifactKind::Component,
            Self::Provider => kind == ArtifactKind::Provider,
            Self::Any => true,
        }
    }

    fn named(self) -> ArtifactKind {
        match self {
            Self::Provider => ArtifactKind::Provider,
            Self::Component | Self::Any => ArtifactKind::Component,
        }
    }
}

/// Parses a reference as users write it: `registry/repository:tag`,
/// `…@sha256:<digest>`, optionally behind `oci://`.
pub fn parse_reference(reference: &str) -> Result<Reference, Error> {
    let text = reference.trim();
    let text = text.strip_prefix("oci://").unwrap_or(text);
    let invalid = |reason: String| Error::InvalidReference {
        reference: reference.to_owned(),
        reason,
    };
    if text.contains("://") {
        return Err(invalid("only the oci:// scheme names a registry artifact".into()));
    }
    text.parse::<Reference>().map_err(|e| invalid(e.to_string()))
}

/// Whether `reference` floats on `latest`: no digest, and the `latest` tag or none.
fn is_latest(reference: &Reference) -> bool {
    reference.digest().is_none() && reference.tag().is_none_or(|tag| tag == "latest")
}

/// A registry client with its policy, credentials and cache.
#[derive(Debug)]
pub struct Oci {
    options: Options,
    roots: Vec<Vec<u8>>,
    cache: Option<Cache>,
    credentials: RwLock<BTreeMap<String, Credential>>,
}

impl Oci {
    /// A client with `options`: reads the extra root certificates and opens the cache.
    pub fn new(options: Options) -> Result<Self, Error> {
        let mut roots = Vec::new();
        for path in &options.extra_root_certificates {
            let bytes = std::fs::read(path).map_err(|e| Error::Certificate {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
                return Err(Error::Certificate {
                    path: path.display().to_string(),
                    message: "it holds no PEM block".into(),
                });
            }
            roots.push(bytes);
        }
        let cache = options.cache_dir.as_deref().map(Cache::open).transpose()?;
        Ok(Self {
            options,
            roots,
            cache,
            credentials: RwLock::new(BTreeMap::new()),
        })
    }

    /// The options this client was made with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Adds or replaces credentials, keyed by registry (`ghcr.io`, `127.0.0.1:5000`).
    pub fn put_credentials(&self, credentials: impl IntoIterator<Item = (String, Credential)>) {
        let mut map = self
            .credentials
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (registry, credential) in credentials {
            map.insert(auth::registry_key(&registry).to_owned(), credential);
        }
    }

    /// Parses `reference` and applies the `latest` policy.
    pub fn parse(&self, reference: &str) -> Result<Reference, Error> {
        let parsed = parse_reference(reference)?;
        if !self.options.allow_latest && is_latest(&parsed) {
            return Err(Error::LatestRefused {
                reference: reference.to_owned(),
            });
        }
        Ok(parsed)
    }

    fn insecure(&self, registry: &str) -> bool {
        self.options
            .allowed_insecure
            .iter()
            .any(|allowed| auth::registry_key(allowed).eq_ignore_ascii_case(registry))
    }

    /// A fresh client: oci-client keeps the first credentials it sees for a
    /// registry, so one per operation lets changed credentials take effect.
    fn client(&self) -> Client {
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(
                self.options
                    .allowed_insecure
                    .iter()
                    .map(|r| auth::registry_key(r).to_owned())
                    .collect(),
            ),
            extra_root_certificates: self
                .roots
                .iter()
                .map(|data| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data: data.clone(),
                })
                .collect(),
            connect_timeout: Some(self.options.connect_timeout),
            read_timeout: Some(self.options.timeout),
            ..ClientConfig::default()
        };
        Client::new(config)
    }

    /// The credentials for `reference`'s registry: given ones, else the Docker config's, else none.
    fn auth(&self, reference: &Reference) -> RegistryAuth {
        let registry = reference.resolve_registry();
        let given = {
            let map = self
                .credentials
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            auth::lookup(&map, registry).cloned()
        };
        given
            .or_else(|| {
                self.options
                    .docker_config
                    .then(auth::docker_config_path)
                    .flatten()
                    .and_then(|path| auth::from_docker_config(&path, registry))
            })
            .map_or(RegistryAuth::Anonymous, |c| c.to_auth())
    }

    fn target<'a>(&self, registry: &'a str, reference: &'a str, auth: &RegistryAuth) -> Target<'a> {
        Target {
            registry,
            reference,
            had_credentials: !matches!(auth, RegistryAuth::Anonymous),
            insecure: self.insecure(registry),
            seconds: self.options.timeout.as_secs(),
        }
    }

    /// Pulls the artifact `reference` names, of a kind `want` accepts, at most
    /// `max_size` bytes, through the cache.
    pub async fn pull(&self, reference: &str, want: Want, max_size: u64) -> Result<Pulled, Error> {
        let parsed = self.parse(reference)?;
        if let Some(pulled) = self.cached(&parsed, want, max_size).await {
            tracing::debug!(%reference, digest = %pulled.manifest_digest, "loaded from the OCI cache");
            return Ok(pulled);
        }
        let auth = self.auth(&parsed);
        let registry = parsed.resolve_registry().to_owned();
        let target = self.target(&registry, reference, &auth);
        tokio::time::timeout(
            self.options.timeout,
            self.pull_remote(&parsed, &auth, &target, want, max_size),
        )
        .await
        .map_err(|_| target.timeout(self.options.timeout.as_secs()))?
    }

    /// A reference by digest whose manifest and layer are both cached.
    async fn cached(&self, reference: &Reference, want: Want, max_size: u64) -> Option<Pulled> {
        let cache = self.cache.as_ref()?;
        let manifest_digest = reference.digest()?;
        let record = cache.record(manifest_digest)?;
        let kind = ArtifactKind::of_layer(&record.media_type).filter(|kind| want.accepts(*kind))?;
        let bytes = self.cached_blob(&record.digest, max_size).await?;
        Some(Pulled {
            bytes,
            kind,
            manifest_digest: manifest_digest.to_owned(),
            layer_digest: record.digest,
            cached: true,
        })
    }

    async fn cached_blob(&self, digest: &str, max_size: u64) -> Option<Vec<u8>> {
        let cache = self.cache.clone()?;
        let digest = digest.to_owned();
        tokio::task::spawn_blocking(move || cache.blob(&digest, max_size))
            .await
            .ok()
            .flatten()
    }

    async fn pull_remote(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        target: &Target<'_>,
        want: Want,
        max_size: u64,
    ) -> Result<Pulled, Error> {
        let client = self.client();
        let (manifest, manifest_digest) = client
            .pull_image_manifest(reference, auth)
            .await
            .map_err(|e| target.classify(e))?;
        if let Some(expected) = reference.digest()
            && expected != manifest_digest
        {
            return Err(target.mismatch(expected, &manifest_digest));
        }
        let layer = pick_layer(&manifest, want).ok_or_else(|| Error::WrongKind {
            reference: target.reference.to_owned(),
            want: want.named(),
            found: layer_types(&manifest),
        })?;
        let kind = ArtifactKind::of_layer(&layer.media_type).unwrap_or(ArtifactKind::Component);
        let size = u64::try_from(layer.size).unwrap_or(0);
        if size > max_size {
            return Err(Error::TooLarge {
                reference: target.reference.to_owned(),
                size,
                max: max_size,
            });
        }
        let (bytes, cached) = match self.cached_blob(&layer.digest, max_size).await {
            Some(bytes) => (bytes, true),
            None => (fetch_blob(&client, reference, layer, target, max_size).await?, false),
        };
        if let Some(cache) = self.cache.clone() {
            let record = LayerRecord {
                digest: layer.digest.clone(),
                media_type: layer.media_type.clone(),
                size: bytes.len() as u64,
            };
            let (manifest_digest, blob) = (manifest_digest.clone(), (!cached).then(|| bytes.clone()));
            // Written before answering, so a later pull by digest finds it.
            let _ = tokio::task::spawn_blocking(move || {
                if let Some(blob) = blob {
                    cache.put_blob(&record.digest, &blob);
                }
                cache.put_record(&manifest_digest, &record);
            })
            .await;
        }
        Ok(Pulled {
            bytes,
            kind,
            manifest_digest,
            layer_digest: layer.digest.clone(),
            cached,
        })
    }

    /// Whether `reference` can be pulled as `want` now, answered within
    /// `bound`: its digest is cached, or the registry has its manifest.
    pub async fn can_pull(&self, reference: &str, want: Want, bound: Duration) -> bool {
        let Ok(parsed) = self.parse(reference) else {
            return false;
        };
        if let (Some(cache), Some(digest)) = (&self.cache, parsed.digest())
            && let Some(record) = cache.record(digest)
            && ArtifactKind::of_layer(&record.media_type).is_some_and(|kind| want.accepts(kind))
            && cache.has_blob(&record.digest)
        {
            return true;
        }
        let auth = self.auth(&parsed);
        let client = self.client();
        matches!(
            tokio::time::timeout(bound, client.fetch_manifest_digest(&parsed, &auth)).await,
            Ok(Ok(_))
        )
    }

    /// Pushes `bytes` (a component or a provider archive) to `reference` with
    /// `annotations` on its manifest.
    pub async fn push(
        &self,
        reference: &str,
        bytes: Vec<u8>,
        annotations: BTreeMap<String, String>,
    ) -> Result<Pushed, Error> {
        let parsed = parse_reference(reference)?;
        let kind = ArtifactKind::of_bytes(&bytes).ok_or_else(|| {
            Error::NotAnArtifact(format!(
                "what is pushed to `{reference}` is neither a WebAssembly component nor a provider archive: push a .wasm file or a .par.gz made by `wash par create`"
            ))
        })?;
        let auth = self.auth(&parsed);
        let registry = parsed.resolve_registry().to_owned();
        let target = self.target(&registry, reference, &auth);
        let pushing = self.push_remote(&parsed, &auth, &target, kind, bytes, annotations);
        let digest = tokio::time::timeout(self.options.timeout, pushing)
            .await
            .map_err(|_| target.timeout(self.options.timeout.as_secs()))??;
        Ok(Pushed {
            reference: reference.to_owned(),
            digest,
            kind,
        })
    }

    async fn push_remote(
        &self,
        reference: &Reference,
        auth: &RegistryAuth,
        target: &Target<'_>,
        kind: ArtifactKind,
        bytes: Vec<u8>,
        annotations: BTreeMap<String, String>,
    ) -> Result<String, Error> {
        let client = self.client();
        let annotations = (!annotations.is_empty()).then_some(annotations);
        match kind {
            ArtifactKind::Component => {
                let is_component = bytes.get(4..8) != Some(&[1, 0, 0, 0]);
                let made = if is_component {
                    oci_wasm::WasmConfig::from_raw_component(bytes, None)
                } else {
                    oci_wasm::WasmConfig::from_raw_module(bytes, None)
                };
                let (config, layer) = made.map_err(|e| {
                    Error::NotAnArtifact(format!(
                        "`{}` cannot be pushed: the WebAssembly is not valid ({e:#}); build it again",
                        target.reference
                    ))
                })?;
                oci_wasm::WasmClient::new(self.client())
                    .push(reference, auth, layer, config, annotations)
                    .await
                    .map_err(|e| match e.downcast::<oci_client::errors::OciDistributionError>() {
                        Ok(e) => target.classify(e),
                        Err(e) => target.registry(format!("{e:#}")),
                    })?;
            }
            ArtifactKind::Provider => {
                let layers = [ImageLayer::new(bytes, media_types::PROVIDER_LAYER.to_owned(), None)];
                let config = Config::new(b"{}".to_vec(), media_types::PROVIDER_CONFIG.to_owned(), None);
                let manifest = OciImageManifest::build(&layers, &config, annotations);
                client
                    .push(reference, &layers, config, auth, Some(manifest))
                    .await
                    .map_err(|e| target.classify(e))?;
            }
        }
        client
            .fetch_manifest_digest(reference, auth)
            .await
            .map_err(|e| target.classify(e))
    }
}

/// The first layer of a kind `want` accepts.
fn pick_layer(manifest: &OciImageManifest, want: Want) -> Option<&OciDescriptor> {
    manifest
        .layers
        .iter()
        .find(|layer| ArtifactKind::of_layer(&layer.media_type).is_some_and(|kind| want.accepts(kind)))
}

fn layer_types(manifest: &OciImageManifest) -> String {
    if manifest.layers.is_empty() {
        return "none".to_owned();
    }
    manifest
        .layers
        .iter()
        .map(|layer| format!("`{}`", layer.media_type))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Streams a layer, stopping past `max_size`, and checks it against its digest.
async fn fetch_blob(
    client: &Client,
    reference: &Reference,
    layer: &OciDescriptor,
    target: &Target<'_>,
    max_size: u64,
) -> Result<Vec<u8>, Error> {
    let mut stream = client
        .pull_blob_stream(reference, layer)
        .await
        .map_err(|e| target.classify(e))?;
    let expected = u64::try_from(layer.size).unwrap_or(0);
    let mut bytes = Vec::with_capacity(usize::try_from(expected.min(max_size)).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                if (bytes.len() + chunk.len()) as u64 > max_size {
                    return Err(Error::TooLarge {
                        reference: target.reference.to_owned(),
                        size: (bytes.len() + chunk.len()) as u64,
                        max: max_size,
                    });
                }
                bytes.extend_from_slice(&chunk);
            }
            // The client checks the digest as the stream ends; a mismatch
            // surfaces here as an error once every byte has arrived.
            Err(_) if bytes.len() as u64 == expected => break,
            Err(e) => return Err(target.registry(innermost(&e))),
        }
    }
    let actual = sha256_digest(&bytes);
    if actual != layer.digest {
        return Err(target.mismatch(&layer.digest, &actual));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_latest_is_refused_unless_allowed() {
        let oci = Oci::new(Options::default()).unwrap();
        assert!(oci.parse("127.0.0.1:5000/hello:0.1.0").is_ok());
        assert!(oci.parse("oci://ghcr.io/org/app:1.2.0").is_ok());
        let digest = format!("ghcr.io/org/app@sha256:{}", "a".repeat(64));
        assert!(oci.parse(&digest).is_ok());
        for latest in ["ghcr.io/org/app", "ghcr.io/org/app:latest"] {
            let err = oci.parse(latest).unwrap_err().to_string();
            assert!(err.contains("--allow-latest"), "{err}");
        }
        let err = oci.parse("https://ghcr.io/org/app:1").unwrap_err().to_string();
        assert!(err.contains("oci://"), "{err}");
        let err = oci.parse("Not A Ref").unwrap_err().to_string();
        assert!(err.contains("registry/repository:tag"), "{err}");
        let lax = Oci::new(Options {
            allow_latest: true,
            ..Options::default()
        })
        .unwrap();
        assert!(lax.parse("ghcr.io/org/app").is_ok());
    }

    #[test]
    fn artifact_kinds_are_told_from_bytes_and_layers() {
        assert_eq!(
            ArtifactKind::of_bytes(b"\0asm\x0d\0\x01\0"),
            Some(ArtifactKind::Component)
        );
        assert_eq!(ArtifactKind::of_bytes(&[0x1f, 0x8b, 8]), Some(ArtifactKind::Provider));
        assert_eq!(ArtifactKind::of_bytes(b"#!/bin/sh"), None);
        assert_eq!(
            ArtifactKind::of_layer(media_types::LEGACY_WASM_LAYER),
            Some(ArtifactKind::Component)
        );
        assert_eq!(
            ArtifactKind::of_layer(media_types::PROVIDER_LAYER),
            Some(ArtifactKind::Provider)
        );
        assert_eq!(ArtifactKind::of_layer("application/json"), None);
    }

    #[test]
    fn a_certificate_file_without_pem_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, b"garbage").unwrap();
        let err = Oci::new(Options {
            extra_root_certificates: vec![path],
            ..Options::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("no PEM block"), "{err}");
    }
}
