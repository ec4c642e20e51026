//! `wash par create|inspect|insert`: pack a capability provider's native binaries into a
//! signed provider archive (PAR), read one back, and add a binary for another target.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use lattice_provider_archive::{Builder, ProviderArchive, native_target};
use lattice_wash::build::sign::{account_key_name, key_file_name};
use lattice_wash::keys::{KeyType, key_pair_from_arg};
use serde_json::json;

use super::keys::KeyDirArgs;
use super::{Output, output};

/// The most an archive may unpack to: far above any provider binary, far below a disk.
const MAX_UNPACKED: u64 = 1 << 30;

#[derive(Debug, Subcommand)]
pub(crate) enum ParCommand {
    /// Create a signed provider archive from a provider's native executable.
    #[command(disable_version_flag = true)]
    Create(Box<CreateArgs>),
    /// Show a provider archive's claims and the targets it has binaries for.
    Inspect(InspectArgs),
    /// Add (or replace) the binary for one target in a provider archive and sign it again.
    Insert(InsertArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The provider's native executable for --arch.
    #[arg(short = 'b', long, value_name = "PATH")]
    binary: PathBuf,
    /// The target the binary runs on, as `<arch>-<os>`.
    #[arg(short = 'a', long, default_value_t = native_target())]
    arch: String,
    /// Who makes the provider.
    #[arg(long)]
    vendor: String,
    /// Human-readable name of the provider.
    #[arg(short = 'n', long)]
    name: String,
    /// Human-readable version string, e.g. 0.1.0.
    #[arg(long)]
    version: Option<String>,
    /// Revision number.
    #[arg(short = 'r', long)]
    revision: Option<i32>,
    /// Where to write the archive [default: <name>.par, or <name>.par.gz with --compress].
    #[arg(short = 'd', long)]
    destination: Option<PathBuf>,
    /// Compress the archive with gzip.
    #[arg(long)]
    compress: bool,
    /// Account seed (or a file holding it) that issues the claims [default: the
    /// `<user>_account.nk` key, generated on first use].
    #[arg(short = 'i', long)]
    issuer: Option<String>,
    /// Service seed (or a file holding it) identifying the provider [default: the
    /// `<name>_service.nk` key, generated on first use].
    #[arg(short = 's', long)]
    subject: Option<String>,
    /// Fail instead of generating keys that are missing.
    #[arg(long)]
    disable_keygen: bool,
    #[command(flatten)]
    keys: KeyDirArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The provider archive (.par or .par.gz).
    file: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct InsertArgs {
    /// The provider archive (.par or .par.gz) to add the binary to, rewritten in place.
    file: PathBuf,
    /// The target the binary runs on, as `<arch>-<os>`, e.g. aarch64-macos.
    #[arg(short = 'a', long)]
    arch: String,
    /// The provider's native executable for --arch.
    #[arg(short = 'b', long, value_name = "PATH")]
    binary: PathBuf,
    /// Seed (or a file holding it) of the account that issued the archive [default: the
    /// `<user>_account.nk` key].
    #[arg(short = 'i', long)]
    issuer: Option<String>,
    #[command(flatten)]
    keys: KeyDirArgs,
}

pub(crate) fn run(cmd: ParCommand) -> anyhow::Result<Output> {
    match cmd {
        ParCommand::Create(args) => create(*args),
        ParCommand::Inspect(args) => inspect(&args),
        ParCommand::Insert(args) => insert(&args),
    }
}

fn create(args: CreateArgs) -> anyhow::Result<Output> {
    check_target(&args.arch)?;
    let binary = read_binary(&args.binary)?;
    let mut generated = Vec::new();
    let generate = !args.disable_keygen;
    let (account, service) = (account_key_name(), key_file_name(&args.name));
    let issuer = load_key(
        &args.keys,
        args.issuer.as_deref(),
        (&account, KeyType::Account),
        generate,
        &mut generated,
    )?;
    let subject = load_key(
        &args.keys,
        args.subject.as_deref(),
        (&service, KeyType::Service),
        generate,
        &mut generated,
    )?;
    let mut builder = Builder::new(args.name.clone(), args.vendor).target(args.arch.clone(), binary);
    if let Some(version) = args.version {
        builder = builder.version(version);
    }
    if let Some(revision) = args.revision {
        builder = builder.revision(revision);
    }
    let archive = builder.build(&issuer, &subject.public_key())?;
    let destination = args.destination.unwrap_or_else(|| {
        let extension = if args.compress { "par.gz" } else { "par" };
        PathBuf::from(format!("{}.{extension}", key_file_name(&args.name)))
    });
    write(&destination, &archive, args.compress)?;

    let mut text = format!(
        "Successfully created {} for {} with:\n  account   {}\n  service   {}\n",
        destination.display(),
        args.arch,
        issuer.public_key(),
        subject.public_key()
    );
    for path in &generated {
        text.push_str(&format!("Generated a new key at {}\n", path.display()));
    }
    Ok(Output::new(
        text,
        json!({
            "success": true,
            "destination": destination,
            "issuer": issuer.public_key(),
            "subject": subject.public_key(),
            "targets": [args.arch],
            "generated_keys": generated,
        }),
    ))
}

fn inspect(args: &InspectArgs) -> anyhow::Result<Output> {
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let archive = ProviderArchive::read(&bytes, MAX_UNPACKED)
        .with_context(|| format!("cannot inspect {}", args.file.display()))?;
    let claims = &archive.claims().claims;
    let meta = archive.metadata();
    let name = meta.name.clone().unwrap_or_else(|| "(unnamed)".to_owned());
    let targets: Vec<&str> = archive.targets().collect();
    let or_none = |value: Option<String>| value.unwrap_or_else(|| "(none)".to_owned());
    let mut text = format!("{name} - provider archive\n");
    text.push_str(&output::rows(&[
        ("Account", claims.issuer.clone()),
        ("Service", claims.subject.clone()),
        ("Vendor", meta.vendor.clone()),
        ("Version", or_none(meta.ver.clone())),
        ("Revision", or_none(meta.rev.map(|r| r.to_string()))),
        ("Targets", targets.join(", ")),
        (
            "WIT world",
            if archive.world().is_some() { "yes" } else { "no" }.to_owned(),
        ),
    ]));
    Ok(Output::new(
        text,
        json!({
            "name": meta.name,
            "vendor": meta.vendor,
            "version": meta.ver,
            "revision": meta.rev,
            "issuer": claims.issuer,
            "subject": claims.subject,
            "targets": targets,
            "target_hashes": meta.target_hashes,
            "world": archive.world().is_some(),
            "issued_at": claims.issued_at,
            "expires": claims.expires,
        }),
    ))
}

fn insert(args: &InsertArgs) -> anyhow::Result<Output> {
    check_target(&args.arch)?;
    let context = || format!("cannot insert into {}", args.file.display());
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    let archive = ProviderArchive::read(&bytes, MAX_UNPACKED).with_context(context)?;
    let binary = read_binary(&args.binary)?;
    let issuer = match &args.issuer {
        Some(seed) => key_pair_from_arg(seed, KeyType::Account)?,
        None => {
            let key_dir = args.keys.key_dir();
            let path = key_dir.path_for(&account_key_name(), KeyType::Account);
            // A new account could not have issued the archive: never generate one here.
            if !path.is_file() {
                anyhow::bail!(
                    "no account key at {}: pass the seed of the account that issued {} with --issuer",
                    path.display(),
                    args.file.display()
                );
            }
            key_dir
                .load_or_generate(&account_key_name(), KeyType::Account, false)?
                .0
        }
    };
    let claims = &archive.claims().claims;
    if issuer.public_key() != claims.issuer {
        anyhow::bail!(
            "{} was issued by account {}, not by {}: pass that account's seed with --issuer",
            args.file.display(),
            claims.issuer,
            issuer.public_key()
        );
    }
    let meta = archive.metadata();
    let mut builder = Builder::new(meta.name.clone().unwrap_or_default(), meta.vendor.clone());
    if let Some(version) = &meta.ver {
        builder = builder.version(version.clone());
    }
    if let Some(revision) = meta.rev {
        builder = builder.revision(revision);
    }
    if let Some(schema) = &meta.config_schema {
        builder = builder.config_schema(schema.clone());
    }
    if let Some(world) = archive.world() {
        builder = builder.world(world.to_vec());
    }
    for target in archive.targets() {
        if let Some(existing) = archive.target(target) {
            builder = builder.target(target, existing.to_vec());
        }
    }
    let replaced = archive.target(&args.arch).is_some();
    let rebuilt = builder
        .target(args.arch.clone(), binary)
        .build(&issuer, &claims.subject)
        .with_context(context)?;
    // Keep the archive as compressed as it was.
    write(&args.file, &rebuilt, bytes.starts_with(&[0x1f, 0x8b]))?;

    let targets: Vec<&str> = rebuilt.targets().collect();
    let verb = if replaced { "Replaced" } else { "Inserted" };
    Ok(Output::new(
        format!(
            "{verb} the {} binary in {} (targets: {})",
            args.arch,
            args.file.display(),
            targets.join(", ")
        ),
        json!({
            "success": true,
            "file": args.file,
            "target": args.arch,
            "replaced": replaced,
            "targets": targets,
        }),
    ))
}

/// The `kind` key from `seed` (a seed or a file holding one), else the key directory's
/// `key_name`, generated when missing if `generate` (its path then added to `generated`).
fn load_key(
    keys: &KeyDirArgs,
    seed: Option<&str>,
    (key_name, kind): (&str, KeyType),
    generate: bool,
    generated: &mut Vec<PathBuf>,
) -> anyhow::Result<nkeys::KeyPair> {
    if let Some(seed) = seed {
        return Ok(key_pair_from_arg(seed, kind)?);
    }
    let key_dir = keys.key_dir();
    let (pair, created) = key_dir.load_or_generate(key_name, kind, generate)?;
    if created {
        generated.push(key_dir.path_for(key_name, kind));
    }
    Ok(pair)
}

/// A target must be `<arch>-<os>`, as hosts look binaries up by it.
fn check_target(target: &str) -> anyhow::Result<()> {
    let valid_part = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match target.split_once('-') {
        Some((arch, os)) if valid_part(arch) && valid_part(os) => Ok(()),
        _ => anyhow::bail!(
            "invalid target `{target}`: use `<arch>-<os>` as Rust names them, e.g. {} or aarch64-macos",
            native_target()
        ),
    }
}

fn read_binary(path: &Path) -> anyhow::Result<Vec<u8>> {
    let binary = std::fs::read(path).with_context(|| format!("cannot read the provider binary {}", path.display()))?;
    if binary.is_empty() {
        anyhow::bail!(
            "{} is empty: pass the provider's native executable with --binary",
            path.display()
        );
    }
    if binary.starts_with(b"\0asm") {
        anyhow::bail!(
            "{} is WebAssembly, not a native executable: providers in an archive are native binaries; \
             run components with `wash start component`",
            path.display()
        );
    }
    Ok(binary)
}

fn write(path: &Path, archive: &ProviderArchive, compress: bool) -> anyhow::Result<()> {
    let bytes = archive.to_bytes(compress)?;
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
