//! Signing the built component: keys from the key directory (generated on
//! first use unless disabled) and claims from `wasmcloud.toml`.

use std::path::{Path, PathBuf};

use lattice_claims::wasm::SignOptions;

use super::target::WasmTarget;
use super::{BuildError, Project};
use crate::keys::{KeyDir, KeyType};

/// The tag upstream wash adds to components built for WASI P1 or P2.
pub const EXPERIMENTAL_TAG: &str = "wasmcloud.com/experimental";

/// What signing produced.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Issuer (account) public key.
    pub account: String,
    /// Subject (component) public key.
    pub component: String,
    /// Keys created for this signature.
    pub generated_keys: Vec<PathBuf>,
}

/// The account key is per person, like upstream wash: `<user>_account.nk`.
pub fn account_key_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .map(|user| key_file_name(&user))
        .unwrap_or_else(|_| "user".to_string())
}

/// A name as a key file name: lowercase, anything but alphanumerics, `-` and `_` made `_`.
pub fn key_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "component".to_string()
    } else {
        cleaned.to_lowercase()
    }
}

/// Signs `unsigned` into `destination` with the account key `<user>_account`
/// and the module key `<bin name>_module` from `keys`.
pub(crate) fn sign_file(
    project: &Project,
    unsigned: &Path,
    destination: &Path,
    keys: &KeyDir,
    generate: bool,
) -> Result<Signed, BuildError> {
    let bytes = super::read(unsigned)?;
    let mut generated_keys = Vec::new();
    let mut load = |name: &str, kind: KeyType| -> Result<nkeys::KeyPair, BuildError> {
        let (pair, created) = keys.load_or_generate(name, kind, generate)?;
        if created {
            generated_keys.push(keys.path_for(name, kind));
        }
        Ok(pair)
    };
    let account = load(&account_key_name(), KeyType::Account)?;
    let module = load(&key_file_name(&project.bin_name), KeyType::Module)?;

    let component = &project.config.component;
    let mut tags = component.tags.clone();
    if matches!(component.wasm_target, WasmTarget::WasiP1 | WasmTarget::WasiP2)
        && !tags.iter().any(|t| t == EXPERIMENTAL_TAG)
    {
        tags.push(EXPERIMENTAL_TAG.to_string());
    }
    let options = SignOptions {
        name: Some(project.name.clone()),
        tags,
        rev: Some(project.config.revision),
        ver: project.version.clone(),
        call_alias: component.call_alias.clone(),
        expires_in: None,
        not_before: None,
    };
    let signed = lattice_claims::wasm::sign_component(&bytes, &account, &module, &options).map_err(|source| {
        BuildError::Sign {
            path: unsigned.to_path_buf(),
            source,
        }
    })?;
    if let Some(parent) = destination.parent() {
        super::create_dir(parent)?;
    }
    std::fs::write(destination, signed).map_err(|source| BuildError::Io {
        path: destination.to_path_buf(),
        source,
    })?;
    Ok(Signed {
        account: account.public_key(),
        component: module.public_key(),
        generated_keys,
    })
}
