//! The README's "Across two hosts, with providers", run for real: two hosts on one lattice
//! (started by `wash up` with the labels `role=front` and `role=store`), kvcounter and the
//! http-server provider placed on the first by constraint, the keyvalue-redis provider on the
//! second, links between them, then `curl` for the counts and `redis-cli` for what Redis
//! holds. Its own `redis-server` and HTTP port; every wait bounded; hosts and Redis stopped
//! by guards, also when a check fails.
//!
//! Then `wash dev` joins that NATS server on a lattice of its own with a copy of kvcounter
//! whose `[dev]` routes its key-value imports to the keyvalue-redis provider: the counts must
//! land in Redis, and Ctrl-C must take every link it made off the lattice.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::serve::{HostGuard, Wash};
use crate::cmd::{self, cmd};
use crate::servers::{DEADLINE, POLL, curl, free_port, spawn_ready};

/// The two provider binaries, built with the workspace (debug, like the host the step runs).
fn build_providers(target_dir: &Path) -> Result<(PathBuf, PathBuf)> {
    cmd::run(&mut cmd(
        "cargo",
        [
            "build",
            "--locked",
            "--quiet",
            "-p",
            "lattice-provider-http-server",
            "-p",
            "lattice-provider-keyvalue-redis",
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
        let first = get_linked(&url)?;
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
    let two_hosts = checks().inspect_err(|_| {
        front.print_host_log();
        store.print_host_log();
    })?;
    let dev = wash_dev(&front, scratch, &keyvalue_redis, &redis)?;
    Ok(format!("{two_hosts}; {dev}"))
}

/// `wash dev --nats` on a copy of kvcounter whose `[dev]` links its key-value imports to the
/// keyvalue-redis provider; checks the counts in Redis and that Ctrl-C leaves no link behind.
fn wash_dev(wash: &Wash, scratch: &Path, keyvalue_redis: &Path, redis: &Redis) -> Result<String> {
    let project = scratch.join("dev-kvcounter");
    copy_project(Path::new("examples/kvcounter"), &project)?;
    let provider = std::path::absolute(keyvalue_redis)?;
    let manifest = project.join("wasmcloud.toml");
    let mut text = std::fs::read_to_string(&manifest)?;
    text.push_str(&format!(
        "\n[[dev.overrides.imports]]\n\
         interface_spec = \"wasi:keyvalue/store,atomics@0.2.0-draft\"\n\
         image_ref = \"file://{}\"\n\
         link_config = [{{ values = {{ URL = \"redis://127.0.0.1:{}\" }} }}]\n",
        provider.display(),
        redis.port
    ));
    std::fs::write(&manifest, text)?;
    let lattice = format!("xtask-examples-dev-{}", std::process::id());
    let dev_wash = Wash {
        lattice: lattice.clone(),
        state: scratch.join("dev"),
        ..wash.clone()
    };
    let http_port = free_port()?;
    let mut command = dev_wash.command(&[
        "-o",
        "json",
        "dev",
        "--nats",
        &format!("127.0.0.1:{}", wash.nats_port),
        "--lattice",
        &lattice,
        "--address",
        &format!("127.0.0.1:{http_port}"),
    ]);
    command
        .current_dir(&project)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if std::env::var_os("CARGO_TARGET_DIR").is_none() {
        // The example's own target directory: its dependencies are built already.
        command.env("CARGO_TARGET_DIR", std::path::absolute("examples/kvcounter/target")?);
    }
    eprintln!("$ {}", cmd::display(&command));
    let mut child = command.spawn().context("could not start wash dev")?;
    let events = dev_events(child.stdout.take().context("wash dev's stdout")?);
    let dev = KillOnDrop(&mut child);
    let checks = || -> Result<()> {
        wait_event(&events, "serving", DEV_BUILD_WAIT)?;
        let url = format!("http://127.0.0.1:{http_port}/dev");
        for count in [1, 2] {
            let answer = if count == 1 {
                get_linked(&url)?
            } else {
                curl(&url)?.context("wash dev's http-server stopped answering")?
            };
            let expected = format!("{{\"path\":\"/dev\",\"count\":{count}}}\n");
            if answer != (expected.clone(), 200) {
                bail!("curl {url} answered {answer:?}, expected 200 {expected:?}");
            }
        }
        let stored = redis.cli(&["GET", "counter:/dev"])?;
        if stored != "2" {
            bail!(
                "Redis holds {stored:?} under counter:/dev, expected \"2\": wash dev's [dev] link to keyvalue-redis did not carry the counts"
            );
        }
        Ok(())
    };
    checks()?;
    cmd::run(&mut cmd("kill", ["-INT", &dev.0.id().to_string()]))?;
    wait_event(&events, "stopped", DEADLINE)?;
    let status = dev.0.wait()?;
    if !status.success() {
        bail!("wash dev exited {status} after Ctrl-C");
    }
    // wash dev's host is gone with it: a fresh host answers for the lattice's links.
    dev_wash.ok(&[
        "up",
        "--detached",
        "--nats-connect-only",
        "--nats-port",
        &wash.nats_port.to_string(),
        "-x",
        &lattice,
    ])?;
    let _host = HostGuard { wash: &dev_wash };
    let links = cmd::read(&mut dev_wash.command(&[
        "-o",
        "json",
        "get",
        "links",
        "-x",
        &lattice,
        "-p",
        &wash.nats_port.to_string(),
    ]))?;
    let links: serde_json::Value = serde_json::from_str(&links).context("wash get links printed no JSON")?;
    if links["links"].as_array().is_none_or(|l| !l.is_empty()) {
        bail!("wash dev left links on lattice {lattice} after Ctrl-C: {links}");
    }
    eprintln!("ok: wash dev counted to 2 in Redis through its [dev] link and took it down on Ctrl-C");
    Ok("wash dev joined the lattice with a [dev] link to keyvalue-redis".to_owned())
}

/// GETs `url` once both links are in place: the http-server provider listens once its host
/// told it its link (until then the connection is refused), and the keyvalue-redis provider
/// answers "no key-value link" until its host told it the component's. Neither counts, so
/// retrying them cannot count twice.
fn get_linked(url: &str) -> Result<(String, u16)> {
    let start = Instant::now();
    loop {
        match curl(url)? {
            Some((body, 500)) if body.contains("no key-value link") => {}
            Some(answer) => return Ok(answer),
            None => {}
        }
        if start.elapsed() > DEADLINE {
            bail!("{url} was not served with both links in place within {DEADLINE:?}");
        }
        std::thread::sleep(POLL);
    }
}

/// How long `wash dev` may take for its first build of the copied project.
const DEV_BUILD_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Kills `wash dev` if a check fails before its Ctrl-C.
struct KillOnDrop<'a>(&'a mut Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `wash -o json dev`'s events, one JSON object per line, read on a thread.
fn dev_events(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<serde_json::Value> {
    use std::io::BufRead as _;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let event = serde_json::from_str(&line)
                .unwrap_or_else(|_| serde_json::json!({ "event": "not-json", "line": line }));
            if tx.send(event).is_err() {
                return;
            }
        }
    });
    rx
}

/// Waits for the event called `name`; an error event of wash dev ends the wait.
fn wait_event(
    events: &std::sync::mpsc::Receiver<serde_json::Value>,
    name: &str,
    within: std::time::Duration,
) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .map_err(|_| anyhow::anyhow!("wash dev said no `{name}` within {within:?}"))?;
        if event["event"] == name {
            return Ok(());
        }
        if event["error"].is_string() || event["event"] == "build_failed" {
            bail!("wash dev failed while waiting for `{name}`: {event}");
        }
    }
}

/// Copies a project's sources (not `build/` or `target/`).
fn copy_project(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "build" || name == "target" {
            continue;
        }
        let (source, dest) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_project(&source, &dest)?;
        } else {
            std::fs::copy(&source, &dest).with_context(|| format!("cannot copy {}", source.display()))?;
        }
    }
    Ok(())
}
