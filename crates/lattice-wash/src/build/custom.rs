//! Any other language: `[component] build_command`, run in the project
//! folder, writes `build_artifact`.

use std::path::PathBuf;
use std::process::Command;

use super::{BuildError, Project, process};

/// Runs `build_command` (split on whitespace, no shell) and returns `build_artifact`.
pub(crate) fn build(project: &Project, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, BuildError> {
    let config = &project.config;
    let line = config.component.build_command.as_deref().unwrap_or_default();
    let mut words = line.split_whitespace();
    let Some(program) = words.next() else {
        return Err(BuildError::Unsupported(format!(
            "{}: `component.build_command` is empty: give the command that builds the component",
            config.file.display()
        )));
    };
    let artifact = config
        .component
        .build_artifact
        .clone()
        .unwrap_or_else(|| config.build_dir.join(format!("{}.wasm", project.bin_name)));
    let mut command = Command::new(program);
    command.args(words).current_dir(&config.project_dir);
    progress(&format!("running {}", process::display(&command)));
    process::run(
        &mut command,
        project.stream,
        "check `component.build_command` in wasmcloud.toml: its program is not installed or not on PATH",
    )?;
    if !artifact.is_file() {
        return Err(BuildError::ArtifactMissing {
            path: artifact,
            hint: "set `component.build_artifact` in wasmcloud.toml to the file build_command writes".to_string(),
        });
    }
    Ok(artifact)
}
