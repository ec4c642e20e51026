//! A real `nats-server` (with JetStream) on a free loopback port, killed on drop.
//!
//! Tests talk to the same server binary production uses rather than a fake, so
//! subjects, queue groups, no-responder statuses, JetStream, authentication
//! and TLS behave exactly as they will on a real lattice. Each server gets its
//! own port and its own temporary JetStream store, so tests can run in
//! parallel.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use crate::process::{self, Spawned};

/// How long a server may take to start before the test fails. Generous
/// because CI machines are small and other builds run beside the tests.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// A running `nats-server -js`, stopped (killed and reaped) when dropped.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    port: u16,
    /// What it was started with, to start it again on the same port.
    args: Vec<String>,
    domain: Option<String>,
    // Held for its `Drop`: the store and the log live here until the server is gone.
    dir: tempfile::TempDir,
}

/// Options for [`NatsServer`]; start one with [`NatsServerBuilder::start`].
#[derive(Debug, Default, Clone)]
pub struct NatsServerBuilder {
    domain: Option<String>,
    nkey_users: Vec<String>,
    users: Vec<(String, String)>,
    tls: Option<(PathBuf, PathBuf)>,
}

impl NatsServerBuilder {
    /// Runs JetStream under this domain (what `wash up` does with `core`), so
    /// clients must address JetStream through `$JS.{domain}.API`.
    #[must_use]
    pub fn jetstream_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Requires clients to authenticate, and accepts the nkey user with this
    /// public key (`U…`); repeatable. Clients then sign the server's nonce
    /// with the user's seed.
    #[must_use]
    pub fn nkey_user(mut self, public_key: impl Into<String>) -> Self {
        self.nkey_users.push(public_key.into());
        self
    }

    /// Requires clients to authenticate, and accepts this user and password;
    /// repeatable.
    #[must_use]
    pub fn user(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((user.into(), password.into()));
        self
    }

    /// Requires TLS, with this PEM certificate (chain) and private key.
    #[must_use]
    pub fn tls(mut self, cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        self.tls = Some((cert_file.into(), key_file.into()));
        self
    }

    /// Starts the server and waits until it accepts clients with JetStream on.
    ///
    /// # Panics
    ///
    /// When `nats-server` is not on `PATH` (the message says how to install
    /// it), or when it does not become ready within the deadline (the message
    /// includes the server's log).
    pub fn start(self) -> NatsServer {
        process::require_binary("nats-server", "nats-server");
        let dir = tempfile::Builder::new()
            .prefix("test-nats-")
            .tempdir()
            .expect("creating a temp dir for nats-server");
        let store = dir.path().join("jetstream");
        let log = dir.path().join("nats-server.log");
        let config = dir.path().join("nats.conf");
        let needs_config =
            self.domain.is_some() || !self.nkey_users.is_empty() || !self.users.is_empty() || self.tls.is_some();

        let arguments = |port: u16| {
            let mut args: Vec<String> = vec!["-a".into(), "127.0.0.1".into(), "-p".into(), port.to_string()];
            if needs_config {
                // The domain, users and TLS have no command-line flags
                // (or none that cover nkeys), so they go in a config file.
                write_config(&config, &store, &self);
                args.extend(["-c".into(), config.display().to_string()]);
            } else {
                args.extend(["-js".into(), "-sd".into(), store.display().to_string()]);
            }
            args
        };
        let spawned = process::spawn_on_free_port("nats-server", &log, READY_DEADLINE, &arguments, is_ready);
        let Spawned { child, port } = spawned;
        let args = arguments(port);
        NatsServer {
            child,
            port,
            args,
            domain: self.domain,
            dir,
        }
    }
}

impl NatsServer {
    /// Starts a server with default options (JetStream, no domain).
    ///
    /// # Panics
    ///
    /// See [`NatsServerBuilder::start`].
    pub fn start() -> Self {
        Self::builder().start()
    }

    /// Options for a server that differs from the default.
    pub fn builder() -> NatsServerBuilder {
        NatsServerBuilder::default()
    }

