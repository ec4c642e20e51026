//! Rust projects: `cargo metadata` for the package and target directory,
//! then `cargo build --target <triple>`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::config::ProjectConfig;
use super::{BuildError, Project, process};

const CARGO_HINT: &str = "install Rust with rustup (https://rustup.rs) or set `cargo_path` in [rust]";

/// What cargo says about the project.
#[derive(Debug, Clone)]
pub(crate) struct CargoProject {
    /// `package.name`.
    pub(crate) package_name: String,
    /// `package.version`.
    pub(crate) package_version: String,
    /// The file stem cargo writes: the `[lib]` name (or the package name)
    /// with dashes turned into underscores.
    pub(crate) artifact_stem: String,
    /// Cargo's target directory (honours `CARGO_TARGET_DIR` and `[rust] target_path`).
    pub(crate) target_dir: PathBuf,
}

fn cargo_command(config: &ProjectConfig) -> Command {
    let mut command = Command::new(config.rust.cargo_path.as_deref().unwrap_or(Path::new("cargo")));
    command.current_dir(&config.project_dir);
    command
}

/// Asks `cargo metadata` about the package in the project folder.
///
/// # Errors
///
/// When cargo is missing or fails, or the folder holds no package.
pub(crate) fn metadata(config: &ProjectConfig) -> Result<CargoProject, BuildError> {
    let mut command = cargo_command(config);
    command.args(["metadata", "--format-version", "1", "--no-deps"]);
    let line = process::display(&command);
    let output = command.output().map_err(|source| BuildError::ToolNotFound {
        tool: "cargo".to_string(),
        hint: CARGO_HINT.to_string(),
        source,
    })?;
    if !output.status.success() {
        return Err(BuildError::CommandFailed {
            command: line,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim_end().to_string(),
        });
    }
    let fail = |message: &str| BuildError::CargoMetadata {
        dir: config.project_dir.clone(),
        message: message.to_string(),
    };
    let json: Value = serde_json::from_slice(&output.stdout).map_err(|_| fail("cargo metadata printed no JSON"))?;
    let target_dir = match &config.rust.target_path {
        Some(path) => path.clone(),
        None => PathBuf::from(
            json["target_directory"]
                .as_str()
                .ok_or_else(|| fail("no target_directory"))?,
        ),
    };
    let packages = json["packages"].as_array().ok_or_else(|| fail("no packages"))?;
    let manifest = config.project_dir.join("Cargo.toml");
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let package = packages
        .iter()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .is_some_and(|m| Path::new(m).canonicalize().is_ok_and(|m| m == manifest))
        })
        .or_else(|| (packages.len() == 1).then(|| &packages[0]))
        .ok_or_else(|| {
            fail("no package whose Cargo.toml is in that folder: point `path` in wasmcloud.toml at the crate")
        })?;
    let package_name = package["name"]
        .as_str()
        .ok_or_else(|| fail("a package without a name"))?;
    let lib_name = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib" || k == "lib"))
        })
        .and_then(|t| t["name"].as_str())
        .unwrap_or(package_name);
    Ok(CargoProject {
        package_name: package_name.to_string(),
        package_version: package["version"].as_str().unwrap_or("0.0.0").to_string(),
        artifact_stem: lib_name.replace('-', "_"),
        target_dir,
    })
}

/// Adds the rustup target `triple` to the project's toolchain when rustup
/// manages it and the target is missing, saying so; without it cargo fails
/// with "can't find crate for `core`". A project with its own `cargo_path`,
/// or a machine without rustup, is left to cargo.
fn ensure_target(
    config: &ProjectConfig,
    triple: &str,
    stream: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<(), BuildError> {
    if config.rust.cargo_path.is_some() {
        return Ok(());
    }
    // In the project folder, so a `rust-toolchain.toml` there picks the toolchain.
    let listed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(&config.project_dir)
        .output();
    let Some(listed) = listed.ok().filter(|out| out.status.success()) else {
        return Ok(());
    };
    if installed(&String::from_utf8_lossy(&listed.stdout), triple) {
        return Ok(());
    }
    let mut add = Command::new("rustup");
    add.args(["target", "add", triple]).current_dir(&config.project_dir);
    progress(&format!(
        "the Rust target {triple} is missing: running {}",
        process::display(&add)
    ));
    process::run(
        &mut add,
        stream,
        "install rustup (https://rustup.rs), then run `rustup target add`",
    )
}

/// Whether `rustup target list --installed` printed `triple`.
fn installed(list: &str, triple: &str) -> bool {
    list.lines().any(|line| line.trim() == triple)
}

/// Runs `cargo build` and returns the wasm file it wrote.
pub(crate) fn build(project: &Project, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, BuildError> {
    let config = &project.config;
    let cargo = project
        .cargo
        .as_ref()
        .expect("rust projects are resolved with cargo metadata");
    let triple = config.component.wasm_target.rust_triple();
    ensure_target(config, triple, project.stream, progress)?;
    let mut command = cargo_command(config);
    command.args(["build", "--target", triple]);
    if !config.rust.debug {
        command.arg("--release");
    }
    if let Some(dir) = &config.rust.target_path {
        command.arg("--target-dir").arg(dir);
    }
    progress(&format!("running {}", process::display(&command)));
    process::run(&mut command, project.stream, CARGO_HINT)?;
    let profile = if config.rust.debug { "debug" } else { "release" };
    let artifact = cargo
        .target_dir
        .join(triple)
        .join(profile)
        .join(format!("{}.wasm", cargo.artifact_stem));
    if !artifact.is_file() {
        return Err(BuildError::ArtifactMissing {
            path: artifact,
            hint: "is the crate a library with `crate-type = [\"cdylib\"]` in its [lib] section?".to_string(),
        });
    }
    Ok(artifact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_targets_are_matched_whole() {
        let list = "wasm32-wasip1\nx86_64-unknown-linux-gnu\n";
        assert!(installed(list, "wasm32-wasip1"));
        assert!(!installed(list, "wasm32-wasip2"));
        assert!(!installed("", "wasm32-wasip2"));
    }
}
