//! Resolving a component or provider reference to its bytes. `file://`
//! references are read when the host allows file loads; anything else is an
//! OCI reference, pulled through the host's [`lattice_oci::Oci`] (its cache,
//! credentials and `latest` policy).
//!
//! A control request names the file, so the file is treated as hostile:
//! only regular files are read (never a FIFO, device, socket or directory,
//! and opening one never blocks), at most the size cap is read whatever the
//! metadata says, and with an allowed root set, the path must lie inside it
//! once `..` and symbolic links are resolved.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// Why a reference could not be fetched; the text goes into
/// `component_scale_failed` events and ctl replies. It names only the
/// reference given, never the allowed root or any other path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("file references are disabled on this host: start it with --allow-file-load to load `{0}`")]
    FileLoadDisabled(String),
    #[error("cannot pull {kind} `{reference}`: {message}")]
    Oci {
        kind: Artifact,
        reference: String,
        message: String,
    },
    #[error("`{0}` is not a usable reference: use an OCI reference (registry/repository:tag) or file:///absolute/path")]
    Invalid(String),
    #[error("{kind} file {path} is larger than the maximum of {max} bytes: {}", kind.size_fix())]
    TooLarge { kind: Artifact, path: String, max: u64 },
    #[error("{kind} file {path} is {what}, not a regular file: point the reference at {}", kind.file_hint())]
    NotAFile {
        kind: Artifact,
        path: String,
        what: &'static str,
    },
    #[error(
        "{kind} file {path} is outside the directory this host loads files from (--allowed-file-root): put it there"
    )]
    OutsideRoot { kind: Artifact, path: String },
    #[error("cannot read {kind} file {path}: {message}")]
    Read {
        kind: Artifact,
        path: String,
        message: String,
    },
}

/// What a reference is expected to name, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Artifact {
    Component,
    Provider,
}

impl Artifact {
    fn size_fix(self) -> &'static str {
        match self {
            Self::Component => "raise --max-component-size-bytes",
            Self::Provider => "a provider binary or archive this large is not loaded",
        }
    }

    fn file_hint(self) -> &'static str {
        match self {
            Self::Component => "a .wasm file",
            Self::Provider => "a provider archive (.par, .par.gz) or executable",
        }
    }
}

impl std::fmt::Display for Artifact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Component => "component",
            Self::Provider => "provider",
        })
    }
}

/// Where a reference points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    File(PathBuf),
    Oci,
}

pub(crate) fn classify(reference: &str) -> Result<Source, FetchError> {
    if let Some(path) = reference.strip_prefix("file://") {
        if path.is_empty() {
            return Err(FetchError::Invalid(reference.to_owned()));
        }
        return Ok(Source::File(PathBuf::from(path)));
    }
    if reference.trim().is_empty() || reference.contains("://") && !reference.starts_with("oci://") {
        return Err(FetchError::Invalid(reference.to_owned()));
    }
    Ok(Source::Oci)
}

/// What a host allows `file://` references to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FilePolicy<'a> {
    /// Whether `file://` references may be loaded at all.
    pub(crate) allow: bool,
    /// When set, only files inside this directory may be loaded.
    pub(crate) root: Option<&'a Path>,
}

/// Reads the bytes of the `kind` that `reference` names, at most `max_size` of them.
pub(crate) async fn fetch(
    reference: &str,
    kind: Artifact,
    policy: FilePolicy<'_>,
    oci: &lattice_oci::Oci,
    max_size: usize,
) -> Result<Vec<u8>, FetchError> {
    let path = match classify(reference)? {
        Source::Oci => {
            let want = match kind {
                Artifact::Component => lattice_oci::Want::Component,
                Artifact::Provider => lattice_oci::Want::Provider,
            };
            let pulled = oci
                .pull(reference, want, max_size as u64)
                .await
                .map_err(|e| FetchError::Oci {
                    kind,
                    reference: reference.to_owned(),
                    message: e.to_string(),
                })?;
            tracing::info!(%reference, digest = %pulled.manifest_digest, cached = pulled.cached, "pulled from the registry");
            return Ok(pulled.bytes);
        }
        Source::File(_) if !policy.allow => return Err(FetchError::FileLoadDisabled(reference.to_owned())),
        Source::File(path) => path,
    };
    let root = policy.root.map(Path::to_path_buf);
    // Blocking file system calls belong on the blocking pool; none of them
    // can block for long (see `read_file`).
    tokio::task::spawn_blocking(move || read_file(&path, kind, root.as_deref(), max_size as u64))
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

fn read_file(path: &Path, kind: Artifact, root: Option<&Path>, max: u64) -> Result<Vec<u8>, FetchError> {
    let shown = path.display().to_string();
    let read_error = |e: std::io::Error| FetchError::Read {
        kind,
        path: shown.clone(),
        message: e.to_string(),
    };
    let path = match root {
        Some(root) => confine(path, root).ok_or_else(|| FetchError::OutsideRoot {
            kind,
            path: shown.clone(),
        })?,
        None => path.to_path_buf(),
    };
    // Refuse what is not a regular file before opening it: opening a device
    // can have effects of its own.
    let what = file_kind(&std::fs::metadata(&path).map_err(read_error)?);
    if let Some(what) = what {
        return Err(FetchError::NotAFile {
            kind,
            path: shown,
            what,
        });
    }
    let mut options = std::fs::File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Without O_NONBLOCK, opening a FIFO waits for a writer: the path
        // may have been swapped for one since the check above. Regular files
        // ignore the flag.
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits().cast_signed());
    }
    let file = options.open(&path).map_err(read_error)?;
    // Check again on the opened handle: it is what will be read.
    if let Some(what) = file_kind(&file.metadata().map_err(read_error)?) {
        return Err(FetchError::NotAFile {
            kind,
            path: shown,
            what,
        });
    }
    // Never trust the size in the metadata (files in /proc say 0, a file may
    // grow): read one byte past the cap at most.
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > max {
        return Err(FetchError::TooLarge { kind, path: shown, max });
    }
    Ok(bytes)
}

