//! On-disk cache of compiled components, so a host restart does not pay
//! Cranelift again for every component it runs.
//!
//! Compiled code is trusted: wasmtime maps it executable as it is. So the
//! cache trusts nothing it did not write itself (ADR 0010):
//!
//! - The root and the engine directory must be real directories (not
//!   symbolic links), owned by the current user and not writable by group or
//!   others; the runtime refuses to start otherwise.
//! - The root holds `cache.key`, 32 random bytes (mode 0600) made on first
//!   use. Each entry is `HMAC-SHA256(key, name) || compiled bytes`, where the
//!   MAC covers the engine hash, the component hash and the bytes, so an
//!   entry copied under another name, altered, truncated or planted without
//!   the key fails verification and is recompiled and overwritten.
//! - The total size is capped; after a write pushes it over, the least
//!   recently used entries (by mtime, which a hit touches) are deleted.
//!
//! Entries live at `<dir>/<engine>/<wasm>.cwasm`: `<engine>` hashes the
//! engine's compatibility (wasmtime's `precompile_compatibility_hash`, which
//! covers the wasmtime version, target and compiler settings) and the entry
//! format, and `<wasm>` is the SHA-256 of the component bytes. Entries are
//! written to a temporary file and renamed into place, so readers never see
//! a partial file.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use hmac::{Hmac, Mac as _};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{Error, ErrorKind, Result};

/// Default cap on the total size of the cache: 1 GiB.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 1 << 30;

/// Name of the key file in the cache root.
const KEY_FILE: &str = "cache.key";

/// Length of the key and of the MAC in front of each entry.
const KEY_LEN: usize = 32;
const MAC_LEN: usize = 32;

/// Changes whenever the entry layout changes, so entries of another layout
/// live in another engine directory and are never read as this one.
const ENTRY_FORMAT: &str = "mac-sha256-v1";

/// Suffix of cache entries; anything else in an engine directory is ignored.
const ENTRY_SUFFIX: &str = ".cwasm";

type HmacSha256 = Hmac<Sha256>;

/// Whether loading a component used the compile cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheOutcome {
    /// The compiled component was read from the cache.
    Hit,
    /// The component was compiled and the result stored in the cache.
    Miss,
    /// The runtime has no cache directory; the component was compiled.
    Disabled,
}

/// A directory of compiled components for one engine configuration.
pub(crate) struct CompileCache {
    root: PathBuf,
    dir: PathBuf,
    engine_hash: String,
    key: [u8; KEY_LEN],
    max_bytes: u64,
    /// One eviction at a time in this process; other processes sharing the
    /// directory may evict too, which costs at worst a recompilation.
    evicting: Mutex<()>,
}

impl std::fmt::Debug for CompileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("CompileCache")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// Feeds `Hash` implementations into SHA-256, so the key is stable across
/// Rust releases (unlike `DefaultHasher`).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// SHA-256 of a component's bytes, lowercase hex: its identity by content
/// ([`Component::wasm_hash`](crate::Component::wasm_hash) of what it
/// loads to) and its compile cache key.
#[must_use]
pub fn wasm_hash(wasm: &[u8]) -> String {
    hex(&Sha256::digest(wasm))
}

/// Identifies the engine configuration compiled code is valid for.
pub(crate) fn engine_hash(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    // The crate version guards against changes in how this crate configures
    // compilation that the engine hash would not see.
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    ENTRY_FORMAT.hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize()[..16])
}

/// Why a cache directory is refused; the text names the fix.
fn refused(path: &Path, reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::CacheDirRefused {
        path: path.to_path_buf(),
        reason: reason.into(),
    })
}

impl CompileCache {
    /// Opens (creating if needed) the cache under `root` for `engine`.
    ///
    /// Refuses a root or engine directory that is a symbolic link, is owned
    /// by another user, or is writable by group or others.
    pub(crate) fn open(root: &Path, engine: &Engine, max_bytes: u64) -> Result<Self> {
        ensure_private_dir(root)?;
        let key = load_or_create_key(root)?;
        let engine_hash = engine_hash(engine);
        let dir = root.join(&engine_hash);
        ensure_private_dir(&dir)?;
        Ok(Self {
            root: root.to_path_buf(),
            dir,
            engine_hash,
            key,
            max_bytes,
            evicting: Mutex::new(()),
        })
    }

