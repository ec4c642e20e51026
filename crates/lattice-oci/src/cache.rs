//! The content-addressed cache of pulled artifacts: `blobs/sha256/<hex>`
//! holds a layer's bytes, `manifests/sha256/<hex>` which layer a manifest
//! chose. A blob is hashed again when read, so a damaged or altered file is
//! dropped and fetched anew, never used; a manifest record only points at a
//! blob, so it cannot make anything load that the digest does not name.
//!
//! The directory must be the user's own: it is created owner-only, and one
//! that is a symbolic link, owned by someone else or writable by others is
//! refused.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest as _, Sha256};

use crate::Error;

/// The layer a manifest resolved to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct LayerRecord {
    pub(crate) digest: String,
    pub(crate) media_type: String,
    pub(crate) size: u64,
}

/// A content-addressed store of layers under one private directory.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    root: PathBuf,
}

/// Makes temporary names unique within the process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The hex part of a `sha256:` digest, when it is one.
pub(crate) fn sha256_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(hex)
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

impl Cache {
    /// Opens (creating) the cache at `root`.
    pub(crate) fn open(root: &Path) -> Result<Self, Error> {
        let refuse = |message: String| Error::Cache {
            path: root.display().to_string(),
            message,
        };
        for dir in [
            root.to_path_buf(),
            root.join("blobs/sha256"),
            root.join("manifests/sha256"),
        ] {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder.create(&dir).map_err(|e| refuse(e.to_string()))?;
        }
        let meta = fs::symlink_metadata(root).map_err(|e| refuse(e.to_string()))?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(refuse(
                "it is not a real directory (a symbolic link?): point it at a directory of your own".into(),
            ));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let me = rustix::process::geteuid().as_raw();
            if meta.uid() != me {
                return Err(refuse(format!(
                    "it is owned by uid {}, not by this user (uid {me}): use a directory of your own",
                    meta.uid()
                )));
            }
            if meta.mode() & 0o022 != 0 {
                return Err(refuse(format!(
                    "it is writable by group or others (mode {:04o}): run `chmod go-w {}`",
                    meta.mode() & 0o7777,
                    root.display()
                )));
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        Some(self.root.join("blobs/sha256").join(sha256_hex(digest)?))
    }

    fn record_path(&self, manifest_digest: &str) -> Option<PathBuf> {
        Some(self.root.join("manifests/sha256").join(sha256_hex(manifest_digest)?))
    }

    /// The bytes stored under `digest`, at most `max` of them, if present and
    /// still hashing to it; a damaged entry is removed.
    pub(crate) fn blob(&self, digest: &str, max: u64) -> Option<Vec<u8>> {
        let path = self.blob_path(digest)?;
        let file = fs::File::open(&path).ok()?;
        let mut bytes = Vec::new();
        file.take(max.saturating_add(1)).read_to_end(&mut bytes).ok()?;
        if bytes.len() as u64 > max {
            return None;
        }
        if sha256_digest(&bytes) != digest {
            tracing::warn!(path = %path.display(), "a cached OCI blob does not match its digest; removing it");
            let _ = fs::remove_file(&path);
            return None;
        }
        Some(bytes)
    }

    /// Whether a blob is stored under `digest` (not hashed: for bids, not loads).
    pub(crate) fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_some_and(|path| path.is_file())
    }

    /// Stores `bytes` under `digest`, which the caller has verified.
    pub(crate) fn put_blob(&self, digest: &str, bytes: &[u8]) {
        if let Some(path) = self.blob_path(digest) {
            self.write(&path, bytes);
        }
    }

    /// The layer `manifest_digest` resolved to when it was pulled.
    pub(crate) fn record(&self, manifest_digest: &str) -> Option<LayerRecord> {
        let text = fs::read(self.record_path(manifest_digest)?).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Remembers which layer `manifest_digest` resolved to.
    pub(crate) fn put_record(&self, manifest_digest: &str, record: &LayerRecord) {
        if let (Some(path), Ok(text)) = (self.record_path(manifest_digest), serde_json::to_vec(record)) {
            self.write(&path, &text);
        }
    }

    /// Writes `bytes` to `path` whole or not at all (a temporary file renamed
    /// into place). The cache is an optimisation: a failure is logged, not returned.
    fn write(&self, path: &Path, bytes: &[u8]) {
        let tmp = self.root.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut options = fs::File::options();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            std::io::Write::write_all(&mut file, bytes)?;
            file.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            tracing::warn!(path = %path.display(), error = %e, "cannot write to the OCI cache");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_found_by_digest_and_damage_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(&dir.path().join("oci")).unwrap();
        let digest = sha256_digest(b"hello");
        assert_eq!(cache.blob(&digest, 100), None);
        cache.put_blob(&digest, b"hello");
        assert!(cache.has_blob(&digest));
        assert_eq!(cache.blob(&digest, 100).as_deref(), Some(&b"hello"[..]));
        assert_eq!(cache.blob(&digest, 4), None, "larger than the bound");
        let path = cache.blob_path(&digest).unwrap();
        fs::write(&path, b"jello").unwrap();
        assert_eq!(cache.blob(&digest, 100), None);
        assert!(!path.exists(), "a damaged blob is removed");
    }

    #[test]
    fn digests_that_are_not_sha256_hex_name_no_file() {
        assert!(sha256_hex("sha256:../../etc/passwd").is_none());
        assert!(sha256_hex(&format!("sha256:{}", "A".repeat(64))).is_none());
        assert!(sha256_hex(&format!("sha512:{}", "a".repeat(64))).is_none());
        assert!(sha256_hex(&sha256_digest(b"")).is_some());
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("oci");
        fs::create_dir(&root).unwrap();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o777)).unwrap();
        let err = Cache::open(&root).unwrap_err().to_string();
        assert!(err.contains("writable by group or others"), "{err}");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        let err = Cache::open(&link).unwrap_err().to_string();
        assert!(err.contains("not a real directory"), "{err}");
    }
}