    /// The client URL, e.g. `nats://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The client port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The JetStream domain, if the server was started with one.
    pub fn jetstream_domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// The JetStream store directory (deleted on drop).
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("jetstream")
    }

    /// Kills the server, as a crash or an outage would; [`NatsServer::restart`]
    /// brings it back.
    pub fn kill(&mut self) {
        process::stop(&mut self.child);
    }

    /// Starts the server again on the same port with the same JetStream
    /// store (killing it first if it runs), and waits until it is ready.
    ///
    /// # Panics
    ///
    /// When it does not become ready, or another process took its port.
    pub fn restart(&mut self) {
        process::stop(&mut self.child);
        let log = self.dir.path().join("nats-server.log");
        self.child = process::respawn("nats-server", &log, READY_DEADLINE, self.port, &self.args, is_ready);
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats-server.log")).unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        process::stop(&mut self.child);
    }
}

fn write_config(path: &Path, store: &Path, options: &NatsServerBuilder) {
    let mut text = String::new();
    // Debug formatting quotes and escapes the strings the way the NATS
    // config parser reads them.
    writeln!(text, "jetstream {{").unwrap();
    writeln!(text, "  store_dir: {:?}", store.display().to_string()).unwrap();
    if let Some(domain) = &options.domain {
        writeln!(text, "  domain: {domain:?}").unwrap();
    }
    writeln!(text, "}}").unwrap();
    if !options.nkey_users.is_empty() || !options.users.is_empty() {
        writeln!(text, "authorization {{").unwrap();
        writeln!(text, "  users = [").unwrap();
        for nkey in &options.nkey_users {
            writeln!(text, "    {{ nkey: {nkey:?} }}").unwrap();
        }
        for (user, password) in &options.users {
            writeln!(text, "    {{ user: {user:?}, password: {password:?} }}").unwrap();
        }
        writeln!(text, "  ]").unwrap();
        writeln!(text, "}}").unwrap();
    }
    if let Some((cert, key)) = &options.tls {
        writeln!(text, "tls {{").unwrap();
        writeln!(text, "  cert_file: {:?}", cert.display().to_string()).unwrap();
        writeln!(text, "  key_file: {:?}", key.display().to_string()).unwrap();
        writeln!(text, "}}").unwrap();
    }
    std::fs::write(path, text).expect("writing nats.conf");
}

/// Ready once the server greets a client with `INFO` and reports JetStream on.
/// The server enables JetStream before it starts accepting clients, so a
/// greeting that says `"jetstream":true` means JetStream API calls will work.
fn is_ready(port: u16) -> bool {
    match process::first_line(port, None) {
        Some(line) => line.starts_with("INFO ") && line.contains("\"jetstream\":true"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;

    use super::*;

    fn handshake(port: u16) -> String {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut info = String::new();
        reader.read_line(&mut info).unwrap();
        assert!(info.starts_with("INFO "), "greeting: {info}");
        let mut writer = stream;
        writer.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n").unwrap();
        let mut pong = String::new();
        reader.read_line(&mut pong).unwrap();
        pong
    }

    #[test]
    fn starts_answers_and_stops() {
        let server = NatsServer::start();
        let port = server.port();
        assert_eq!(server.url(), format!("nats://127.0.0.1:{port}"));
        assert_eq!(handshake(port), "PONG\r\n");
        let store = server.store_dir();
        drop(server);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open after drop"
        );
        assert!(!store.exists(), "store dir {store:?} left behind");
    }

    #[test]
    fn runs_with_a_jetstream_domain() {
        let server = NatsServer::builder().jetstream_domain("core").start();
        assert_eq!(server.jetstream_domain(), Some("core"));
        assert_eq!(handshake(server.port()), "PONG\r\n");
        assert!(server.log().contains("core"), "log: {}", server.log());
    }

    #[test]
    fn requires_authentication_when_users_are_set() {
        let server = NatsServer::builder().user("alice", "secret").start();
        let stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut info = String::new();
        reader.read_line(&mut info).unwrap();
        assert!(info.contains("\"auth_required\":true"), "greeting: {info}");
        let mut writer = stream;
        writer.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n").unwrap();
        let mut answer = String::new();
        reader.read_line(&mut answer).unwrap();
        assert!(answer.contains("Authorization Violation"), "{answer}");
    }

    #[test]
    fn two_servers_get_different_ports() {
        let a = NatsServer::start();
        let b = NatsServer::start();
        assert_ne!(a.port(), b.port());
    }
}
