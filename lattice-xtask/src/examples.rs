//! `cargo xtask ci examples`: build every project under `examples/` with the freshly built
//! `wash build` and check that each output is a signed component (`wash inspect -o json`).
//!
//! Every `wasmcloud*.toml` is one build, so an example built two ways (kvcounter for wasip2
//! and for wasip1 through the adapter) is checked both ways. Keys go to a scratch directory
//! under the target dir, never to the developer's `~/.wash/keys`. The Python example needs
//! python3 with venv and pip: wash installs componentize-py into its cache on first use.
//!
//! Then every build runs on a real host and its HTTP answers are checked: see [`serve`].

mod providers;
mod registry;
mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cmd::{self, cmd};

pub(crate) fn run() -> Result<Option<String>> {
    cmd::run(&mut cmd(
        "cargo",
        ["build", "--locked", "--quiet", "-p", "lattice-wash"],
    ))?;
    let target_dir = cmd::target_dir()?;
    let wash = target_dir
        .join("debug")
        .join(format!("wash{}", std::env::consts::EXE_SUFFIX));
    let keys = target_dir.join("examples-keys");
    // A fresh key directory each run, so key generation is exercised too.
    if keys.exists() {
        std::fs::remove_dir_all(&keys).with_context(|| format!("cannot clear {}", keys.display()))?;
    }

    let configs = example_configs(Path::new("examples"))?;
    if configs.is_empty() {
        bail!("no wasmcloud*.toml under examples/: the examples step has nothing to build");
    }
    let mut built = Vec::new();
    let mut components = Vec::new();
    for config in &configs {
        let component = build(&wash, config, &keys)?;
        check_signed_component(&wash, &component)?;
        built.push(config.display().to_string());
        components.push(serve::Built {
            config: config.clone(),
            component,
        });
    }
    let served = serve::run(&wash, &target_dir, &components)?;
    Ok(Some(format!("{} builds: {}; {served}", built.len(), built.join(", "))))
}

/// Every `examples/*/wasmcloud*.toml`, sorted.
fn example_configs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut configs = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("cannot list {}", root.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("wasmcloud") && n.ends_with(".toml"))
            })
            .collect();
        files.sort();
        configs.extend(files);
    }
    Ok(configs)
}

/// Runs `wash build` on one project file and returns the signed component's path.
fn build(wash: &Path, config: &Path, keys: &Path) -> Result<PathBuf> {
    let mut command = Command::new(wash);
    command
        .args(["-o", "json", "build", "-p"])
        .arg(config)
        .arg("--keys-directory")
        .arg(keys)
        .stderr(Stdio::inherit());
    let line = cmd::display(&command);
    eprintln!("$ {line}");
    let output = command.output().with_context(|| format!("could not start `{line}`"))?;
    if !output.status.success() {
        // With `-o json` wash reports its error on stdout; say it here, or CI shows only the
        // exit status (e.g. that python3 or pip is missing for a Python example).
        let error = serde_json::from_slice::<Value>(&output.stdout)
            .ok()
            .and_then(|report| report["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&output.stdout).trim().to_owned());
        bail!("`{line}` failed ({}): {error}", output.status);
    }
    let report: Value = serde_json::from_slice(&output.stdout).with_context(|| format!("`{line}` printed no JSON"))?;
    if report["built"] != true || report["signed"] != true {
        bail!("`{line}` did not build and sign: {report}");
    }
    let path = report["component_path"]
        .as_str()
        .with_context(|| format!("`{line}` printed no component_path: {report}"))?;
    Ok(PathBuf::from(path))
}

/// Fails unless `wash inspect` calls the file a signed component.
fn check_signed_component(wash: &Path, component: &Path) -> Result<()> {
    let mut command = Command::new(wash);
    command.args(["-o", "json", "inspect"]).arg(component);
    let text = cmd::read(&mut command)?;
    let inspected: Value = serde_json::from_str(&text).context("wash inspect printed no JSON")?;
    if inspected["kind"] != "component" || inspected["signed"] != true {
        bail!(
            "{} is not a signed component: wash inspect says {inspected}",
            component.display()
        );
    }
    eprintln!("ok: {} is a signed component", component.display());
    Ok(())
}
