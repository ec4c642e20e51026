//! `wash claims sign|inspect`: embed signed claims in a component and read
//! them back.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use lattice_claims::wasm::SignOptions;
use lattice_wash::build::sign::{account_key_name, key_file_name};
use lattice_wash::keys::{KeyType, key_pair_from_arg};
use serde_json::json;

use super::Output;
use super::inspect::InspectArgs;
use super::keys::KeyDirArgs;

const SECONDS_PER_DAY: u64 = 86_400;

#[derive(Debug, Subcommand)]
pub(crate) enum ClaimsCommand {
    /// Show the claims embedded in a component (same as `wash inspect`).
    Inspect(InspectArgs),
    /// Sign a component (or core module), embedding claims in a `wasmcloud_jwt` section.
    Sign(Box<SignArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The wasm file to sign.
    source: PathBuf,
    /// Where to write the signed file [default: <source stem>_s.wasm beside the source].
    #[arg(short = 'd', long = "destination")]
    destination: Option<PathBuf>,
    /// Human-readable name of the component [default: the source file's stem].
    #[arg(short = 'n', long)]
    name: Option<String>,
    /// A tag to add to the claims (repeatable).
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
    /// Revision number.
    #[arg(short = 'r', long)]
    rev: Option<i32>,
    /// Human-readable version string, e.g. 0.1.0.
    #[arg(short = 'v', long)]
    ver: Option<String>,
    /// A developer-friendly alias other components may call this one by.
    #[arg(short = 'a', long = "call-alias")]
    call_alias: Option<String>,
    /// Account seed (or a file holding it) that issues the claims [default: the
    /// `<user>_account.nk` key, generated on first use].
    #[arg(short = 'i', long)]
    issuer: Option<String>,
    /// Module seed (or a file holding it) identifying the component [default:
    /// the `<name>_module.nk` key, generated on first use].
    #[arg(short = 's', long)]
    subject: Option<String>,
    /// The claims expire this many days from now [default: never].
    #[arg(short = 'x', long = "expires", value_name = "DAYS")]
    expires_days: Option<u64>,
    /// The claims are not valid until this many days from now [default: immediately].
    #[arg(short = 'b', long = "nbf", value_name = "DAYS")]
    not_before_days: Option<u64>,
    /// Fail instead of generating keys that are missing.
    #[arg(long)]
    disable_keygen: bool,
    #[command(flatten)]
    keys: KeyDirArgs,
}

pub(crate) fn run(cmd: ClaimsCommand) -> anyhow::Result<Output> {
    match cmd {
        ClaimsCommand::Inspect(args) => super::inspect::run(&args),
        ClaimsCommand::Sign(args) => sign(*args),
    }
}

fn sign(args: SignArgs) -> anyhow::Result<Output> {
    let bytes = std::fs::read(&args.source).with_context(|| format!("cannot read {}", args.source.display()))?;
    lattice_wash::inspect::check_structure(&bytes).with_context(|| format!("cannot sign {}", args.source.display()))?;
    let stem = file_stem(&args.source);
    let name = args.name.clone().unwrap_or_else(|| stem.clone());

    let key_dir = args.keys.key_dir();
    let mut generated = Vec::new();
    let mut load = |seed: Option<&str>, key_name: &str, kind: KeyType| -> anyhow::Result<nkeys::KeyPair> {
        if let Some(seed) = seed {
            return Ok(key_pair_from_arg(seed, kind)?);
        }
        let (pair, created) = key_dir.load_or_generate(key_name, kind, !args.disable_keygen)?;
        if created {
            generated.push(key_dir.path_for(key_name, kind));
        }
        Ok(pair)
    };
    let issuer = load(args.issuer.as_deref(), &account_key_name(), KeyType::Account)?;
    let subject = load(args.subject.as_deref(), &key_file_name(&name), KeyType::Module)?;

    let options = SignOptions {
        name: Some(name),
        tags: args.tags,
        rev: args.rev,
        ver: args.ver,
        call_alias: args.call_alias,
        expires_in: args
            .expires_days
            .map(|d| Duration::from_secs(d.saturating_mul(SECONDS_PER_DAY))),
        not_before: args
            .not_before_days
            .map(|d| Duration::from_secs(d.saturating_mul(SECONDS_PER_DAY))),
    };
    let signed = lattice_claims::wasm::sign_component(&bytes, &issuer, &subject, &options)
        .with_context(|| format!("cannot sign {}", args.source.display()))?;
    let destination = args
        .destination
        .unwrap_or_else(|| args.source.with_file_name(format!("{stem}_s.wasm")));
    std::fs::write(&destination, signed).with_context(|| format!("cannot write {}", destination.display()))?;

    let mut text = format!(
        "Successfully signed {} with:\n  account    {}\n  component  {}\n",
        destination.display(),
        issuer.public_key(),
        subject.public_key()
    );
    for path in &generated {
        text.push_str(&format!("Generated a new key at {}\n", path.display()));
    }
    let json = json!({
        "success": true,
        "destination": destination,
        "issuer": issuer.public_key(),
        "subject": subject.public_key(),
        "generated_keys": generated,
    });
    Ok(Output::new(text, json))
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "component".to_string())
}
