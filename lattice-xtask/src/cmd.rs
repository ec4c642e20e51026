//! Helpers for running external programs: echo what runs, fail with the command line as context.

use std::{
    ffi::OsStr,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

/// The workspace root: xtask always lives in `<root>/lattice-xtask`.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` for the program it runs, which is right even when a
/// shared `CARGO_TARGET_DIR` holds a binary built from another checkout; the compile-time value
/// is the fallback when the binary is run directly.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir.parent().map(Path::to_path_buf).unwrap_or(manifest_dir)
}

/// Builds a command for `program` with `args`.
pub(crate) fn cmd<I, S>(program: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args);
    command
}

/// How a command is shown to the user: `$ cargo fmt --all -- --check`.
pub(crate) fn display(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs a command with inherited stdio, so its own output (test summaries, diagnostics) is shown.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let line = display(command);
    eprintln!("$ {line}");
    let status = command
        .status()
        .with_context(|| format!("could not start `{line}`: is it installed and on PATH?"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs a command quietly and returns its stdout; stderr is put in the error when it fails.
pub(crate) fn read(command: &mut Command) -> Result<String> {
    let line = display(command);
    let output = command
        .output()
        .with_context(|| format!("could not start `{line}`: is it installed and on PATH?"))?;
    if !output.status.success() {
        bail!(
            "`{line}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{line}` printed non-UTF-8 output"))
}

/// Finds an executable on PATH without depending on `which`.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Whether we run under CI (`CI=true`, as GitHub Actions and `.ci/run` set it).
pub(crate) fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` and cargo config.
pub(crate) fn target_dir() -> Result<PathBuf> {
    let text = read(&mut cmd("cargo", ["metadata", "--format-version", "1", "--no-deps"]))?;
    let metadata: serde_json::Value = serde_json::from_str(&text).context("cargo metadata printed no JSON")?;
    let dir = metadata["target_directory"]
        .as_str()
        .context("cargo metadata printed no target_directory")?;
    Ok(PathBuf::from(dir))
}
