//! The README's "From an OCI registry", run for real: a private `docker-registry` on a free
//! loopback port, `wash push` of the hello build as `demo:1`, a host from `wash up` that may
//! pull from it over plain HTTP (`WASMCLOUD_OCI_ALLOWED_INSECURE`), the component started by
//! reference and linked to the built-in http-server, a GET; then `wash push` of the kvcounter
//! build as `demo:2`, `wash update component`, and a GET that the new version answers. Its
//! own lattice, registry and HTTP port; every wait bounded; registry and host stopped by
//! guards, also when a check fails.

use std::path::Path;
use std::process::{Child, Command};

use anyhow::{Context, Result, bail};

use super::serve::{HostGuard, Wash, get};
use crate::servers::{curl, free_port, spawn_ready};

/// A `docker-registry serve` process, killed on drop.
struct Registry(Child);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the README's registry commands with the signed hello and kvcounter builds.
pub(super) fn run(wash: &Wash, hello: &Path, kvcounter: &Path) -> Result<String> {
    let dir = wash.state.join("registry");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let config = dir.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\nstorage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: {addr}}}\n",
            dir.join("data").display()
        ),
    )?;
    let mut command = Command::new("docker-registry");
    command.arg("serve").arg(&config);
    let v2 = format!("http://{addr}/v2/");
    let _registry = Registry(
        spawn_ready(command, || Ok(curl(&v2)?.is_some_and(|(_, status)| status == 200)))
            .context("starting docker-registry (apt-get install docker-registry; `cargo xtask prereqs` does it)")?,
    );

    let path = |file: &Path| file.to_str().map(str::to_owned).context("a non-UTF-8 path");
    let (demo1, demo2) = (format!("{addr}/demo:1"), format!("{addr}/demo:2"));
    wash.ok(&["push", &demo1, &path(hello)?, "--insecure"])?;
    let port = wash.nats_port.to_string();
    let mut up = wash.command(&[
        "up",
        "--detached",
        "--nats-connect-only",
        "--nats-port",
        &port,
        "-x",
        &wash.lattice,
    ]);
    up.env("WASMCLOUD_OCI_ALLOWED_INSECURE", &addr);
    wash.run(up)?;
    let _host = HostGuard { wash };
    let http_port = free_port()?;
    wash.ok_at(&["start", "component", &demo1, "demo", "--wait-timeout-ms", "120000"])?;
    wash.ok_at(&["start", "provider", "wasmcloud+builtin://http-server", "http-demo"])?;
    wash.ok_at(&[
        "config",
        "put",
        "demo-address",
        &format!("address=127.0.0.1:{http_port}"),
    ])?;
    wash.ok_at(&[
        "link",
        "put",
        "http-demo",
        "demo",
        "wasi",
        "http",
        "--interface",
        "incoming-handler",
        "--source-config",
        "demo-address",
    ])?;
    expect(http_port, "Hello from hello! You asked for /a\n")?;
    wash.ok(&["push", &demo2, &path(kvcounter)?, "--insecure"])?;
    wash.ok_at(&["update", "component", "demo", &demo2, "--wait-timeout-ms", "120000"])?;
    expect(http_port, "{\"path\":\"/a\",\"count\":1}\n")?;
    Ok("registry: demo:1 (hello) then demo:2 (kvcounter) served by reference".to_owned())
}

fn expect(http_port: u16, body: &str) -> Result<()> {
    let answer = get(http_port, "/a")?;
    if answer.status != 200 || answer.body != body {
        bail!(
            "GET http://127.0.0.1:{http_port}/a answered {} {:?}, expected 200 {body:?}",
            answer.status,
            answer.body
        );
    }
    eprintln!("ok: GET /a on demo → 200 {:?}", answer.body);
    Ok(())
}
