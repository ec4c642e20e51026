//! `wash build`: build and sign the component described by `wasmcloud.toml`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use lattice_wash::build::{BuildOptions, build};
use serde_json::json;

use super::Output;
use super::conn::block_on;
use super::keys::KeyDirArgs;

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// Path to wasmcloud.toml or the folder holding it [default: the current directory].
    #[arg(short = 'p', long = "config-path", value_name = "PATH")]
    config_path: Option<PathBuf>,
    #[command(flatten)]
    keys: KeyDirArgs,
    /// Fail instead of generating signing keys that are missing.
    #[arg(long)]
    disable_keygen: bool,
    /// Build the component but do not sign it.
    #[arg(long, conflicts_with = "sign_only")]
    build_only: bool,
    /// Sign the output of an earlier `--build-only` run without building.
    #[arg(long)]
    sign_only: bool,
    /// Push the built component to this OCI reference (registry/repository:tag) when done.
    #[arg(long, value_name = "REFERENCE")]
    push: Option<String>,
    /// Annotation on the pushed manifest, repeatable (with --push).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE", requires = "push")]
    annotations: Vec<String>,
    /// Registry user name for --push (with --registry-password).
    #[arg(long, env = "WASH_REG_USER", requires_all = ["push", "registry_password"])]
    registry_user: Option<String>,
    /// Registry password or access token for --push.
    #[arg(long, env = "WASH_REG_PASSWORD", hide_env_values = true, requires_all = ["push", "registry_user"])]
    registry_password: Option<String>,
    /// Push over plain HTTP (a local registry without TLS).
    #[arg(long, requires = "push")]
    insecure: bool,
}

pub(crate) fn run(args: &BuildArgs) -> anyhow::Result<Output> {
    let options = BuildOptions {
        config_path: args.config_path.clone(),
        keys_directory: args.keys.explicit().map(PathBuf::from),
        disable_keygen: args.disable_keygen,
        build_only: args.build_only,
        sign_only: args.sign_only,
        stream_output: true,
    };
    let report = build(&options, &mut |line| eprintln!("wash build: {line}"))?;
    let mut text = match (report.built, report.signed) {
        (_, true) => format!(
            "Component built and signed and can be found at {}\n",
            report.component_path.display()
        ),
        (true, false) => format!(
            "Component built and can be found at {}\n",
            report.component_path.display()
        ),
        (false, false) => format!("Nothing built or signed: {}\n", report.component_path.display()),
    };
    if let (Some(account), Some(component)) = (&report.account, &report.component) {
        text.push_str(&format!("  account    {account}\n  component  {component}\n"));
    }
    let mut json = json!({
        "component_path": report.component_path,
        "built": report.built,
        "signed": report.signed,
    });
    if let Some(reference) = &args.push {
        let annotations = super::registry::parse_annotations(&args.annotations)?;
        let bytes = std::fs::read(&report.component_path)
            .with_context(|| format!("cannot read the built component {}", report.component_path.display()))?;
        let registry = super::registry::RegistryArgs {
            user: args.registry_user.clone(),
            password: args.registry_password.clone(),
            insecure: args.insecure,
            ca_files: Vec::new(),
        };
        let oci = registry.client(reference, true)?;
        let pushed = block_on(async { Ok(oci.push(reference, bytes, annotations).await?) })?;
        text.push_str(&format!(
            "Pushed to {}
  digest  {}
",
            pushed.reference, pushed.digest
        ));
        json["pushed"] = json!({ "reference": pushed.reference, "digest": pushed.digest });
    }
    Ok(Output::new(text, json))
}
