//! `cargo xtask tour`: the README's five-minute tour, run for real.
//!
//! Builds `wash` and the hello component from source, then runs the tour's
//! commands in a scratch directory (`target/tour`, keys in `target/tour/keys`)
//! and prints each command with its output. It fails when a command that
//! should work fails, or when tampering goes unnoticed, so `cargo xtask ci`
//! can keep the README honest.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, cmd};

pub(crate) fn run() -> Result<()> {
    let target_dir = cmd::target_dir()?;
    let scratch = target_dir.join("tour");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch)?;

    cmd::run(&mut cmd(
        "cargo",
        ["build", "--locked", "--quiet", "-p", "lattice-wash"],
    ))?;
    let wash = target_dir
        .join("debug")
        .join(format!("wash{}", std::env::consts::EXE_SUFFIX));
    let guests_target = scratch.join("guests-target");
    cmd::run(
        cmd(
            "cargo",
            [
                "build",
                "--locked",
                "--quiet",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "hello-http",
            ],
        )
        .args([
            "--manifest-path",
            "crates/lattice-test-support/guests/Cargo.toml",
            "--target-dir",
        ])
        .arg(&guests_target),
    )?;
    let component = guests_target.join("wasm32-wasip2/release/hello_http.wasm");
    std::fs::copy(&component, scratch.join("hello.wasm"))
        .with_context(|| format!("cannot copy {}", component.display()))?;

    let tour = Tour {
        wash,
        scratch: scratch.clone(),
    };
    tour.expect_ok(&["keys", "gen", "account"])?;
    tour.expect_ok(&[
        "claims",
        "sign",
        "hello.wasm",
        "--name",
        "hello",
        "--ver",
        "0.1.0",
        "--rev",
        "1",
        "--tag",
        "http",
    ])?;
    tour.expect_ok(&["keys", "list"])?;
    tour.expect_ok(&["claims", "inspect", "hello_s.wasm"])?;
    tour.expect_ok(&["inspect", "--wit", "hello_s.wasm"])?;
    tour.expect_ok(&["inspect", "hello_s.wasm", "-o", "json"])?;

    // The tour's promise: change one byte and inspect notices.
    let mut bytes = std::fs::read(scratch.join("hello_s.wasm"))?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(scratch.join("tampered.wasm"), bytes)?;
    let stderr = tour.expect_failure(&["inspect", "tampered.wasm"])?;
    if !stderr.contains("modified after it was signed") {
        bail!("wash inspect did not report the tampered component as modified:\n{stderr}");
    }
    eprintln!(
        "\ntour: every step behaved as the README says (scratch directory {})",
        scratch.display()
    );
    Ok(())
}

struct Tour {
    wash: PathBuf,
    scratch: PathBuf,
}

impl Tour {
    fn command(&self, args: &[&str]) -> Command {
        eprintln!("\n$ wash {}", args.join(" "));
        let mut command = Command::new(&self.wash);
        command
            .args(args)
            .current_dir(&self.scratch)
            .env("WASH_KEYS", self.scratch.join("keys"));
        command
    }

    fn expect_ok(&self, args: &[&str]) -> Result<()> {
        let output = self
            .command(args)
            .output()
            .with_context(|| format!("cannot run {}", self.wash.display()))?;
        print_output(&output.stdout, &output.stderr);
        if !output.status.success() {
            bail!("`wash {}` failed ({})", args.join(" "), output.status);
        }
        Ok(())
    }

    fn expect_failure(&self, args: &[&str]) -> Result<String> {
        let output = self
            .command(args)
            .output()
            .with_context(|| format!("cannot run {}", self.wash.display()))?;
        print_output(&output.stdout, &output.stderr);
        if output.status.success() {
            bail!("`wash {}` succeeded but should have failed", args.join(" "));
        }
        Ok(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn print_output(stdout: &[u8], stderr: &[u8]) {
    eprint!("{}{}", String::from_utf8_lossy(stdout), String::from_utf8_lossy(stderr));
}
