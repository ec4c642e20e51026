//! `wash build`: the examples build and sign for both WASI targets, and bad
//! project files or failing toolchains give one clear error each.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Run;

/// The repository's examples folder.
pub(crate) fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// One cargo target directory for every guest these tests build, so the
/// dependencies compile once per `cargo test` target dir.
pub(crate) fn guest_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("wash-build-guests")
}

/// Runs `wash` in `cwd` with keys in `keys` and guests built into the shared target dir.
pub(crate) fn wash_in(cwd: &Path, keys: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_wash"))
        .args(args)
        .current_dir(cwd)
        .env("WASH_KEYS", keys)
        .env("USER", "tester")
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .output()
        .expect("wash runs");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Copies a project without its `target/` and `build/` folders.
pub(crate) fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "build" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_project(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// Asserts the run failed with an `error: ` line (after any progress lines) and no panic.
fn assert_failed(run: &Run) {
    assert!(!run.success, "expected failure, got success:\n{}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "wash panicked:\n{}", run.stderr);
    assert!(
        run.stderr.lines().any(|l| l.starts_with("error: ")),
        "no error message:\n{}",
        run.stderr
    );
}

fn write_project(dir: &Path, toml: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("wasmcloud.toml"), toml).unwrap();
}

#[test]
fn kvcounter_builds_for_wasip2_and_through_the_preview1_adapter() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("kvcounter");
    copy_project(&examples_dir().join("kvcounter"), &project);
    let keys = work.path().join("keys");

    let run = wash_in(&project, &keys, &["-o", "json", "build"]);
    assert!(run.success, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["built"], true);
    assert_eq!(report["signed"], true);
    let p2 = PathBuf::from(report["component_path"].as_str().unwrap());
    assert_eq!(p2, project.join("build/kvcounter_s.wasm"));
    assert!(
        run.stderr.contains("cargo build --target wasm32-wasip2 --release"),
        "{}",
        run.stderr
    );
    assert!(keys.join("tester_account.nk").is_file());
    assert!(keys.join("kvcounter_module.nk").is_file());

    let wit = wash_in(&project, &keys, &["inspect", "--wit", p2.to_str().unwrap()]);
    assert!(wit.success, "{}", wit.stderr);
    assert!(
        wit.stdout.contains("export wasi:http/incoming-handler@0.2"),
        "{}",
        wit.stdout
    );
    assert!(
        wit.stdout.contains("import wasi:keyvalue/store@0.2.0-draft;"),
        "{}",
        wit.stdout
    );
    assert!(
        wit.stdout.contains("import wasi:keyvalue/atomics@0.2.0-draft;"),
        "{}",
        wit.stdout
    );

    let run = wash_in(
        &project,
        &keys,
        &["-o", "json", "build", "-p", "wasmcloud-preview1.toml"],
    );
    assert!(run.success, "{}", run.stderr);
    assert!(run.stderr.contains("--target wasm32-wasip1"), "{}", run.stderr);
    let p1 = PathBuf::from(run.json()["component_path"].as_str().unwrap());
    assert_eq!(p1, project.join("build/preview1/kvcounter_s.wasm"));
    let inspect = wash_in(&project, &keys, &["-o", "json", "inspect", p1.to_str().unwrap()]);
    assert!(inspect.success, "{}", inspect.stderr);
    assert_eq!(inspect.json()["kind"], "component");
    assert_eq!(inspect.json()["signed"], true);
    let wit = wash_in(&project, &keys, &["inspect", "--wit", p1.to_str().unwrap()]);
    assert!(
        wit.stdout.contains("export wasi:http/incoming-handler@0.2"),
        "{}",
        wit.stdout
    );
    assert!(
        wit.stdout.contains("import wasi:keyvalue/store@0.2.0-draft;"),
        "{}",
        wit.stdout
    );
    // The same module key signs both builds.
    let claims = |path: &Path| wash_in(&project, &keys, &["-o", "json", "inspect", path.to_str().unwrap()]).json();
    assert_eq!(claims(&p1)["component"], claims(&p2)["component"]);
}

#[test]
fn a_misspelt_key_warns_with_its_line() {
    let work = tempfile::tempdir().unwrap();
    write_project(
        work.path(),
        "name = \"x\"\nversion = \"0.1.0\"\nlanguage = \"rust\"\ntype = \"component\"\n[component]\nwasm_taget = \"wasm32-wasip2\"\n",
    );
    let run = wash_in(work.path(), work.path(), &["build"]);
    let file = work.path().join("wasmcloud.toml");
    let expected = format!(
        "wash build: warning: {}:6: unknown key `component.wasm_taget` is ignored: did you mean `component.wasm_target`?",
        file.display()
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    // No Cargo.toml here: cargo's own complaint and the command line are shown.
    assert_failed(&run);
    assert!(
        run.stderr.contains("cargo metadata --format-version 1 --no-deps"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Cargo.toml"), "{}", run.stderr);
}

#[test]
fn bad_project_files_give_one_error_naming_key_and_line() {
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("wasmcloud.toml");
    let cases = [
        (
            "language = \"rust\"\ntype = \"component\"\n[component]\ntags = \"http\"\n",
            ":4: `component.tags` must be an array of strings, found a string",
        ),
        (
            "version = \"0.1.0\"\nlanguage = \"python\"\ntype = \"component\"\n",
            ":2: missing `name`: `name` is required when language = \"python\"",
        ),
        (
            "language = \"rust\"\ntype = \"component\"\n[component]\nwasm_target = \"wasm32-preview2\"\n",
            ":4: `component.wasm_target`: unknown wasm target `wasm32-preview2`: use one of wasm32-unknown-unknown,",
        ),
    ];
    for (toml, message) in cases {
        write_project(work.path(), toml);
        let run = wash_in(work.path(), work.path(), &["build"]);
        run.assert_clean_failure();
        let expected = format!("error: {}{message}", file.display());
        assert!(
            run.stderr.starts_with(&expected),
            "expected {expected}\ngot {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
}

#[test]
fn errors_are_json_with_output_json() {
    let work = tempfile::tempdir().unwrap();
    write_project(work.path(), "language = \"rust\"\n");
    let run = wash_in(work.path(), work.path(), &["-o", "json", "build"]);
    assert!(!run.success);
    let json = run.json();
    assert_eq!(json["success"], false);
    assert!(json["error"].as_str().unwrap().contains("missing `type`"), "{json}");
}

#[test]
fn a_failing_cargo_build_shows_the_command_and_cargos_error() {
    let work = tempfile::tempdir().unwrap();
    write_project(
        work.path(),
        "language = \"rust\"\ntype = \"component\"\n[component]\nwasm_target = \"wasm32-wasip2\"\n",
    );
    std::fs::write(
        work.path().join("Cargo.toml"),
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2024\"\n[workspace]\n[lib]\ncrate-type = [\"cdylib\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(work.path().join("src")).unwrap();
    std::fs::write(
        work.path().join("src/lib.rs"),
        "//! Broken.\npub fn oops() -> u32 { \"not a number\" }\n",
    )
    .unwrap();
    let run = wash_in(work.path(), work.path(), &["build"]);
    assert_failed(&run);
    assert!(
        run.stderr
            .contains("error: `cargo build --target wasm32-wasip2 --release` failed (exit status: 101)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("mismatched types"), "{}", run.stderr);
}

/// A `rustup` that reports only the host target installed and records
/// what it is asked; cargo is rustup's proxy and does not call it by name.
#[cfg(unix)]
fn rustup_without_wasm_targets(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let log = dir.join("rustup.log");
    let script = dir.join("rustup");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$*\" in\n  'target list --installed') echo x86_64-unknown-linux-gnu ;;\nesac\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    log
}

#[cfg(unix)]
#[test]
fn a_missing_rust_target_is_added_with_rustup_and_said() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("hello");
    copy_project(&examples_dir().join("hello"), &project);
    let tools = work.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let log = rustup_without_wasm_targets(&tools);
    let path = std::env::join_paths(
        std::iter::once(tools).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_wash"))
        .arg("build")
        .current_dir(&project)
        .env("WASH_KEYS", work.path().join("keys"))
        .env("USER", "tester")
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .env("PATH", path)
        .output()
        .expect("wash runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("the Rust target wasm32-wasip2 is missing: running rustup target add wasm32-wasip2"),
        "{stderr}"
    );
    let asked = std::fs::read_to_string(&log).unwrap();
    assert_eq!(asked, "target list --installed\ntarget add wasm32-wasip2\n");
}

#[test]
fn a_missing_tinygo_says_where_to_get_it() {
    let work = tempfile::tempdir().unwrap();
    write_project(
        work.path(),
        "name = \"g\"\nversion = \"0.1.0\"\nlanguage = \"tinygo\"\ntype = \"component\"\n[component]\nwit_world = \"w\"\nwasm_target = \"wasm32-wasip2\"\n",
    );
    let run = wash_in(work.path(), work.path(), &["build"]);
    assert_failed(&run);
    assert!(
        run.stderr
            .contains("tinygo not found, install from https://tinygo.org/getting-started/install/"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_custom_build_command_is_run_and_its_artifact_signed() {
    let work = tempfile::tempdir().unwrap();
    let component = crate::hello_component(work.path());
    write_project(
        work.path(),
        &format!(
            "name = \"custom\"\nversion = \"1.2.3\"\nlanguage = \"zig\"\ntype = \"component\"\n[component]\n\
             build_command = \"true\"\nbuild_artifact = \"{}\"\ntags = [\"t1\"]\n",
            component.file_name().unwrap().to_str().unwrap()
        ),
    );
    let keys = work.path().join("keys");
    let run = wash_in(work.path(), &keys, &["-o", "json", "build"]);
    assert!(run.success, "{}", run.stderr);
    let signed = work.path().join("build/custom_s.wasm");
    assert_eq!(run.json()["component_path"], signed.to_str().unwrap());
    let claims = wash_in(work.path(), &keys, &["-o", "json", "inspect", signed.to_str().unwrap()]).json();
    assert_eq!(claims["name"], "custom");
    assert_eq!(claims["version"], "1.2.3");
    assert_eq!(claims["tags"], serde_json::json!(["t1"]));
}

/// Runs `wash build` on a copy of `examples/hello-python` with only `path_dir`
/// on `PATH` and an empty tool cache, so componentize-py must be installed.
#[cfg(unix)]
fn build_python_with_path(path_dir: &Path) -> Run {
    let work = tempfile::tempdir().unwrap();
    copy_project(&examples_dir().join("hello-python"), work.path());
    let output = Command::new(env!("CARGO_BIN_EXE_wash"))
        .arg("build")
        .current_dir(work.path())
        .env("WASH_KEYS", work.path())
        .env("WASH_CACHE_DIR", work.path().join("cache"))
        .env("PATH", path_dir)
        .output()
        .expect("wash runs");
    Run {
        success: output.status.success(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

#[cfg(unix)]
#[test]
fn a_python_project_without_python3_says_what_to_install() {
    let empty = tempfile::tempdir().unwrap();
    let run = build_python_with_path(empty.path());
    assert_failed(&run);
    assert!(
        run.stderr
            .contains("error: python3 not found, install Python 3 (python3 with the venv module)"),
        "{}",
        run.stderr
    );
}

#[cfg(unix)]
#[test]
fn a_failing_componentize_py_install_says_what_to_do() {
    use std::os::unix::fs::PermissionsExt as _;

    // A python3 whose venv module is missing, as on Debian without python3-venv.
    let bin = tempfile::tempdir().unwrap();
    let python = bin.path().join("python3");
    std::fs::write(&python, "#!/bin/sh\necho 'No module named venv' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = build_python_with_path(bin.path());
    assert_failed(&run);
    assert!(run.stderr.contains("No module named venv"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("install Python 3 (python3 with the venv module), or install componentize-py yourself"),
        "{}",
        run.stderr
    );
}
