//! The host's compile cache: a directory others could write, or one reached
//! through a symbolic link, stops the host at start with an error naming the
//! directory and the fix; a private one is used.

use lattice_host::{ErrorKind, Host};

use crate::support::Lattice;

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn an_unsafe_cache_dir_stops_the_host_at_start() {
    use std::os::unix::fs::PermissionsExt as _;
    let lattice = Lattice::start().await;
    let parent = tempfile::tempdir().unwrap();
    let shared = parent.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let link = parent.path().join("link");
    std::os::unix::fs::symlink(&shared, &link).unwrap();

    for (dir, cause) in [(&shared, "chmod go-w"), (&link, "symbolic link")] {
        let mut config = lattice.host_config(&[]);
        config.compile_cache_dir = Some(dir.clone());
        let err = Host::start(config).await.unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::CompileCache {
                dir: dir.display().to_string()
            }
        );
        let text = error_chain(&err);
        assert!(text.contains(&dir.display().to_string()), "{text}");
        assert!(text.contains("--compile-cache-dir"), "{text}");
        assert!(text.contains(cause), "{text}");
    }

    let mut config = lattice.host_config(&[]);
    config.compile_cache_dir = Some(parent.path().join("private"));
    let host = Host::start(config).await.expect("a private cache dir is used");
    host.stop(None).await;
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
