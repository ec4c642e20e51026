//! `cargo xtask conformance`: the control-interface conformance suite
//! (`crates/lattice-conformance`).
//!
//! With `--nats URL` it checks whatever hosts are on that lattice (ours, upstream's, or
//! both). Without it — and as the `conformance` step of `cargo xtask ci` — it starts its own
//! lattice: a private `nats-server -js` on a free loopback port and two freshly built
//! `wasmcloud` hosts on it, then runs every check including `host.stop`. Hosts and server are
//! stopped by guards, also when a check fails, and a failure prints the hosts' logs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context as _, Result, bail};

use crate::cmd::{self, cmd};
use crate::servers::Nats;

/// What `cargo xtask conformance` was given.
pub(crate) struct Options {
    pub(crate) nats: Option<String>,
    pub(crate) lattice: Option<String>,
    pub(crate) hosts: Option<String>,
    pub(crate) output: Option<String>,
    pub(crate) stop_host: bool,
}

/// `cargo xtask conformance [--nats URL --lattice NAME --hosts N --stop-host] [-o json]`.
pub(crate) fn run(options: &Options) -> Result<()> {
    let suite = build(false)?;
    let Some(nats) = &options.nats else {
        let summary = own_lattice(&suite, options.output.as_deref())?;
        eprintln!("{summary}");
        return Ok(());
    };
    let mut command = Command::new(&suite);
    command.args(["--nats", nats]);
    command.args(["--lattice", options.lattice.as_deref().unwrap_or("default")]);
    if let Some(hosts) = &options.hosts {
        command.args(["--hosts", hosts]);
    }
    if let Some(output) = &options.output {
        command.args(["--output", output]);
    }
    if options.stop_host {
        command.arg("--stop-host");
    }
    cmd::run(&mut command)
}

/// The `conformance` step of `cargo xtask ci`.
pub(crate) fn ci() -> Result<Option<String>> {
    let suite = build(true)?;
    own_lattice(&suite, None).map(Some)
}

/// Builds the suite and the host; returns the suite's binary.
fn build(quiet: bool) -> Result<PathBuf> {
    let mut args = vec![
        "build",
        "--locked",
        "-p",
        "lattice-conformance",
        "-p",
        "lattice-host",
        "--bins",
    ];
    if quiet {
        args.push("--quiet");
    }
    cmd::run(&mut cmd("cargo", args))?;
    binary("lattice-conformance")
}

fn binary(name: &str) -> Result<PathBuf> {
    let path = cmd::target_dir()?
        .join("debug")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!("{} missing after the build", path.display());
    }
    Ok(path)
}

/// Two of our hosts on a private lattice, and the whole suite against them.
fn own_lattice(suite: &Path, output: Option<&str>) -> Result<String> {
    let scratch = cmd::target_dir()?.join("conformance");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
    let nats = Nats::start(&scratch.join("nats"))?;
    let lattice = format!("xtask-conformance-{}", std::process::id());
    let host_binary = binary("wasmcloud")?;
    let hosts = [1, 2].map(|n| Host::start(&host_binary, &scratch.join(format!("host-{n}")), nats.port, &lattice));
    let hosts = hosts.into_iter().collect::<Result<Vec<_>>>()?;

    let mut command = Command::new(suite);
    command
        .args([
            "--nats",
            &format!("nats://127.0.0.1:{}", nats.port),
            "--lattice",
            &lattice,
        ])
        .args([
            "--hosts",
            "2",
            "--host-wait-secs",
            "60",
            "--heartbeat-wait-secs",
            "15",
            "--stop-host",
        ])
        .arg("--work-dir")
        .arg(&scratch);
    if let Some(output) = output {
        command.args(["--output", output]);
    }
    eprintln!("$ {}", cmd::display(&command));
    let result = command
        .stdin(Stdio::null())
        .output()
        .context("cannot run the conformance suite")?;
    print!("{}", String::from_utf8_lossy(&result.stdout));
    eprint!("{}", String::from_utf8_lossy(&result.stderr));
    if !result.status.success() {
        for host in &hosts {
            host.print_log();
        }
        bail!(
            "the conformance suite failed against two wasmcloud hosts ({})",
            result.status
        );
    }
    let stdout = String::from_utf8_lossy(&result.stdout);
    let summary = stdout
        .lines()
        .rev()
        .find(|line| line.contains(" checks: "))
        .unwrap_or("the suite passed")
        .to_owned();
    Ok(format!("two hosts: {summary}"))
}

/// One `wasmcloud` host with its own state, killed on drop.
struct Host {
    child: Child,
    log: PathBuf,
}

impl Host {
    fn start(binary: &Path, dir: &Path, nats_port: u16, lattice: &str) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let log = dir.join("host.log");
        let file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .args(["--nats-host", "127.0.0.1", "--nats-port", &nats_port.to_string()])
            .args([
                "--lattice",
                lattice,
                "--allow-file-load",
                "--heartbeat-interval-seconds",
                "2",
            ])
            .arg("--compile-cache-dir")
            .arg(dir.join("compile-cache"))
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        eprintln!("$ {}", cmd::display(&command));
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        Ok(Self { child, log })
    }

    fn print_log(&self) {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        eprintln!("--- {} ---\n{log}", self.log.display());
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
