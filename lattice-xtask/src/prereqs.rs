//! `cargo xtask prereqs`: make sure the tools the other steps need are installed, or say how.

use std::fs;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, cmd};

/// The servers the integration tests spawn (through `lattice-test-support`), and the tools the
/// examples step runs as the README does (`curl`, `redis-cli`).
const SERVICES: &[&str] = &["nats-server", "redis-server", "redis-cli", "curl", "docker-registry"];

/// What the OCI client's TLS (native-tls) links and builds against: the system OpenSSL's
/// headers and `.pc` file, found through `pkg-config`.
const OPENSSL_DEV: &str = "libssl-dev and pkg-config (`pkg-config --exists openssl` failed)";

/// The exact command that installs [`SERVICES`] and [`OPENSSL_DEV`] on Debian and Ubuntu.
const APT_INSTALL: &str =
    "apt-get install -y nats-server redis-server redis-tools curl docker-registry libssl-dev pkg-config";

/// cargo-release is pinned: newer releases may require a newer rustc than `rust-toolchain.toml`
/// pins, and the release configuration in `release.toml` is written against this version.
pub(crate) const CARGO_RELEASE_VERSION: &str = "1.1.6";

pub(crate) fn run() -> Result<()> {
    rustup_targets()?;
    services()?;
    ensure_cargo_release()?;
    Ok(())
}

/// Adds the rustup targets that `rust-toolchain.toml` lists but are not installed yet.
pub(crate) fn rustup_targets() -> Result<()> {
    let text = fs::read_to_string("rust-toolchain.toml").context("reading rust-toolchain.toml")?;
    let wanted = toolchain_targets(&text)?;
    if cmd::on_path("rustup").is_none() {
        bail!(
            "rustup is not on PATH: install Rust through rustup (https://rustup.rs) so the targets \
             in rust-toolchain.toml ({}) can be added",
            wanted.join(", ")
        );
    }
    let installed = cmd::read(&mut cmd("rustup", ["target", "list", "--installed"]))?;
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|t| !installed.lines().any(|line| line.trim() == t.as_str()))
        .collect();
    if missing.is_empty() {
        eprintln!("rustup targets: all installed ({})", wanted.join(", "));
        return Ok(());
    }
    eprintln!(
        "rustup targets: installing missing {}",
        missing.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
    );
    cmd::run(cmd("rustup", ["target", "add"]).args(&missing))
}

/// The `[toolchain] targets` list of a `rust-toolchain.toml`.
fn toolchain_targets(text: &str) -> Result<Vec<String>> {
    let doc: toml::Table = text.parse().context("parsing rust-toolchain.toml")?;
    let targets = doc
        .get("toolchain")
        .and_then(|t| t.get("targets"))
        .and_then(|t| t.as_array())
        .map(|list| list.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Ok(targets)
}

/// Checks for `nats-server`, `redis-server`, `docker-registry` and OpenSSL's development files;
/// installs them only in CI as root with apt-get, because installing system packages behind a
/// developer's back would be rude.
fn services() -> Result<()> {
    let missing = missing_services();
    if missing.is_empty() {
        eprintln!(
            "services: {} found on PATH; openssl found by pkg-config",
            SERVICES.join(", ")
        );
        return Ok(());
    }
    let can_install = cmd::is_ci() && is_root() && cmd::on_path("apt-get").is_some();
    if !can_install {
        bail!(
            "{} not found, and the tests and examples run {} and build against OpenSSL: install \
             with `{APT_INSTALL}` on Debian/Ubuntu (prefix `sudo` when not root), or `brew install \
             nats-server redis curl openssl pkg-config` on macOS plus CNCF distribution's \
             registry on PATH as `docker-registry`",
            missing.join(" and "),
            SERVICES.join(", ")
        );
    }
    eprintln!(
        "services: {} missing; installing them with apt-get (CI=true, root)",
        missing.join(", ")
    );
    cmd::run(cmd("apt-get", ["update", "-q"]).env("DEBIAN_FRONTEND", "noninteractive"))?;
    cmd::run(cmd("apt-get", APT_INSTALL.split_whitespace().skip(1)).env("DEBIAN_FRONTEND", "noninteractive"))?;
    if missing.contains(&"docker-registry") {
        // The package's own service listens on all interfaces (`:5000`); the tests start their
        // own registries on 127.0.0.1, so stop it if the install started it.
        let _ = cmd::run(&mut cmd("service", ["docker-registry", "stop"]));
    }
    let still_missing = missing_services();
    if !still_missing.is_empty() {
        bail!(
            "`{APT_INSTALL}` succeeded but {} is still not found: add its directory (often \
             /usr/sbin) to PATH, or its `.pc` directory to PKG_CONFIG_PATH",
            still_missing.join(" and ")
        );
    }
    Ok(())
}

/// The [`SERVICES`] not on PATH, and [`OPENSSL_DEV`] when `pkg-config` cannot find OpenSSL.
fn missing_services() -> Vec<&'static str> {
    let mut missing: Vec<&str> = SERVICES.iter().copied().filter(|s| cmd::on_path(s).is_none()).collect();
    let openssl =
        cmd::on_path("pkg-config").is_some() && cmd::read(&mut cmd("pkg-config", ["--exists", "openssl"])).is_ok();
    if !openssl {
        missing.push(OPENSSL_DEV);
    }
    missing
}

fn is_root() -> bool {
    cmd::read(&mut cmd("id", ["-u"])).is_ok_and(|uid| uid.trim() == "0")
}

/// Installs the pinned cargo-release from crates.io when it is missing.
pub(crate) fn ensure_cargo_release() -> Result<()> {
    if cmd::on_path("cargo-release").is_some() {
        let version = cmd::read(&mut cmd("cargo", ["release", "--version"])).unwrap_or_default();
        eprintln!("cargo-release: found ({})", version.trim());
        return Ok(());
    }
    eprintln!("cargo-release: not found; installing version {CARGO_RELEASE_VERSION} from crates.io");
    cmd::run(&mut cmd(
        "cargo",
        [
            "install",
            "cargo-release",
            "--locked",
            "--version",
            CARGO_RELEASE_VERSION,
        ],
    ))
    .with_context(|| {
        format!(
            "installing cargo-release; install it yourself with `cargo install cargo-release \
             --locked --version {CARGO_RELEASE_VERSION}`"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_targets_from_the_toolchain_file() {
        let text = "[toolchain]\nchannel = \"1.95.0\"\ntargets = [\"wasm32-wasip1\", \"wasm32-wasip2\"]\n";
        assert_eq!(toolchain_targets(text).unwrap(), ["wasm32-wasip1", "wasm32-wasip2"]);
        assert!(
            toolchain_targets("[toolchain]\nchannel = \"stable\"\n")
                .unwrap()
                .is_empty()
        );
    }
}
