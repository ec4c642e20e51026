//! On-disk cache of compiled components, so a host restart does not pay
//! Cranelift again for every component it runs.
//!
//! Entries live at `<dir>/<engine>/<wasm>.cwasm`: `<engine>` hashes the
//! engine's compatibility (wasmtime's `precompile_compatibility_hash`, which
//! covers the wasmtime version, target and compiler settings) and `<wasm>` is
//! the SHA-256 of the component bytes. Entries are written to a temporary
//! file and renamed into place, so readers never see a partial file.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{Error, ErrorKind, Result};

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
#[derive(Debug)]
pub(crate) struct CompileCache {
    dir: PathBuf,
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

/// SHA-256 of the component bytes, lowercase hex.
pub(crate) fn wasm_hash(wasm: &[u8]) -> String {
    hex(&Sha256::digest(wasm))
}

/// Identifies the engine configuration compiled code is valid for.
pub(crate) fn engine_hash(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    // The crate version guards against changes in how this crate configures
    // compilation that the engine hash would not see.
    env!("CARGO_PKG_VERSION").hash(&mut hasher);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex(&hasher.0.finalize()[..16])
}

impl CompileCache {
    /// Opens (creating if needed) the cache under `root` for `engine`.
    pub(crate) fn open(root: &Path, engine: &Engine) -> Result<Self> {
        let dir = root.join(engine_hash(engine));
        create_private_dir(&dir).map_err(|e| Error::with_source(ErrorKind::Cache, e))?;
        Ok(Self { dir })
    }

    /// Where the entry for a component with SHA-256 `wasm_hash` lives.
    pub(crate) fn entry_path(&self, wasm_hash: &str) -> PathBuf {
        self.dir.join(format!("{wasm_hash}.cwasm"))
    }

    /// Returns the compiled component for `wasm`, from the cache when
    /// present, else compiling it and storing the result.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
        wasm_hash: &str,
    ) -> Result<(Component, CacheOutcome)> {
        let path = self.entry_path(wasm_hash);
        if path.is_file() {
            match load(engine, &path) {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                // A damaged or foreign file must not stop the component from
                // running: compile again and replace it.
                Err(err) => tracing::warn!(
                    path = %path.display(),
                    error = %format!("{err:#}"),
                    "ignoring unusable compiled-component cache entry"
                ),
            }
        }
        let component = compile(engine, wasm)?;
        match component.serialize() {
            Ok(compiled) => {
                if let Err(err) = write_atomically(&path, &compiled) {
                    // The cache is an optimisation: a read-only or full disk
                    // costs compile time, not availability.
                    tracing::warn!(
                        path = %path.display(),
                        error = %err,
                        "cannot write compiled-component cache entry"
                    );
                }
            }
            Err(err) => tracing::warn!(
                error = %format!("{err:#}"),
                "cannot serialize compiled component for the cache"
            ),
        }
        Ok((component, CacheOutcome::Miss))
    }
}

/// Loads a cache entry.
#[allow(unsafe_code)]
fn load(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize_file` trusts the file to be wasmtime-compiled code
    // for a compatible engine. Sound here because the file was written only by
    // `get_or_compile` (the output of `Component::serialize`) into a directory
    // that we create with owner-only permissions, named by the hash of this
    // engine's compatibility settings, under a file name that is the SHA-256
    // of the component bytes; it is renamed into place only once completely
    // written, so it is never a partial file. wasmtime also checks the
    // header and version of the file before using it.
    unsafe { Component::deserialize_file(engine, path) }
}

/// Compiles component bytes with Cranelift.
pub(crate) fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component> {
    Component::new(engine, wasm).map_err(|e| Error::wasmtime(ErrorKind::InvalidComponent, e))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes `bytes` to `path` through a uniquely named temporary file in the
/// same directory and an atomic rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
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
        let mut file = fs::File::create(&tmp)?;
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
    fn cache_dir_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let root = tempfile::tempdir().unwrap();
        let cache = CompileCache::open(root.path(), &Engine::default()).unwrap();
        let mode = fs::metadata(&cache.dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
