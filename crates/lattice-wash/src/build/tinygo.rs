//! TinyGo projects: `tinygo build` for wasip2 directly, or for wasip1 /
//! wasm-unknown followed by embedding the WIT world so the adapter step can
//! make a component of it.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::config::ProjectConfig;
use super::target::WasmTarget;
use super::{BuildError, Project, process};

const TINYGO_HINT: &str = "install from https://tinygo.org/getting-started/install/";

fn world(config: &ProjectConfig) -> Result<&str, BuildError> {
    config.component.wit_world.as_deref().ok_or_else(|| {
        BuildError::Unsupported(format!(
            "{}: `component.wit_world` is required for TinyGo: add `wit_world = \"<world>\"` to [component]",
            config.file.display()
        ))
    })
}

/// Runs `go generate` (unless disabled) and `tinygo build`; returns the output file.
pub(crate) fn build(project: &Project, progress: &mut dyn FnMut(&str)) -> Result<PathBuf, BuildError> {
    let config = &project.config;
    let world = world(config)?;
    let tinygo = config.tinygo.tinygo_path.as_deref().unwrap_or(Path::new("tinygo"));
    // Fail early, before `go generate`, with the install hint.
    if config.tinygo.tinygo_path.is_none() && !on_path("tinygo") {
        return Err(BuildError::ToolNotFound {
            tool: "tinygo".to_string(),
            hint: TINYGO_HINT.to_string(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    if !config.tinygo.disable_go_generate {
        let mut generate = Command::new("go");
        generate.arg("generate").arg("./...").current_dir(&config.project_dir);
        progress(&format!("running {}", process::display(&generate)));
        process::run(&mut generate, project.stream, "install Go from https://go.dev/dl/")?;
    }
    let output = config.build_dir.join(format!("{}.wasm", project.bin_name));
    let target = config.component.wasm_target;
    let mut command = Command::new(tinygo);
    command
        .current_dir(&config.project_dir)
        .arg("build")
        .arg("-o")
        .arg(&output)
        .args(["-target", target.tinygo_target()]);
    if target == WasmTarget::WasiP2 {
        command
            .arg("-wit-package")
            .arg(&config.wit_dir)
            .args(["-wit-world", world]);
        if let Some(scheduler) = &config.tinygo.scheduler {
            command.args(["-scheduler", scheduler]);
        }
        if let Some(gc) = &config.tinygo.garbage_collector {
            command.args(["-gc", gc]);
        }
    } else {
        command.args(["-scheduler", "none", "-no-debug"]);
    }
    command.arg(".");
    progress(&format!("running {}", process::display(&command)));
    process::run(&mut command, project.stream, TINYGO_HINT)?;
    if target != WasmTarget::WasiP2 {
        embed_world(&output, &config.wit_dir, world)?;
    }
    Ok(output)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Adds the `component-type` section describing `world` to a core module.
fn embed_world(module_path: &Path, wit_dir: &Path, world: &str) -> Result<(), BuildError> {
    let mut module = super::read(module_path)?;
    let fail = |e: anyhow::Error| BuildError::Wit {
        dir: wit_dir.to_path_buf(),
        message: format!("cannot embed WIT world `{world}`: {e:#}"),
    };
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(wit_dir).map_err(fail)?;
    let world_id = resolve.select_world(&[package], Some(world)).map_err(fail)?;
    wit_component::embed_component_metadata(&mut module, &resolve, world_id, wit_component::StringEncoding::UTF8)
        .map_err(fail)?;
    std::fs::write(module_path, module).map_err(|source| BuildError::Io {
        path: module_path.to_path_buf(),
        source,
    })
}
