//! A real OCI registry (`docker-registry`, CNCF distribution 2.8) on a free
//! loopback port, with its storage in a temp dir, killed on drop.
//!
//! Push and pull tests talk to the registry implementation most deployments
//! run rather than a fake, so upload sessions, digests, `Range` requests,
//! manifest media types and basic-auth challenges behave as they do in
//! production. Each registry gets its own port and its own storage, so tests
//! can run in parallel; it listens on 127.0.0.1 only, never on all
//! interfaces as the Debian package's own service (`:5000`) does.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use crate::process::{self, Spawned};

/// The binary Debian's and Ubuntu's `docker-registry` package installs.
const BINARY: &str = "docker-registry";

/// How long the registry may take to answer `GET /v2/` before the test fails.
/// Generous because CI machines are small and other builds run beside the tests.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// The basic-auth realm the registry announces in `WWW-Authenticate`.
pub const REALM: &str = "lattice-test";

/// bcrypt's cheapest cost: the registry checks the password on every request,
/// and test passwords protect nothing.
const BCRYPT_COST: u32 = 4;

/// A running `docker-registry`, stopped (killed and reaped) when dropped,
/// which also deletes its storage.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    port: u16,
    /// What it was started with, to start it again on the same port.
    args: Vec<String>,
    // Held for its `Drop`: config, storage and log live here until the registry is gone.
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry that needs no credentials, and waits until `GET /v2/`
    /// answers.
    ///
    /// # Panics
    ///
    /// When `docker-registry` is not on `PATH` (the message says how to
    /// install it), or when it does not become ready within the deadline (the
    /// message includes the registry's log).
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// Starts a registry that requires HTTP basic auth as `user` with
    /// `password` (an htpasswd file with a bcrypt hash), and waits until
    /// `GET /v2/` answers (401 without credentials).
    ///
    /// # Panics
    ///
    /// See [`Registry::start`].
    pub fn start_with_auth(user: &str, password: &str) -> Self {
        Self::start_inner(Some((user, password)))
    }

    fn start_inner(auth: Option<(&str, &str)>) -> Self {
        require_docker_registry(&std::env::var_os("PATH").unwrap_or_default());
        let dir = tempfile::Builder::new()
            .prefix("test-registry-")
            .tempdir()
            .expect("creating a temp dir for docker-registry");
        let data = dir.path().join("data");
        let config = dir.path().join("config.yml");
        let log = dir.path().join("docker-registry.log");
        let htpasswd = auth.map(|(user, password)| {
            let file = dir.path().join("htpasswd");
            write_htpasswd(&file, user, password);
            file
        });

        let arguments = |port: u16| {
            // The port is only known here, so the config is written per attempt.
            write_config(&config, &data, port, htpasswd.as_deref());
            vec!["serve".to_string(), config.display().to_string()]
        };
        let Spawned { child, port } = process::spawn_on_free_port(BINARY, &log, READY_DEADLINE, arguments, is_ready);
        let args = vec!["serve".to_string(), config.display().to_string()];
        Self { child, port, args, dir }
    }

    /// The address clients connect to: `127.0.0.1:PORT`, also the registry
    /// part of an image reference (`127.0.0.1:PORT/repo:tag`).
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (plain HTTP, no TLS).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The storage root, `rootdirectory` of the filesystem driver (deleted on drop).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Where the registry stores the blob with this digest (`sha256:<hex>`,
    /// or the bare hex), in distribution's layout
    /// `<root>/docker/registry/v2/blobs/sha256/<first two hex>/<hex>/data`,
    /// so a test can corrupt or delete it behind the registry's back. The
    /// file exists only once the blob was pushed.
    ///
    /// # Panics
    ///
    /// When the digest's hex part is shorter than two characters or not
    /// lowercase hex.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        blob_path(&self.data_dir(), digest)
    }

    /// Kills the registry, as a crash or an outage would; its storage is kept
    /// and [`Registry::restart`] brings it back with the same content.
    pub fn kill(&mut self) {
        process::stop(&mut self.child);
    }

    /// Starts the registry again on the same port with the same storage
    /// (killing it first if it runs), and waits until it is ready.
    ///
    /// # Panics
    ///
    /// When it does not become ready, or another process took its port.
    pub fn restart(&mut self) {
        process::stop(&mut self.child);
        let log = self.dir.path().join("docker-registry.log");
        self.child = process::respawn(BINARY, &log, READY_DEADLINE, self.port, &self.args, is_ready);
    }

    /// Stops the registry and deletes its storage; the same as dropping it,
    /// spelled out for tests that go on after it.
    pub fn stop(self) {
        drop(self);
    }

    /// The registry's log so far (errors only), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("docker-registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        process::stop(&mut self.child);
    }
}

