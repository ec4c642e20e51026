//! Runs each built example on a real host and checks its HTTP answers.
//!
//! One private `nats-server -js` on a free loopback port serves every example; each example
//! gets its own `wasmcloud` host, started by the freshly built `wash up --detached
//! --nats-connect-only` in its own lattice and state directory, so examples never share the
//! host's in-memory key-value store (kvcounter built for wasip1 and for wasip2 must both count
//! from 1). On that host the step runs the README's "Run a component on a host" commands —
//! `wash start component`, `wash start provider wasmcloud+builtin://http-server`,
//! `wash config put … address=…`, `wash link put … --source-config …` — then sends GETs with
//! `curl` and compares status and body. Then the two-host provider run of
//! [`super::providers`], and the registry run of [`super::registry`]. Every wait is bounded; the NATS server
//! and the hosts are stopped by guards, also when a check fails, and a failure prints the
//! host's log.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, cmd};
use crate::servers::{DEADLINE, Nats, POLL, curl, free_port};

/// One `wash build` output to run: the project file and the signed component it produced.
pub(super) struct Built {
    pub(super) config: PathBuf,
    pub(super) component: PathBuf,
}

/// Runs every built example on its own host and checks its HTTP answers; returns a summary.
pub(super) fn run(wash: &Path, target_dir: &Path, builds: &[Built]) -> Result<String> {
    cmd::run(&mut cmd(
        "cargo",
        [
            "build",
            "--locked",
            "--quiet",
            "-p",
            "lattice-host",
            "--bin",
            "wasmcloud",
        ],
    ))?;
    let host = target_dir
        .join("debug")
        .join(format!("wasmcloud{}", std::env::consts::EXE_SUFFIX));
    if !host.is_file() {
        bail!("{} missing after building lattice-host", host.display());
    }
    let scratch = target_dir.join("examples-serve");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch).with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;

    let nats = Nats::start(&scratch.join("nats"))?;
    let mut served = Vec::new();
    let mut kvcounter_answers: Vec<(String, Vec<Answer>)> = Vec::new();
    for build in builds {
        let id = component_id(&build.config)?;
        let example = example_name(&build.config)?;
        let checks = checks_for(&example)?;
        let lattice = format!("xtask-examples-{}-{id}", std::process::id());
        let wash = Wash {
            binary: wash.to_path_buf(),
            host_binary: host.clone(),
            state: scratch.join(&id),
            nats_port: nats.port,
            lattice,
        };
        let answers = wash.serve(&id, &build.component, &checks).map_err(|error| {
            wash.print_host_log();
            error.context(format!("running {} on a host", build.config.display()))
        })?;
        if example == "kvcounter" {
            kvcounter_answers.push((build.config.display().to_string(), answers));
        }
        served.push(id);
    }
    if let [(first, expected), rest @ ..] = kvcounter_answers.as_slice() {
        for (other, answers) in rest {
            if answers != expected {
                bail!("{other} answered {answers:?} but {first} answered {expected:?}");
            }
        }
    }
    let kvcounter = builds
        .iter()
        .find(|b| component_id(&b.config).is_ok_and(|id| id == "kvcounter"))
        .context("examples/kvcounter/wasmcloud.toml was not built: the provider run needs it")?;
    let providers = super::providers::run(wash, &host, &scratch, nats.port, &kvcounter.component)?;
    let hello = builds
        .iter()
        .find(|b| component_id(&b.config).is_ok_and(|id| id == "hello"))
        .context("examples/hello/wasmcloud.toml was not built: the registry run needs it")?;
    let registry_wash = Wash {
        binary: wash.to_path_buf(),
        host_binary: host,
        state: scratch.join("registry-demo"),
        nats_port: nats.port,
        lattice: format!("xtask-examples-{}-registry", std::process::id()),
    };
    let registry = super::registry::run(&registry_wash, &hello.component, &kvcounter.component).map_err(|error| {
        registry_wash.print_host_log();
        error.context("running the README's registry commands")
    })?;
    drop(nats);
    Ok(format!(
        "served over HTTP: {}; {providers}; {registry}",
        served.join(", ")
    ))
}

