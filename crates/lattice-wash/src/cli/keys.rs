//! `wash keys gen|get|list`: nkeys key pairs and the key directory.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use lattice_wash::keys::{KEYS_DIR_ENV, KeyDir, KeyInfo, KeyType};
use serde_json::json;

use super::{Output, output};

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a key pair and print its public key and seed (nothing is stored).
    Gen {
        /// account, module (component), service (provider), server (host),
        /// operator, cluster, user or curve (x25519).
        #[arg(value_parser = parse_key_type)]
        key_type: KeyType,
    },
    /// Show a stored key, e.g. `wash keys get alice_account`.
    Get {
        /// The key's file name, with or without `.nk`.
        name: String,
        #[command(flatten)]
        dir: KeyDirArgs,
    },
    /// List the keys in the key directory.
    List {
        #[command(flatten)]
        dir: KeyDirArgs,
    },
}

/// Where keys are read from and generated into.
#[derive(Debug, Clone, Args)]
pub(crate) struct KeyDirArgs {
    /// Key directory [default: ~/.wash/keys].
    #[arg(long = "keys-directory", alias = "directory", env = KEYS_DIR_ENV, value_name = "DIR")]
    keys_directory: Option<PathBuf>,
}

impl KeyDirArgs {
    /// The directory given with `--keys-directory` or `WASH_KEYS`, if any.
    pub(crate) fn explicit(&self) -> Option<&std::path::Path> {
        self.keys_directory.as_deref()
    }

    pub(crate) fn key_dir(&self) -> KeyDir {
        KeyDir::new(self.keys_directory.clone().unwrap_or_else(KeyDir::default_root))
    }
}

fn parse_key_type(s: &str) -> Result<KeyType, String> {
    s.parse().map_err(|e: lattice_wash::keys::KeyError| e.to_string())
}

pub(crate) fn run(cmd: KeysCommand) -> anyhow::Result<Output> {
    match cmd {
        KeysCommand::Gen { key_type } => Ok(key_output(&KeyInfo::generate(key_type))),
        KeysCommand::Get { name, dir } => {
            let key = dir.key_dir().get(&name)?;
            Ok(key_output(&key.key))
        }
        KeysCommand::List { dir } => {
            let key_dir = dir.key_dir();
            let keys = key_dir
                .list()
                .with_context(|| format!("listing {}", key_dir.root().display()))?;
            let text = if keys.is_empty() {
                format!("no keys in {}\n", key_dir.root().display())
            } else {
                let rows: Vec<_> = keys
                    .iter()
                    .map(|k| (k.name.as_str(), k.key.public_key.clone()))
                    .collect();
                format!("keys in {}:\n{}", key_dir.root().display(), output::rows(&rows))
            };
            let json = json!({
                "directory": key_dir.root(),
                "keys": keys.iter().map(|k| json!({
                    "name": k.name, "path": k.path, "key_type": k.key.key_type.to_string(), "public_key": k.key.public_key,
                })).collect::<Vec<_>>(),
            });
            Ok(Output::new(text, json))
        }
    }
}

fn key_output(key: &KeyInfo) -> Output {
    let text = format!(
        "Public Key: {}\nSeed: {}\n\nRemember that the seed is private, treat it as a secret.",
        key.public_key, key.seed
    );
    Output::new(
        text,
        json!({ "key_type": key.key_type.to_string(), "public_key": key.public_key, "seed": key.seed }),
    )
}