/// Panics with install instructions unless `docker-registry` is on `path`.
fn require_docker_registry(path: &OsStr) {
    assert!(
        process::on_path(BINARY, path),
        "`docker-registry` not found; install it with `apt-get install docker-registry` \
         (Debian/Ubuntu); `cargo xtask ci` checks its prerequisites and installs it in CI"
    );
}

fn blob_path(root: &Path, digest: &str) -> PathBuf {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
    assert!(
        hex.len() >= 2 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "not a digest: {digest:?}"
    );
    root.join("docker/registry/v2/blobs")
        .join(algorithm)
        .join(&hex[..2])
        .join(hex)
        .join("data")
}

/// Writes `user:<bcrypt hash>` in the `$2y$` form `htpasswd -B` writes;
/// distribution accepts bcrypt hashes only.
fn write_htpasswd(path: &Path, user: &str, password: &str) {
    assert!(
        !user.contains(':'),
        "an htpasswd user name cannot contain `:`: {user:?}"
    );
    let hash = bcrypt::hash_with_result(password, BCRYPT_COST)
        .expect("hashing the test registry's password")
        .format_for_version(bcrypt::Version::TwoY);
    std::fs::write(path, format!("{user}:{hash}\n")).expect("writing the registry's htpasswd file");
}

fn write_config(path: &Path, data: &Path, port: u16, htpasswd: Option<&Path>) {
    let mut text = String::new();
    // Debug formatting quotes paths as YAML double-quoted strings read them
    // (temp paths hold no characters whose escapes differ).
    writeln!(text, "version: 0.1").unwrap();
    writeln!(text, "log:").unwrap();
    writeln!(text, "  level: error").unwrap();
    writeln!(text, "  accesslog:").unwrap();
    writeln!(text, "    disabled: true").unwrap();
    writeln!(text, "storage:").unwrap();
    writeln!(text, "  filesystem:").unwrap();
    writeln!(text, "    rootdirectory: {:?}", data.display().to_string()).unwrap();
    writeln!(text, "  delete:").unwrap();
    writeln!(text, "    enabled: true").unwrap();
    writeln!(text, "http:").unwrap();
    writeln!(text, "  addr: 127.0.0.1:{port}").unwrap();
    // Fixed rather than random per start, so an upload begun before
    // `restart` can still be finished after it.
    writeln!(text, "  secret: lattice-test-registry").unwrap();
    if let Some(htpasswd) = htpasswd {
        writeln!(text, "auth:").unwrap();
        writeln!(text, "  htpasswd:").unwrap();
        writeln!(text, "    realm: {REALM}").unwrap();
        writeln!(text, "    path: {:?}", htpasswd.display().to_string()).unwrap();
    }
    std::fs::write(path, text).expect("writing the registry's config.yml");
}

