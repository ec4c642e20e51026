//! A real `redis-server` on a free loopback port, without persistence, killed on drop.
//!
//! The key-value provider's tests run against the same server production uses;
//! persistence is off and the working directory is a temp dir, so nothing is
//! written outside it and parallel tests never share data.

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use crate::process::{self, Spawned};

/// How long the server may take to answer `PING` before the test fails.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// A running `redis-server`, stopped (killed and reaped) when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server and waits until it answers `PING` with `PONG`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not on `PATH` (the message says how to install
    /// it), or when it does not become ready within the deadline (the message
    /// includes the server's log).
    pub fn start() -> Self {
        process::require_binary("redis-server", "redis-server");
        let dir = tempfile::Builder::new()
            .prefix("test-redis-")
            .tempdir()
            .expect("creating a temp dir for redis-server");
        let log = dir.path().join("redis-server.log");
        let workdir = dir.path().display().to_string();
        let Spawned { child, port } = process::spawn_on_free_port(
            "redis-server",
            &log,
            READY_DEADLINE,
            |port| {
                vec![
                    "--port".into(),
                    port.to_string(),
                    "--bind".into(),
                    "127.0.0.1".into(),
                    "--save".into(),
                    String::new(),
                    "--appendonly".into(),
                    "no".into(),
                    // Anything Redis does write (e.g. on a manual SAVE) stays in the temp dir.
                    "--dir".into(),
                    workdir.clone(),
                ]
            },
            is_ready,
        );
        Self { child, port, dir }
    }

    /// The client URL, e.g. `redis://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's working directory (deleted on drop).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        process::stop(&mut self.child);
    }
}

/// An inline `PING` is answered `+PONG` only once the server has finished
/// loading and accepts commands (while loading it answers `-LOADING`).
fn is_ready(port: u16) -> bool {
    process::first_line(port, Some(b"PING\r\n")).is_some_and(|line| line == "+PONG\r\n")
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    use super::*;

    /// Sends one inline command and returns the first `lines` reply lines, joined.
    fn reply(port: u16, cmd: &str, lines: usize) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        stream.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let mut text = String::new();
        for _ in 0..lines {
            reader.read_line(&mut text).unwrap();
        }
        text
    }

    fn command(port: u16, cmd: &str) -> String {
        reply(port, cmd, 1)
    }

    #[test]
    fn starts_answers_and_stops() {
        let server = RedisServer::start();
        let port = server.port();
        assert_eq!(server.url(), format!("redis://127.0.0.1:{port}"));
        assert_eq!(command(port, "PING"), "+PONG\r\n");
        assert_eq!(command(port, "SET greeting hello"), "+OK\r\n");
        assert_eq!(reply(port, "GET greeting", 2), "$5\r\nhello\r\n");
        let dir = server.dir();
        drop(server);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open after drop"
        );
        assert!(!dir.exists(), "work dir {dir:?} left behind");
    }

    #[test]
    fn persistence_is_off() {
        let server = RedisServer::start();
        assert_eq!(
            reply(server.port(), "CONFIG GET save", 5),
            "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
        );
        assert_eq!(
            reply(server.port(), "CONFIG GET appendonly", 5),
            "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"
        );
    }
}
