//! The suite's own test components: the workspace's `hello-http` guest,
//! compiled into this binary and signed here with fresh keys, twice (two
//! versions, so an update has new bytes to load), written where the hosts
//! can read them by `file://` reference.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use lattice_claims::wasm::{SignOptions, sign_component};

/// The signed components and what their claims say.
pub(crate) struct Fixture {
    /// Holds the files for as long as the suite runs.
    _dir: tempfile::TempDir,
    /// `file://` reference of version 1.
    pub(crate) v1: String,
    /// `file://` reference of version 2.
    pub(crate) v2: String,
    /// The component's public key (`M…`), the claims' subject.
    pub(crate) subject: String,
    /// The account that signed it (`A…`).
    pub(crate) issuer: String,
    /// The claims' name.
    pub(crate) name: String,
}

impl Fixture {
    /// Signs the guest and writes both versions to a fresh directory under
    /// `parent` (the system's temporary directory when `None`).
    pub(crate) fn create(parent: Option<&std::path::Path>) -> Result<Self> {
        let wasm = lattice_test_support::guests::embedded::HELLO_HTTP;
        let account = nkeys::KeyPair::new_account();
        let module = nkeys::KeyPair::new_module();
        let name = "conformance-hello".to_owned();
        let dir = match parent {
            Some(parent) => tempfile::Builder::new().prefix("conformance-").tempdir_in(parent),
            None => tempfile::Builder::new().prefix("conformance-").tempdir(),
        }
        .context("cannot create a directory for the test components")?;
        let write = |version: &str| -> Result<String> {
            let options = SignOptions {
                name: Some(name.clone()),
                ver: Some(version.to_owned()),
                rev: Some(1),
                tags: vec!["conformance".to_owned()],
                ..SignOptions::default()
            };
            let signed = sign_component(wasm, &account, &module, &options).context("cannot sign the test component")?;
            let path: PathBuf = dir.path().join(format!("hello-{version}.wasm"));
            std::fs::write(&path, signed).with_context(|| format!("cannot write {}", path.display()))?;
            Ok(format!("file://{}", path.display()))
        };
        let v1 = write("1.0.0")?;
        let v2 = write("2.0.0")?;
        Ok(Self {
            _dir: dir,
            v1,
            v2,
            subject: module.public_key(),
            issuer: account.public_key(),
            name,
        })
    }
}
