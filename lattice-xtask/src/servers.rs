//! Servers the xtask steps start for real: a private `nats-server -js` on a free loopback
//! port, ready-checked and killed on drop, and the helpers every such wait shares (bounded
//! polling, free ports, `curl`).

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// Upper bound for each wait on nats-server, a host or a listener; generous for a busy 2-core CI.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// A private `nats-server -js` on a free loopback port, killed on drop; ready when its
/// monitoring endpoint's `/healthz` answers 200.
pub(crate) struct Nats {
    child: Child,
    pub(crate) port: u16,
}

impl Nats {
    /// Starts it, retrying on another port if a free port was taken in between.
    pub(crate) fn start(store: &Path) -> Result<Self> {
        let mut last_error = None;
        for _ in 0..3 {
            match Self::start_once(store) {
                Ok(nats) => return Ok(nats),
                Err(error) => {
                    eprintln!("nats-server did not start: {error:#}");
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    fn start_once(store: &Path) -> Result<Self> {
        let port = free_port()?;
        let monitor = free_port()?;
        std::fs::create_dir_all(store).with_context(|| format!("cannot create {}", store.display()))?;
        let mut command = Command::new("nats-server");
        command
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string()])
            .args(["-m", &monitor.to_string(), "-sd"])
            .arg(store);
        let healthz = format!("http://127.0.0.1:{monitor}/healthz");
        let child = spawn_ready(command, || Ok(curl(&healthz)?.is_some_and(|(_, status)| status == 200)))?;
        Ok(Self { child, port })
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server and polls `ready` until it holds, within [`DEADLINE`]; the
/// server is killed if it does not get there.
pub(crate) fn spawn_ready(mut command: Command, mut ready: impl FnMut() -> Result<bool>) -> Result<Child> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    let line = cmd::display(&command);
    eprintln!("$ {line}");
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start `{line}`: is {program} installed and on PATH?"))?;
    let start = Instant::now();
    loop {
        match ready() {
            Ok(true) => return Ok(child),
            Ok(false) => {}
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(error);
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("`{line}` exited ({status}) before answering");
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{line}` did not answer within {DEADLINE:?}");
        }
        std::thread::sleep(POLL);
    }
}

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// `curl -s -w '\n%{http_code}' <url>`: the body and the status, `None` when nothing
/// accepted the connection (curl's exit code 7); any other failure is an error.
pub(crate) fn curl(url: &str) -> Result<Option<(String, u16)>> {
    let output = Command::new("curl")
        .args(["-s", "-S", "--max-time", "30", "-w", "\n%{http_code}", url])
        .stdin(Stdio::null())
        .output()
        .context("could not run curl: install curl (apt-get install curl)")?;
    match output.status.code() {
        Some(0) => {}
        Some(7) => return Ok(None),
        _ => bail!(
            "curl {url} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let (body, status) = text.rsplit_once('\n').context("curl printed no status")?;
    Ok(Some((
        body.to_owned(),
        status.parse().context("curl printed a bad status")?,
    )))
}