/// One GET and the answer it must get.
struct Check {
    path: &'static str,
    status: u16,
    body: &'static str,
}

/// What each example must answer, read from its source; an unknown example is an error, so a
/// new example cannot slip through untested.
fn checks_for(example: &str) -> Result<Vec<Check>> {
    let checks = match example {
        "hello" => vec![Check {
            path: "/greet",
            status: 200,
            body: "Hello from hello! You asked for /greet\n",
        }],
        "kvcounter" => vec![
            Check {
                path: "/a",
                status: 200,
                body: "{\"path\":\"/a\",\"count\":1}\n",
            },
            Check {
                path: "/a",
                status: 200,
                body: "{\"path\":\"/a\",\"count\":2}\n",
            },
            Check {
                path: "/b?x=1",
                status: 200,
                body: "{\"path\":\"/b\",\"count\":1}\n",
            },
        ],
        "hello-python" => vec![Check {
            path: "/",
            status: 200,
            body: "hello from python",
        }],
        other => bail!("examples/{other} has no HTTP checks: add them to lattice-xtask/src/examples/serve.rs"),
    };
    Ok(checks)
}

/// The status and body of one response.
#[derive(Debug, PartialEq)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: String,
}

/// `examples/kvcounter/wasmcloud-preview1.toml` → `kvcounter`.
fn example_name(config: &Path) -> Result<String> {
    config
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .map(str::to_owned)
        .with_context(|| format!("{} is not in an example directory", config.display()))
}

/// `examples/kvcounter/wasmcloud-preview1.toml` → `kvcounter-preview1`; `wasmcloud.toml` gives
/// the example's name alone.
fn component_id(config: &Path) -> Result<String> {
    let example = example_name(config)?;
    let stem = config
        .file_stem()
        .and_then(|stem| stem.to_str())
        .with_context(|| format!("{} has no file name", config.display()))?;
    let variant = stem
        .strip_prefix("wasmcloud")
        .unwrap_or(stem)
        .trim_start_matches(['-', '_', '.']);
    let id = if variant.is_empty() {
        example
    } else {
        format!("{example}-{variant}")
    };
    Ok(id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect())
}

/// The built `wash`, pointed at one example's lattice and state directory.
#[derive(Clone)]
pub(super) struct Wash {
    pub(super) binary: PathBuf,
    pub(super) host_binary: PathBuf,
    pub(super) state: PathBuf,
    pub(super) nats_port: u16,
    pub(super) lattice: String,
}

impl Wash {
    /// `wash up`, the README's commands for `id`, then the checks; returns the answers.
    fn serve(&self, id: &str, component: &Path, checks: &[Check]) -> Result<Vec<Answer>> {
        let port = self.nats_port.to_string();
        self.ok(&[
            "up",
            "--detached",
            "--nats-connect-only",
            "--nats-port",
            &port,
            "-x",
            &self.lattice,
        ])?;
        let _host = HostGuard { wash: self };
        let component =
            std::path::absolute(component).with_context(|| format!("cannot make {} absolute", component.display()))?;
        let component_ref = format!("file://{}", component.display());
        let provider = format!("http-{id}");
        let config = format!("{id}-address");
        let http_port = free_port()?;
        let address = format!("address=127.0.0.1:{http_port}");
        // Compiling a component on a debug host is slow on a busy CI machine: wait long enough.
        self.ok_at(&["start", "component", &component_ref, id, "--wait-timeout-ms", "120000"])?;
        self.ok_at(&["start", "provider", "wasmcloud+builtin://http-server", &provider])?;
        self.ok_at(&["config", "put", &config, &address])?;
        self.ok_at(&[
            "link",
            "put",
            &provider,
            id,
            "wasi",
            "http",
            "--interface",
            "incoming-handler",
            "--source-config",
            &config,
        ])?;
        let mut answers = Vec::new();
        for check in checks {
            let answer = get(http_port, check.path)?;
            if answer.status != check.status || answer.body != check.body {
                bail!(
                    "GET http://127.0.0.1:{http_port}{} answered {} {:?}, expected {} {:?}",
                    check.path,
                    answer.status,
                    answer.body,
                    check.status,
                    check.body
                );
            }
            eprintln!("ok: GET {} on {id} → {} {:?}", check.path, answer.status, answer.body);
            answers.push(answer);
        }
        Ok(answers)
    }

