//! `wash push` and `wash pull`: components and provider archives to and from
//! OCI registries, with wasmCloud v1's flags and environment variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde_json::json;

use super::Output;
use super::conn::block_on;

/// How to reach and authenticate to a registry.
#[derive(Debug, Clone, Args)]
pub(crate) struct RegistryArgs {
    /// Registry user name (with --password); else the Docker config's, else none.
    #[arg(short = 'u', long = "user", env = "WASH_REG_USER", requires = "password")]
    pub(crate) user: Option<String>,
    /// Registry password or access token.
    #[arg(
        short = 'p',
        long = "password",
        env = "WASH_REG_PASSWORD",
        hide_env_values = true,
        requires = "user"
    )]
    pub(crate) password: Option<String>,
    /// Speak plain HTTP to the registry (a local registry without TLS).
    #[arg(long)]
    pub(crate) insecure: bool,
    /// PEM file of extra root certificates to trust for the registry; repeatable.
    #[arg(long = "ca-file", value_name = "FILE")]
    pub(crate) ca_files: Vec<PathBuf>,
}

impl RegistryArgs {
    /// A client for `reference` under these arguments.
    pub(crate) fn client(&self, reference: &str, allow_latest: bool) -> anyhow::Result<lattice_oci::Oci> {
        let parsed = lattice_oci::parse_reference(reference)?;
        let registry = parsed.resolve_registry().to_owned();
        let options = lattice_oci::Options {
            allow_latest,
            allowed_insecure: if self.insecure {
                vec![registry.clone()]
            } else {
                Vec::new()
            },
            extra_root_certificates: self.ca_files.clone(),
            ..lattice_oci::Options::default()
        };
        let oci = lattice_oci::Oci::new(options)?;
        if let (Some(username), Some(password)) = (&self.user, &self.password) {
            oci.put_credentials([(
                registry,
                lattice_oci::Credential::Basic {
                    username: username.clone(),
                    password: password.clone(),
                },
            )]);
        }
        Ok(oci)
    }
}

#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// Where to push: registry/repository:tag (e.g. localhost:5000/hello:0.1.0).
    reference: String,
    /// The component or provider archive to push.
    artifact: PathBuf,
    /// Annotation on the manifest, repeatable: -a org.opencontainers.image.source=https://…
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// What to pull: registry/repository:tag or registry/repository@sha256:<digest>.
    reference: String,
    /// File to write [default: the repository's last segment, with .wasm or .par.gz].
    #[arg(long, value_name = "FILE")]
    destination: Option<PathBuf>,
    /// Refuse the artifact unless its manifest has this digest (sha256:…).
    #[arg(short = 'd', long, value_name = "DIGEST")]
    digest: Option<String>,
    /// Allow pulling the `latest` tag (or no tag).
    #[arg(long)]
    allow_latest: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// The largest artifact `wash pull` writes.
const MAX_PULL: u64 = 1 << 30;

pub(crate) fn push(args: &PushArgs) -> anyhow::Result<Output> {
    let annotations = parse_annotations(&args.annotations)?;
    let bytes = std::fs::read(&args.artifact).with_context(|| format!("cannot read {}", args.artifact.display()))?;
    let oci = args.registry.client(&args.reference, true)?;
    let pushed = block_on(async { Ok(oci.push(&args.reference, bytes, annotations).await?) })?;
    Ok(pushed_output(&pushed))
}

fn pushed_output(pushed: &lattice_oci::Pushed) -> Output {
    Output::new(
        format!(
            "Pushed {} to {}\n  digest  {}\n",
            pushed.kind, pushed.reference, pushed.digest
        ),
        json!({ "success": true, "reference": pushed.reference, "digest": pushed.digest, "kind": pushed.kind }),
    )
}

pub(crate) fn pull(args: &PullArgs) -> anyhow::Result<Output> {
    let oci = args.registry.client(&args.reference, args.allow_latest)?;
    let pulled = block_on(async { Ok(oci.pull(&args.reference, lattice_oci::Want::Any, MAX_PULL).await?) })?;
    if let Some(digest) = &args.digest
        && *digest != pulled.manifest_digest
    {
        anyhow::bail!(
            "`{}` has digest {}, not {digest}: the tag has moved or the digest is mistyped; nothing was written",
            args.reference,
            pulled.manifest_digest
        );
    }
    let destination = match &args.destination {
        Some(path) => path.clone(),
        None => default_destination(&args.reference, pulled.kind)?,
    };
    write_file(&destination, &pulled.bytes)?;
    let text = format!(
        "Pulled {} {} to {}\n  digest  {}\n",
        pulled.kind,
        args.reference,
        destination.display(),
        pulled.manifest_digest
    );
    let json = json!({
        "success": true,
        "reference": args.reference,
        "digest": pulled.manifest_digest,
        "kind": pulled.kind,
        "file": destination,
        "size": pulled.bytes.len(),
    });
    Ok(Output::new(text, json))
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// `hello.wasm` for `localhost:5000/org/hello:0.1.0`.
fn default_destination(reference: &str, kind: lattice_oci::ArtifactKind) -> anyhow::Result<PathBuf> {
    let parsed = lattice_oci::parse_reference(reference)?;
    let name = parsed.repository().rsplit('/').next().unwrap_or("artifact");
    let extension = match kind {
        lattice_oci::ArtifactKind::Component => "wasm",
        lattice_oci::ArtifactKind::Provider => "par.gz",
    };
    Ok(PathBuf::from(format!("{name}.{extension}")))
}

pub(crate) fn parse_annotations(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .filter(|(key, _)| !key.trim().is_empty())
                .with_context(|| format!("annotation `{pair}` is not KEY=VALUE: write it as -a key=value"))?;
            Ok((key.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_and_destinations() {
        let parsed = parse_annotations(&["a=b".into(), "c=d=e".into()]).unwrap();
        assert_eq!(parsed.get("c").map(String::as_str), Some("d=e"));
        let err = parse_annotations(&["nokey".into()]).unwrap_err().to_string();
        assert!(err.contains("KEY=VALUE"), "{err}");
        assert!(parse_annotations(&["=v".into()]).is_err());
        assert_eq!(
            default_destination("localhost:5000/org/hello:0.1.0", lattice_oci::ArtifactKind::Component).unwrap(),
            PathBuf::from("hello.wasm")
        );
        assert_eq!(
            default_destination("localhost:5000/kv:1", lattice_oci::ArtifactKind::Provider).unwrap(),
            PathBuf::from("kv.par.gz")
        );
    }
}
