//! Spawning a server binary on a free loopback port and polling it until ready.
//!
//! Shared by [`crate::nats`], [`crate::redis`] and [`crate::registry`]: all need the same
//! free-port retry, readiness probe with a deadline, and log capture for
//! failure messages.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How many fresh ports to try when a server loses the race for its port.
const PORT_ATTEMPTS: usize = 5;

/// Pause between readiness probes; a probe itself is bounded by its timeouts.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// A started server process and the port it listens on.
pub(crate) struct Spawned {
    pub(crate) child: Child,
    pub(crate) port: u16,
}

/// Panics with install instructions unless `binary` is on `PATH`.
pub(crate) fn require_binary(binary: &str, debian_package: &str) {
    assert!(
        on_path(binary, &std::env::var_os("PATH").unwrap_or_default()),
        "`{binary}` not found on PATH: install it with `apt-get install -y {debian_package}`"
    );
}

/// Whether `binary` is a file in one of the directories of `path` (a `PATH`-style list).
pub(crate) fn on_path(binary: &str, path: &OsStr) -> bool {
    std::env::split_paths(path).any(|dir| dir.join(binary).is_file())
}

/// Asks the kernel for a port that is free right now. Another process can
/// still take it before the server binds, which is why callers retry.
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener.local_addr().expect("reading a local address").port()
}

/// Starts `binary` with the arguments `args(port)` on a free port, writing
/// its output to `log`, and polls `ready(port)` until it holds.
///
/// Panics (with the server's log) if the server exits for another reason than
/// a taken port, or is not ready by `deadline`.
pub(crate) fn spawn_on_free_port(
    binary: &str,
    log: &Path,
    deadline: Duration,
    mut args: impl FnMut(u16) -> Vec<String>,
    ready: impl Fn(u16) -> bool,
) -> Spawned {
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port();
        if let Some(child) = spawn_on_port(binary, log, deadline, port, &args(port), &ready) {
            return Spawned { child, port };
        }
    }
    panic!("`{binary}` could not bind a free port in {PORT_ATTEMPTS} attempts")
}

/// Starts `binary` again on the port it had, e.g. after [`stop`].
///
/// Panics (with the server's log) if it exits or is not ready by `deadline`,
/// including when another process took the port meanwhile.
pub(crate) fn respawn(
    binary: &str,
    log: &Path,
    deadline: Duration,
    port: u16,
    args: &[String],
    ready: impl Fn(u16) -> bool,
) -> Child {
    spawn_on_port(binary, log, deadline, port, args, &ready).unwrap_or_else(|| {
        panic!(
            "`{binary}` could not bind port {port} again: it was taken; its log:\n{}",
            read_log(log)
        )
    })
}

/// Spawns `binary` and polls until `ready(port)`; `None` when the port was taken.
fn spawn_on_port(
    binary: &str,
    log: &Path,
    deadline: Duration,
    port: u16,
    args: &[String],
    ready: &impl Fn(u16) -> bool,
) -> Option<Child> {
    let out = std::fs::File::create(log).expect("creating a server log file");
    let err = out.try_clone().expect("cloning the log file handle");
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning `{binary}`: {e}"));
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("polling the server process") {
            let text = read_log(log);
            if text.to_lowercase().contains("address already in use") {
                return None;
            }
            panic!("`{binary}` exited with {status} before it was ready; its log:\n{text}");
        }
        if ready(port) {
            return Some(child);
        }
        if started.elapsed() > deadline {
            stop(&mut child);
            panic!(
                "`{binary}` was not ready on port {port} after {deadline:?}; its log:\n{}",
                read_log(log)
            );
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Connects to `127.0.0.1:port`, optionally sends `request`, and returns the
/// first line the server sends back, or `None` if it is not answering yet.
pub(crate) fn first_line(port: u16, request: Option<&[u8]>) -> Option<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_millis(250)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream.set_write_timeout(Some(Duration::from_secs(1))).ok()?;
    if let Some(request) = request {
        (&stream).write_all(request).ok()?;
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    Some(line)
}

/// Kills and reaps the process. Kill errors are ignored: the process may
/// already have exited, and reaping it is what matters.
pub(crate) fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_else(|e| format!("(log unreadable: {e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "install it with `apt-get install -y no-such-package`")]
    fn missing_binary_says_how_to_install_it() {
        require_binary("no-such-server-binary", "no-such-package");
    }
}
