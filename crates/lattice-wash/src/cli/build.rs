//! `wash build`: build and sign the component described by `wasmcloud.toml`.

use std::path::PathBuf;

use clap::Args;
use lattice_wash::build::{BuildOptions, build};
use serde_json::json;

use super::Output;
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
    let json = json!({
        "component_path": report.component_path,
        "built": report.built,
        "signed": report.signed,
    });
    Ok(Output::new(text, json))
}