/// Ready once the API root answers: `200 OK`, or `401 Unauthorized` when auth
/// is on. The registry binds its listener only after its storage driver and
/// auth are set up, so an answer means pushes and pulls will work.
fn is_ready(port: u16) -> bool {
    let request = b"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    process::first_line(port, Some(request))
        .is_some_and(|line| line.starts_with("HTTP/1.1 200 ") || line.starts_with("HTTP/1.1 401 "))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use base64::Engine as _;
    use sha2::{Digest as _, Sha256};

    use super::*;

    /// A response: status code, headers (names lowercased), body.
    struct Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    impl Response {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
        }
    }

    /// One HTTP/1.1 request with `Connection: close`, read to the end.
    fn request(port: u16, method: &str, target: &str, auth: Option<(&str, &str)>, body: &[u8]) -> Response {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some((user, password)) = auth {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            write!(head, "Authorization: Basic {token}\r\n").unwrap();
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete response head");
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
            .collect();
        Response {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    }

    fn get(port: u16, target: &str) -> Response {
        request(port, "GET", target, None, &[])
    }

    /// Pushes `blob` to `repo` (a two-step upload) and returns its digest.
    fn push_blob(port: u16, repo: &str, blob: &[u8]) -> String {
        let digest = format!("sha256:{:x}", Sha256::digest(blob));
        let started = request(port, "POST", &format!("/v2/{repo}/blobs/uploads/"), None, &[]);
        assert_eq!(started.status, 202, "starting an upload");
        let location = started.header("location").expect("an upload location");
        let path = location
            .strip_prefix(&format!("http://127.0.0.1:{port}"))
            .unwrap_or(location);
        let separator = if path.contains('?') { '&' } else { '?' };
        let done = request(port, "PUT", &format!("{path}{separator}digest={digest}"), None, blob);
        assert_eq!(
            done.status,
            201,
            "finishing the upload: {}",
            String::from_utf8_lossy(&done.body)
        );
        digest
    }

    #[test]
    fn starts_answers_and_stops() {
        let registry = Registry::start();
        let port = registry.port();
        assert_eq!(registry.addr(), format!("127.0.0.1:{port}"));
        assert_eq!(registry.url(), format!("http://127.0.0.1:{port}"));
        let root = get(port, "/v2/");
        assert_eq!(root.status, 200);
        assert_eq!(root.header("docker-distribution-api-version"), Some("registry/2.0"));
        let data = registry.data_dir();
        registry.stop();
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open after stop"
        );
        assert!(!data.exists(), "storage {data:?} left behind");
    }

    #[test]
    fn stores_blobs_where_blob_path_says() {
        let registry = Registry::start();
        let blob = b"a layer that is not really a layer";
        let digest = push_blob(registry.port(), "lattice/test", blob);
        let stored = registry.blob_path(&digest);
        assert_eq!(std::fs::read(&stored).unwrap(), blob, "{stored:?}");
        assert_eq!(registry.blob_path(digest.strip_prefix("sha256:").unwrap()), stored);

        // What a test of digest checking does: the registry serves what is on disk.
        std::fs::write(&stored, b"tampered").unwrap();
        let fetched = get(registry.port(), &format!("/v2/lattice/test/blobs/{digest}"));
        assert_eq!(fetched.status, 200);
        assert_ne!(fetched.body, blob);
    }

    #[test]
    fn requires_basic_auth_when_started_with_it() {
        let registry = Registry::start_with_auth("alice", "s3cret");
        let port = registry.port();
        let anonymous = get(port, "/v2/");
        assert_eq!(anonymous.status, 401);
        assert_eq!(
            anonymous.header("www-authenticate"),
            Some(format!("Basic realm=\"{REALM}\"").as_str())
        );
        let wrong = request(port, "GET", "/v2/", Some(("alice", "wrong")), &[]);
        assert_eq!(wrong.status, 401);
        let right = request(port, "GET", "/v2/", Some(("alice", "s3cret")), &[]);
        assert_eq!(right.status, 200, "log: {}", registry.log());
    }

    #[test]
    fn kill_keeps_the_storage_and_restart_serves_it_again() {
        let mut registry = Registry::start();
        let port = registry.port();
        let digest = push_blob(port, "lattice/test", b"kept across a restart");
        registry.kill();
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} open after kill"
        );
        assert!(registry.blob_path(&digest).is_file());
        registry.restart();
        assert_eq!(registry.port(), port);
        let fetched = get(port, &format!("/v2/lattice/test/blobs/{digest}"));
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.body, b"kept across a restart");
    }

    #[test]
    fn two_registries_get_different_ports() {
        let a = Registry::start();
        let b = Registry::start();
        assert_ne!(a.port(), b.port());
    }

    #[test]
    fn blob_paths_follow_distributions_layout() {
        let hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(
            blob_path(Path::new("/r"), &format!("sha256:{hex}")),
            PathBuf::from(format!("/r/docker/registry/v2/blobs/sha256/01/{hex}/data"))
        );
    }

    #[test]
    #[should_panic(
        expected = "`docker-registry` not found; install it with `apt-get install docker-registry` \
                               (Debian/Ubuntu); `cargo xtask ci`"
    )]
    fn missing_binary_says_how_to_install_it() {
        let empty = tempfile::tempdir().unwrap();
        require_docker_registry(empty.path().as_os_str());
    }
}
