//! Compiles every guest component under `guests/` for `wasm32-wasip2` and
//! writes their paths into `$OUT_DIR/guests.rs`, so tests use components built
//! from source instead of checked-in blobs (wasmtime's test-programs pattern).

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let guests = manifest_dir.join("guests");
    println!("cargo:rerun-if-changed={}", guests.display());

    let target_dir = out_dir.join("guests-target");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&guests)
        .args(["build", "--release", "--locked", "--workspace", "--target", TARGET])
        .arg("--target-dir")
        .arg(&target_dir);
    // The outer cargo's settings describe the host build (clippy's wrapper,
    // coverage or sanitizer flags); none of them may leak into the guests.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_") && key != "CARGO_HOME"
            || key.starts_with("RUSTC")
            || key == "RUSTFLAGS"
            || key == "RUSTDOCFLAGS"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo for the guest components: {e}"));
    assert!(
        status.success(),
        "building the guest components in {} failed (see cargo's output above); \
         if the target is missing, run `rustup target add {TARGET}`",
        guests.display()
    );

    let artifacts = target_dir.join(TARGET).join("release");
    let mut generated = String::new();
    let mut embedded = String::new();
    for name in guest_names(&guests) {
        let file = format!("{}.wasm", name.replace('-', "_"));
        let path = artifacts.join(&file);
        assert!(path.exists(), "guest `{name}` built but {} is missing", path.display());
        let konst = name.replace('-', "_").to_uppercase();
        writeln!(
            generated,
            "/// `guests/{name}` compiled for {TARGET}.\npub const {konst}: &str = {:?};",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
        writeln!(
            embedded,
            "    /// `guests/{name}` compiled for {TARGET}, in the binary.\n    pub const {konst}: &[u8] = include_bytes!({:?});",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    writeln!(
        generated,
        "/// The same components as bytes, for tools that run where the build directory is not.\npub mod embedded {{\n{embedded}}}"
    )
    .expect("writing to a String cannot fail");
    fs::write(out_dir.join("guests.rs"), generated).expect("OUT_DIR is writable");
}

/// Every folder of `guests/` that holds a crate, in a stable order.
fn guest_names(guests: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(guests)
        .expect("guests/ exists")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