    pub(super) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .env("WASH_DATA_DIR", &self.state)
            .env("WASH_KEYS", self.state.join("keys"))
            .env("WASMCLOUD_HOST_PATH", &self.host_binary)
            .stdin(Stdio::null());
        // The connection flags read these; the developer's shell must not leak in.
        for var in [
            "WASMCLOUD_CTL_HOST",
            "WASMCLOUD_CTL_PORT",
            "WASMCLOUD_LATTICE",
            "WASMCLOUD_CTL_TIMEOUT_MS",
            "WASMCLOUD_JS_DOMAIN",
            "WASMCLOUD_NATS_HOST",
            "WASMCLOUD_NATS_PORT",
            "NATS_CONNECT_ONLY",
            "WASH_CTL_CREDS",
        ] {
            command.env_remove(var);
        }
        command
    }

    /// Runs `wash args…` and fails with its output when it fails.
    pub(super) fn ok(&self, args: &[&str]) -> Result<()> {
        self.run(self.command(args))
    }

    /// Runs a `wash` command made by [`Wash::command`] and fails with its output when it fails.
    pub(super) fn run(&self, mut command: Command) -> Result<()> {
        let line = cmd::display(&command);
        eprintln!("$ {line}");
        let output = command.output().with_context(|| format!("could not start `{line}`"))?;
        if !output.status.success() {
            bail!(
                "`{line}` failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// `wash args… -x <lattice> -p <nats port>`.
    pub(super) fn ok_at(&self, args: &[&str]) -> Result<()> {
        let port = self.nats_port.to_string();
        let mut all = args.to_vec();
        all.extend(["-x", &self.lattice, "-p", &port]);
        self.ok(&all)
    }

    pub(super) fn print_host_log(&self) {
        let log = self.state.join("wasmcloud.log");
        match std::fs::read_to_string(&log) {
            Ok(text) => eprintln!("--- {} ---\n{text}--- end of host log ---", log.display()),
            Err(error) => eprintln!("(no host log at {}: {error})", log.display()),
        }
    }
}

/// Stops the host `wash up` started, with `wash down`, also when a check failed.
pub(super) struct HostGuard<'a> {
    pub(super) wash: &'a Wash,
}

impl Drop for HostGuard<'_> {
    fn drop(&mut self) {
        if let Err(error) = self.wash.ok(&["down"]) {
            eprintln!("warning: {error:#}");
        }
    }
}

/// GET `path` from 127.0.0.1:`port` with curl, retrying until the listener accepts.
///
/// Only a refused connection is retried: once a request is sent it is never sent again, so a
/// counter cannot be bumped twice.
pub(super) fn get(port: u16, path: &str) -> Result<Answer> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let start = Instant::now();
    loop {
        if let Some((body, status)) = curl(&url)? {
            return Ok(Answer { status, body });
        }
        if start.elapsed() > DEADLINE {
            bail!("nothing listens on 127.0.0.1:{port} after {DEADLINE:?}");
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_ids_name_the_example_and_the_variant() {
        let id = |path: &str| component_id(Path::new(path)).unwrap();
        assert_eq!(id("examples/hello/wasmcloud.toml"), "hello");
        assert_eq!(id("examples/kvcounter/wasmcloud-preview1.toml"), "kvcounter-preview1");
        assert_eq!(id("examples/hello-python/wasmcloud.toml"), "hello-python");
    }
}