    /// Where the entry for a component with SHA-256 `wasm_hash` lives.
    pub(crate) fn entry_path(&self, wasm_hash: &str) -> PathBuf {
        self.dir.join(format!("{wasm_hash}{ENTRY_SUFFIX}"))
    }

    /// The MAC of an entry: over the engine hash and the component hash (so
    /// an entry is valid under its own name only) and the compiled bytes.
    fn mac(&self, wasm_hash: &str, compiled: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        for part in [self.engine_hash.as_bytes(), wasm_hash.as_bytes()] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.update(compiled);
        mac
    }

    /// Returns the compiled component for `wasm`, from the cache when
    /// present and authentic, else compiling it and storing the result.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        wasm_hash: &str,
    ) -> Result<(Component, CacheOutcome)> {
        let path = self.entry_path(wasm_hash);
        match self.load(engine, &path, wasm_hash) {
            Ok(Some(component)) => {
                touch(&path);
                return Ok((component, CacheOutcome::Hit));
            }
            Ok(None) => {}
            // A damaged, foreign or planted file must not stop the component
            // from running, nor ever be run: compile again and replace it.
            Err(reason) => tracing::warn!(
                path = %path.display(),
                %reason,
                "ignoring unusable compiled-component cache entry; recompiling"
            ),
        }
        let component = compile(engine, wasm)?;
        match component.serialize() {
            Ok(compiled) => self.store(&path, wasm_hash, &compiled),
            Err(err) => tracing::warn!(
                error = %format!("{err:#}"),
                "cannot serialize compiled component for the cache"
            ),
        }
        Ok((component, CacheOutcome::Miss))
    }

    /// Reads and verifies an entry: `Ok(None)` when there is none, `Err`
    /// with the reason when there is one that cannot be used.
    fn load(&self, engine: &Engine, path: &Path, wasm_hash: &str) -> std::result::Result<Option<Component>, String> {
        let file = match fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot open it: {e}")),
        };
        let meta = file.metadata().map_err(|e| format!("cannot stat it: {e}"))?;
        if !meta.is_file() {
            return Err("it is not a regular file".to_owned());
        }
        // Read the whole entry into memory, once: what is verified is
        // exactly what is deserialized, whatever happens to the file.
        let mut bytes = Vec::new();
        file.take(self.max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if bytes.len() as u64 > self.max_bytes {
            return Err("it is larger than the whole cache may be".to_owned());
        }
        if bytes.len() < MAC_LEN {
            return Err("it is truncated".to_owned());
        }
        let (tag, compiled) = bytes.split_at(MAC_LEN);
        // `verify_slice` compares in constant time.
        self.mac(wasm_hash, compiled)
            .verify_slice(tag)
            .map_err(|_| "its MAC does not verify: it was not written by this cache for this component".to_owned())?;
        deserialize(engine, compiled)
            .map(Some)
            .map_err(|e| format!("wasmtime refused it: {e:#}"))
    }

    /// Writes an entry, then evicts if the cache grew past its cap. Failures
    /// are logged: the cache is an optimisation, and a read-only or full disk
    /// costs compile time, not availability.
    fn store(&self, path: &Path, wasm_hash: &str, compiled: &[u8]) {
        let size = (MAC_LEN + compiled.len()) as u64;
        if size > self.max_bytes {
            tracing::warn!(
                size,
                max_bytes = self.max_bytes,
                "compiled component is larger than the compile cache may be; not caching it"
            );
            return;
        }
        let tag = self.mac(wasm_hash, compiled).finalize().into_bytes();
        let mut entry = Vec::with_capacity(MAC_LEN + compiled.len());
        entry.extend_from_slice(&tag);
        entry.extend_from_slice(compiled);
        if let Err(err) = write_atomically(path, &entry) {
            tracing::warn!(path = %path.display(), error = %err, "cannot write compiled-component cache entry");
            return;
        }
        self.evict();
    }

    /// Deletes the least recently used entries until the total size is at
    /// most the cap. Counts the entries of every engine directory under the
    /// root, so those of older engines are evicted first.
    pub(crate) fn evict(&self) {
        let _one_at_a_time = self.evicting.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut entries = self.entries();
        let mut total: u64 = entries.iter().map(|e| e.size).sum();
        if total <= self.max_bytes {
            return;
        }
        entries.sort_by_key(|e| e.modified);
        for entry in entries {
            if total <= self.max_bytes {
                break;
            }
            match fs::remove_file(&entry.path) {
                Ok(()) => {
                    total = total.saturating_sub(entry.size);
                    tracing::debug!(path = %entry.path.display(), size = entry.size, "evicted compile cache entry");
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => total = total.saturating_sub(entry.size),
                Err(e) => tracing::warn!(path = %entry.path.display(), error = %e, "cannot evict compile cache entry"),
            }
        }
    }

    /// Every entry under the root (regular files named `*.cwasm` in real
    /// subdirectories; links are skipped).
    fn entries(&self) -> Vec<Entry> {
        let mut found = Vec::new();
        let Ok(dirs) = fs::read_dir(&self.root) else {
            return found;
        };
        for dir in dirs.flatten() {
            if !dir.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = fs::read_dir(dir.path()) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if !path.to_string_lossy().ends_with(ENTRY_SUFFIX) {
                    continue;
                }
                let Ok(meta) = fs::symlink_metadata(&path) else {
                    continue;
                };
                if meta.is_file() {
                    found.push(Entry {
                        path,
                        size: meta.len(),
                        modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    });
                }
            }
        }
        found
    }
}