/// `None` for a regular file, else what it is, in words.
fn file_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if kind.is_char_device() {
            return Some("a character device");
        }
        if kind.is_block_device() {
            return Some("a block device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// The real path of `path` if it lies inside `root` once `..` and symbolic
/// links are resolved, else `None`.
///
/// A path that does not resolve (it does not exist) is judged by its text,
/// `..` folded: inside the root it is returned as given, so the caller
/// reports it missing; outside it is `None`, so whether a file exists
/// outside the root cannot be learnt from the error.
fn confine(path: &Path, root: &Path) -> Option<PathBuf> {
    let root = std::fs::canonicalize(root).ok()?;
    match std::fs::canonicalize(path) {
        Ok(real) => real.starts_with(&root).then_some(real),
        Err(_) => {
            let folded = fold_dots(path)?;
            folded.starts_with(&root).then_some(folded)
        }
    }
}

/// `path` with `.` and `..` folded away textually; `None` for a relative
/// path or one that climbs above `/`.
pub(crate) fn fold_dots(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut folded = PathBuf::new();
    for part in path.components() {
        match part {
            Component::Prefix(_) | Component::RootDir | Component::Normal(_) => folded.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !folded.pop() {
                    return None;
                }
            }
        }
    }
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: FilePolicy<'static> = FilePolicy {
        allow: true,
        root: None,
    };

    fn oci() -> lattice_oci::Oci {
        lattice_oci::Oci::new(lattice_oci::Options::default()).unwrap()
    }

    #[test]
    fn references_are_classified() {
        assert_eq!(classify("file:///a.wasm").unwrap(), Source::File("/a.wasm".into()));
        assert_eq!(classify("ghcr.io/x/y:1").unwrap(), Source::Oci);
        assert_eq!(classify("oci://ghcr.io/x/y:1").unwrap(), Source::Oci);
        assert!(classify("https://x/y.wasm").is_err());
        assert!(classify("file://").is_err());
        assert!(classify("").is_err());
    }

    #[tokio::test]
    async fn file_loads_need_permission_and_respect_the_size_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.wasm");
        std::fs::write(&path, b"0123456789").unwrap();
        let reference = format!("file://{}", path.display());
        let disabled = FilePolicy {
            allow: false,
            root: None,
        };
        let err = fetch(&reference, Artifact::Component, disabled, &oci(), 100)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("--allow-file-load"), "{err}");
        assert_eq!(
            fetch(&reference, Artifact::Component, ALLOW, &oci(), 100)
                .await
                .unwrap(),
            b"0123456789"
        );
        assert_eq!(
            fetch(&reference, Artifact::Component, ALLOW, &oci(), 10).await.unwrap(),
            b"0123456789"
        );
        let err = fetch(&reference, Artifact::Component, ALLOW, &oci(), 5)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { max: 5, .. }), "{err}");
        assert!(err.to_string().contains("--max-component-size-bytes"), "{err}");
        let err = fetch("file:///nonexistent/x.wasm", Artifact::Component, ALLOW, &oci(), 5)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Read { .. }), "{err}");
        // An OCI reference goes to the registry client, whose policy applies.
        let err = fetch("ghcr.io/x/y:latest", Artifact::Component, ALLOW, &oci(), 5)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("--allow-latest"), "{err}");
    }

    #[test]
    fn dots_fold() {
        assert_eq!(fold_dots(Path::new("/a/./b/../c")), Some(PathBuf::from("/a/c")));
        assert_eq!(fold_dots(Path::new("/a/../../etc")), None);
        assert_eq!(fold_dots(Path::new("a/b")), None);
    }

    fn refused(err: &FetchError) -> String {
        err.to_string()
    }

    async fn fetch_in_time(reference: &str, policy: FilePolicy<'_>, max: usize) -> Result<Vec<u8>, FetchError> {
        // A fetch that blocks (on a FIFO, or reading /dev/zero forever) fails
        // the test instead of hanging it.
        tokio::time::timeout(
            std::time::Duration::from_secs(30),
            fetch(reference, Artifact::Component, policy, &oci(), max),
        )
        .await
        .expect("fetch returned in time")
    }

    #[tokio::test]
    async fn dev_zero_is_refused_without_reading() {
        let err = fetch_in_time("file:///dev/zero", ALLOW, 1 << 20).await.unwrap_err();
        assert!(
            matches!(
                err,
                FetchError::NotAFile {
                    kind: Artifact::Component,
                    what: "a character device",
                    ..
                }
            ),
            "{err}"
        );
        assert!(refused(&err).contains("/dev/zero is a character device"), "{err}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_fifo_is_refused_and_never_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.wasm");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = fetch_in_time(&format!("file://{}", fifo.display()), ALLOW, 1 << 20)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                FetchError::NotAFile {
                    kind: Artifact::Component,
                    what: "a FIFO (named pipe)",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch_in_time(&format!("file://{}", dir.path().display()), ALLOW, 1 << 20)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                FetchError::NotAFile {
                    kind: Artifact::Component,
                    what: "a directory",
                    ..
                }
            ),
            "{err}"
        );
        assert!(refused(&err).contains("is a directory, not a regular file"), "{err}");
    }

    #[tokio::test]
    async fn the_cap_holds_whatever_the_metadata_says() {
        // /proc files report a size of 0 but have content.
        let err = fetch_in_time("file:///proc/self/status", ALLOW, 16).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { max: 16, .. }), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.wasm");
        std::fs::write(&big, vec![0; 4097]).unwrap();
        let err = fetch_in_time(&format!("file://{}", big.display()), ALLOW, 4096)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { max: 4096, .. }), "{err}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn an_allowed_root_cannot_be_escaped() {
        let top = tempfile::tempdir().unwrap();
        let root = top.path().join("components");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("ok.wasm"), b"inside").unwrap();
        let secret = top.path().join("secret.wasm");
        std::fs::write(&secret, b"outside").unwrap();
        std::os::unix::fs::symlink(&secret, root.join("link.wasm")).unwrap();
        std::os::unix::fs::symlink(top.path(), root.join("up")).unwrap();
        std::fs::write(root.join("inner.wasm"), b"inner").unwrap();
        std::os::unix::fs::symlink(root.join("inner.wasm"), root.join("alias.wasm")).unwrap();
        let policy = FilePolicy {
            allow: true,
            root: Some(&root),
        };
        let at = |p: &Path| format!("file://{}", p.display());

        assert_eq!(
            fetch_in_time(&at(&root.join("ok.wasm")), policy, 100).await.unwrap(),
            b"inside"
        );
        // A link that stays inside the root is fine.
        assert_eq!(
            fetch_in_time(&at(&root.join("alias.wasm")), policy, 100).await.unwrap(),
            b"inner"
        );
        let escapes = [
            secret.clone(),
            root.join("../secret.wasm"),
            root.join("link.wasm"),
            root.join("up/secret.wasm"),
            PathBuf::from("/etc/passwd"),
            // Missing files outside the root are refused the same way, so
            // the error does not tell what exists out there.
            top.path().join("missing.wasm"),
            root.join("../missing.wasm"),
        ];
        for path in escapes {
            let reference = at(&path);
            let err = fetch_in_time(&reference, policy, 100).await.unwrap_err();
            assert!(matches!(err, FetchError::OutsideRoot { .. }), "{reference}: {err}");
            let text = refused(&err);
            assert!(text.contains("--allowed-file-root"), "{text}");
            // Only the path given is named, never the root or the target.
            let other = text.replace(&path.display().to_string(), "");
            assert!(!other.contains(&*top.path().to_string_lossy()), "{text}");
        }
        // Missing inside the root: reported missing.
        let err = fetch_in_time(&at(&root.join("nope.wasm")), policy, 100)
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Read { .. }), "{err}");
    }
}
