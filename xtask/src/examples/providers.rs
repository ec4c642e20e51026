//! The README's "Across two hosts, with providers", run for real: two hosts on one lattice
//! (started by `wash up` with the labels `role=front` and `role=store`), kvcounter and the
//! http-server provider placed on the first by constraint, the keyvalue-redis provider on the
//! second, links between them, then `curl` for the counts and `redis-cli` for what Redis
//! holds. Its own `redis-server` and HTTP port; every wait bounded; hosts and Redis stopped
//! by guards, also when a check fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::serve::{DEADLINE, HostGuard, POLL, Wash, curl, free_port, spawn_ready};
use crate::cmd::{self, cmd};

/// The two provider binaries, built with the workspace (debug, like the host the step runs).
fn build_providers(target_dir: &Path) -> Result<(PathBuf, PathBuf)> {
    cmd::run(&mut cmd(
        "cargo",
        [
            "build",
            "--locked",
            "--quiet",
            "-p",
            "wasmcloud-provider-http-server",
            "-p",
            "wasmcloud-provider-keyvalue-redis",
        ],
    ))?;
    let binary = |name: &str| {
        let path = target_dir.join("debug").join(name);
        if path.is_file() {
            Ok(path)
        } else {
            bail!("{} missing after building the providers", path.display())
        }
    };
    Ok((binary("http-server-provider")?, binary("keyvalue-redis-provider")?))
}

/// A private `redis-server` on a free loopback port, killed on drop.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start() -> Result<Self> {
        let port = free_port()?;
        let mut command = Command::new("redis-server");
        command.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]);
        let child = spawn_ready(command, || Ok(cli(port, &["ping"]).ok().as_deref() == Some("PONG")))?;
        Ok(Self { child, port })
    }

    /// `redis-cli -p <port> args…`, its answer trimmed.
    fn cli(&self, args: &[&str]) -> Result<String> {
        cli(self.port, args)
    }
}

/// `redis-cli -p <port> args…`, its answer trimmed.
fn cli(port: u16, args: &[&str]) -> Result<String> {
    let output = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("could not run redis-cli: install redis-tools")?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the README's two-host commands with `component` (the wasip2 kvcounter build).
pub(super) fn run(
    wash_binary: &Path,
    host_binary: &Path,
    scratch: &Path,
    nats_port: u16,
    component: &Path,
) -> Result<String> {
    let target_dir = cmd::target_dir()?;
    let (http_server, keyvalue_redis) = build_providers(&target_dir)?;
    let redis = Redis::start()?;
    let lattice = format!("xtask-examples-providers-{}", std::process::id());
    let host = |state: &str| Wash {
        binary: wash_binary.to_path_buf(),
        host_binary: host_binary.to_path_buf(),
        state: scratch.join(state),
        nats_port,
        lattice: lattice.clone(),
    };
    let (front, store) = (host("providers-front"), host("providers-store"));
    let port = nats_port.to_string();
    for (wash, role) in [(&front, "role=front"), (&store, "role=store")] {
        wash.ok(&[
            "up",
            "--detached",
            "--nats-connect-only",
            "--nats-port",
            &port,
            "-x",
            &lattice,
            "-l",
            role,
        ])?;
    }
    let _guards = (HostGuard { wash: &front }, HostGuard { wash: &store });
    let checks = || -> Result<String> {
        let file_ref =
            |path: &Path| -> Result<String> { Ok(format!("file://{}", std::path::absolute(path)?.display())) };
        let http_port = free_port()?;
        front.ok_at(&[
            "start",
            "component",
            &file_ref(component)?,
            "kvcounter",
            "-c",
            "role=front",
            "--wait-timeout-ms",
            "120000",
        ])?;
        front.ok_at(&[
            "start",
            "provider",
            &file_ref(&http_server)?,
            "http-kvcounter",
            "-c",
            "role=front",
        ])?;
        front.ok_at(&[
            "start",
            "provider",
            &file_ref(&keyvalue_redis)?,
            "kv-redis",
            "-c",
            "role=store",
        ])?;
        front.ok_at(&[
            "config",
            "put",
            "kvcounter-redis",
            &format!("URL=redis://127.0.0.1:{}", redis.port),
        ])?;
        front.ok_at(&[
            "link",
            "put",
            "kvcounter",
            "kv-redis",
            "wasi",
            "keyvalue",
            "--interface",
            "store",
            "--interface",
            "atomics",
            "--target-config",
            "kvcounter-redis",
        ])?;
        front.ok_at(&[
            "config",
            "put",
            "kvcounter-http",
            &format!("address=127.0.0.1:{http_port}"),
        ])?;
        front.ok_at(&[
            "link",
            "put",
            "http-kvcounter",
            "kvcounter",
            "wasi",
            "http",
            "--interface",
            "incoming-handler",
            "--source-config",
            "kvcounter-http",
        ])?;
        let url = format!("http://127.0.0.1:{http_port}/a");
        // The provider listens once its host told it the link: until then nothing answers.
        let start = Instant::now();
        let first = loop {
            if let Some(answer) = curl(&url)? {
                break answer;
            }
            if start.elapsed() > DEADLINE {
                bail!("nothing answered {url} within {DEADLINE:?}");
            }
            std::thread::sleep(POLL);
        };
        let second = curl(&url)?.context("the http-server provider stopped answering")?;
        for (answer, count) in [(&first, 1), (&second, 2)] {
            let expected = format!("{{\"path\":\"/a\",\"count\":{count}}}\n");
            if *answer != (expected.clone(), 200) {
                bail!("curl {url} answered {answer:?}, expected 200 {expected:?}");
            }
        }
        let stored = redis.cli(&["GET", "counter:/a"])?;
        if stored != "2" {
            bail!(
                "Redis holds {stored:?} under counter:/a, expected \"2\": the counts did not go through the keyvalue-redis provider"
            );
        }
        eprintln!("ok: kvcounter across two hosts counted to 2 in Redis");
        Ok("kvcounter across two hosts with the http-server and keyvalue-redis providers".to_owned())
    };
    checks().inspect_err(|_| {
        front.print_host_log();
        store.print_host_log();
    })
}