/// One file of the cache, for eviction.
#[derive(Debug)]
struct Entry {
    path: PathBuf,
    size: u64,
    modified: SystemTime,
}

/// Marks an entry as just used, for eviction.
fn touch(path: &Path) {
    let touched = fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()));
    if let Err(e) = touched {
        tracing::debug!(path = %path.display(), error = %e, "cannot update the cache entry's time");
    }
}

/// Deserializes compiled bytes whose MAC has been verified.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, compiled: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` trusts its input to be the output of
    // `Component::serialize` for a compatible engine. Here it is, because the
    // caller (`CompileCache::load`) only passes bytes that:
    // - were read into memory in full before checking, so nothing can change
    //   them between the check and this call;
    // - carry an HMAC-SHA256 that verified under the cache's 32-byte key,
    //   which only this user can read (`load_or_create_key`: mode 0600 in a
    //   directory `ensure_private_dir` checked to be ours and not writable by
    //   others), and which `CompileCache::store` computes only over the
    //   output of `Component::serialize` of an engine with this
    //   `engine_hash`, for the component with this SHA-256;
    // so the bytes are exactly what this engine configuration serialized for
    // this component. wasmtime also checks the header and version of the
    // bytes before using them.
    unsafe { Component::deserialize(engine, compiled) }
}

/// Compiles component bytes with Cranelift.
pub(crate) fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component> {
    Component::new(engine, wasm).map_err(|e| Error::wasmtime(ErrorKind::InvalidComponent, e))
}

/// Creates `dir` (and missing parents) owner-only if it does not exist, then
/// checks that it is a real directory, ours, and not writable by others.
fn ensure_private_dir(dir: &Path) -> Result<()> {
    let io = |e: std::io::Error| Error::with_source(ErrorKind::Cache, e);
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt as _;
                builder.mode(0o700);
            }
            builder.create(dir).map_err(io)?;
            // Read again, without following links: what was created (or
            // raced into place) is what gets checked.
            fs::symlink_metadata(dir).map_err(io)?
        }
        Err(e) => return Err(io(e)),
    };
    check_private(dir, &meta, true)
}

