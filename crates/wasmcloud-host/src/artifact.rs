//! Resolving a component reference to its bytes. `file://` references are
//! read when the host allows file loads; OCI references come later and are
//! refused with an error saying so.

use std::path::PathBuf;

/// Why a reference could not be fetched; the text goes into
/// `component_scale_failed` events and ctl replies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("file references are disabled on this host: start it with --allow-file-load to load `{0}`")]
    FileLoadDisabled(String),
    #[error(
        "cannot load `{reference}`: OCI references are not supported yet, use a file:// reference with --allow-file-load"
    )]
    OciUnsupported { reference: String },
    #[error("`{0}` is not a usable component reference: use file:///absolute/path.wasm")]
    Invalid(String),
    #[error("component file {path} is {size} bytes, more than the maximum of {max}: raise --max-component-size-bytes")]
    TooLarge { path: String, size: u64, max: u64 },
    #[error("cannot read component file {path}: {message}")]
    Read { path: String, message: String },
}

/// Where a reference points.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    File(PathBuf),
    Oci,
}

fn classify(reference: &str) -> Result<Source, FetchError> {
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

/// Reads the component bytes `reference` names.
pub(crate) async fn fetch(reference: &str, allow_file_load: bool, max_size: usize) -> Result<Vec<u8>, FetchError> {
    let path = match classify(reference)? {
        Source::Oci => {
            return Err(FetchError::OciUnsupported {
                reference: reference.to_owned(),
            });
        }
        Source::File(_) if !allow_file_load => return Err(FetchError::FileLoadDisabled(reference.to_owned())),
        Source::File(path) => path,
    };
    let shown = path.display().to_string();
    let read_error = |e: std::io::Error| FetchError::Read {
        path: shown.clone(),
        message: e.to_string(),
    };
    let size = tokio::fs::metadata(&path).await.map_err(read_error)?.len();
    let max = max_size as u64;
    if size > max {
        return Err(FetchError::TooLarge {
            path: shown.clone(),
            size,
            max,
        });
    }
    tokio::fs::read(&path).await.map_err(read_error)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = fetch(&reference, false, 100).await.unwrap_err();
        assert!(err.to_string().contains("--allow-file-load"), "{err}");
        assert_eq!(fetch(&reference, true, 100).await.unwrap(), b"0123456789");
        let err = fetch(&reference, true, 5).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { size: 10, max: 5, .. }), "{err}");
        let err = fetch("file:///nonexistent/x.wasm", true, 5).await.unwrap_err();
        assert!(matches!(err, FetchError::Read { .. }), "{err}");
        let err = fetch("ghcr.io/x/y:1", true, 5).await.unwrap_err();
        assert!(err.to_string().contains("OCI"), "{err}");
    }
}
