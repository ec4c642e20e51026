//! Python projects: `componentize-py` turns the `app` module and the WIT world
//! into a component. When it is not on `PATH` it is installed once into a
//! virtual environment in wash's cache (`python3 -m venv` and pip).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{BuildError, Project, process};

/// The componentize-py release the cache venv installs.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";
/// The Python module componentize-py is pointed at (`app.py`).
const APP_MODULE: &str = "app";

/// The cache folder for tools wash installs: `$XDG_CACHE_HOME/wash` or `~/.cache/wash`.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WASH_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".cache")
        });
    base.join("wash")
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Finds componentize-py: on `PATH`, in the cache venv, or freshly installed there.
fn componentize_py(stream: bool, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, BuildError> {
    if let Some(path) = on_path("componentize-py") {
        return Ok(path);
    }
    let venv = cache_dir().join("componentize-py");
    let installed = venv.join("bin").join("componentize-py");
    if installed.is_file() {
        return Ok(installed);
    }
    progress(&format!(
        "componentize-py not found: installing {COMPONENTIZE_PY} into {}",
        venv.display()
    ));
    let hint = "install Python 3 (python3 with the venv module), or install componentize-py yourself \
                (`pip install componentize-py`)";
    let mut create = Command::new("python3");
    create.args(["-m", "venv"]).arg(&venv);
    process::run(&mut create, stream, hint).map_err(|e| with_hint(e, hint))?;
    let mut install = Command::new(venv.join("bin").join("pip"));
    install.args(["install", "--quiet", COMPONENTIZE_PY]);
    let pip_hint = "check that PyPI is reachable (or set PIP_INDEX_URL to a mirror), \
                    or install componentize-py yourself (`pip install componentize-py`)";
    process::run(&mut install, stream, hint).map_err(|e| with_hint(e, pip_hint))?;
    Ok(installed)
}

/// Adds what to do to a failed install step: its stderr alone (`No module
/// named venv`, pip's resolver output) does not say.
fn with_hint(err: BuildError, hint: &str) -> BuildError {
    match err {
        BuildError::CommandFailed {
            command,
            status,
            stderr,
        } => BuildError::CommandFailed {
            command,
            status,
            stderr: format!("{}\n{hint}", stderr.trim_end()),
        },
        other => other,
    }
}

/// Runs `componentize-py -d <wit> -w <world> componentize app -o <build>/<name>.wasm`.
pub(crate) fn build(project: &Project, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, BuildError> {
    let config = &project.config;
    let world = config.component.wit_world.as_deref().ok_or_else(|| {
        BuildError::Unsupported(format!(
            "{}: `component.wit_world` is required for Python: add `wit_world = \"<world>\"` to [component]",
            config.file.display()
        ))
    })?;
    let tool = componentize_py(project.stream, progress)?;
    let output = config.build_dir.join(format!("{}.wasm", project.bin_name));
    let mut command = Command::new(&tool);
    command
        .current_dir(&config.project_dir)
        .arg("-d")
        .arg(relative(&config.wit_dir, &config.project_dir))
        .args(["-w", world, "componentize", APP_MODULE, "-o"])
        .arg(&output);
    progress(&format!("running {}", process::display(&command)));
    process::run(
        &mut command,
        project.stream,
        "install componentize-py (`pip install componentize-py`)",
    )?;
    Ok(output)
}

fn relative(path: &Path, base: &Path) -> PathBuf {
    path.strip_prefix(base)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}