/// The checks of [`ensure_private_dir`] on metadata read without following
/// links.
fn check_private(path: &Path, meta: &fs::Metadata, want_dir: bool) -> Result<()> {
    if meta.file_type().is_symlink() {
        return Err(refused(
            path,
            "it is a symbolic link: point the cache at a real directory that only you can write",
        ));
    }
    if want_dir && !meta.is_dir() {
        return Err(refused(path, "it is not a directory: point the cache at a directory"));
    }
    if !want_dir && !meta.is_file() {
        return Err(refused(path, "it is not a regular file: remove it"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(refused(
                path,
                format!(
                    "it is owned by uid {}, not by this user (uid {me}): use a directory of your own",
                    meta.uid()
                ),
            ));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(refused(
                path,
                format!(
                    "it is writable by group or others (mode {mode:04o}): run `chmod go-w {}` or use another directory",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Makes temporary file names unique within the process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Reads the cache key, creating it (32 random bytes, mode 0600) if absent.
fn load_or_create_key(root: &Path) -> Result<[u8; KEY_LEN]> {
    let path = root.join(KEY_FILE);
    let io = |e: std::io::Error| Error::with_source(ErrorKind::Cache, e);
    match fs::symlink_metadata(&path) {
        Ok(meta) => {
            check_private(&path, &meta, false)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt as _;
                if meta.mode() & 0o077 != 0 {
                    return Err(refused(
                        &path,
                        format!("others may read it: run `chmod 600 {}` or delete it", path.display()),
                    ));
                }
            }
            let bytes = fs::read(&path).map_err(io)?;
            <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
                refused(
                    &path,
                    format!(
                        "it is not a {KEY_LEN}-byte key: delete it and a new one is made (the cache is then rebuilt)"
                    ),
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0; KEY_LEN];
            getrandom::fill(&mut key).map_err(|e| Error::with_source(ErrorKind::Cache, e.to_string()))?;
            let tmp = root.join(format!(
                ".{KEY_FILE}.{}.{}.tmp",
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
                file.write_all(&key)?;
                file.sync_all()?;
                // Another process may have made a key meanwhile: keep the
                // first one, so entries written with it stay valid.
                fs::hard_link(&tmp, &path)
            })();
            let _ = fs::remove_file(&tmp);
            match written {
                Ok(()) => Ok(key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_key(root),
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

/// Writes `bytes` to `path` through a uniquely named temporary file in the
/// same directory and an atomic rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut options = fs::File::options();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_hash_is_sha256_hex() {
        assert_eq!(
            wasm_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn engine_hash_is_stable_for_one_config() {
        let engine = Engine::default();
        assert_eq!(engine_hash(&engine), engine_hash(&engine.clone()));
        assert_eq!(engine_hash(&engine).len(), 32);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.cwasm");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["entry.cwasm"]);
    }

    #[cfg(unix)]
    #[test]
    fn cache_dir_and_key_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(&root.path().join("new"), &Engine::default(), 1 << 20).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&cache.dir), 0o700);
        assert_eq!(mode(&cache.root), 0o700);
        assert_eq!(mode(&cache.root.join(KEY_FILE)), 0o600);
        // The key survives a reopen, so entries stay valid across restarts.
        let again = CompileCache::open(&root.path().join("new"), &Engine::default(), 1 << 20).unwrap();
        assert_eq!(cache.key, again.key);
        assert!(!format!("{cache:?}").contains("key"), "{cache:?}");
    }

    #[test]
    fn mac_binds_the_entry_to_its_name_and_bytes() {
        let root = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(root.path(), &Engine::default(), 1 << 20).unwrap();
        let tag = cache.mac("aa", b"code").finalize().into_bytes();
        assert!(cache.mac("aa", b"code").verify_slice(&tag).is_ok());
        assert!(cache.mac("bb", b"code").verify_slice(&tag).is_err());
        assert!(cache.mac("aa", b"cod3").verify_slice(&tag).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_readable_key_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = tempfile::tempdir().unwrap();
        CompileCache::open(root.path(), &Engine::default(), 1 << 20).unwrap();
        let key = root.path().join(KEY_FILE);
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = CompileCache::open(root.path(), &Engine::default(), 1 << 20).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::CacheDirRefused { .. }), "{err:?}");
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }
}
