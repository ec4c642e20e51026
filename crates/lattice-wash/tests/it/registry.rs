//! OCI registries end to end, against Debian's `docker-registry` on a free loopback port and
//! a real `wasmcloud` host: `wash push` a component and a provider archive, start both by
//! reference, move the tag and update, `wash pull`; and the failures a user meets — missing
//! or wrong credentials, a corrupted blob, a registry that is down — each a clear error that
//! names the registry.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

use lattice_test_support::nats::NatsServer;
use lattice_test_support::registry::Registry;

use crate::Run;
use crate::lattice::{unused_port, wash_at, wash_with};
use crate::lattice_host::{DEADLINE, TestHost, ok, wait_until};

/// `wash` in `state`, with an empty Docker config: a developer's `docker login` must not leak in.
fn wash_reg(state: &Path, args: &[&str]) -> Run {
    let docker = state.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    wash_with(state, args, &[("DOCKER_CONFIG", docker.as_os_str())])
}

/// A host that may pull from `registry` over plain HTTP, with its own OCI cache.
fn host_for(nats: &NatsServer, registry: &Registry, state: &Path) -> TestHost {
    let cache = state.join("oci-cache");
    let docker = state.join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    TestHost::start_with_env(
        nats,
        &[],
        &[
            ("WASMCLOUD_OCI_ALLOWED_INSECURE", &registry.addr()),
            ("WASMCLOUD_OCI_CACHE_DIR", cache.to_str().unwrap()),
            ("DOCKER_CONFIG", docker.to_str().unwrap()),
        ],
    )
}

/// One HTTP/1.1 GET; the body, or `None` while nothing answers.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

fn body_contains(port: u16, needle: &str) -> bool {
    get(port, "/oci").is_some_and(|body| body.contains(needle))
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(bytes);
    format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A provider archive of the http-server provider, made with `wash par create`.
fn http_server_archive(state: &Path) -> std::path::PathBuf {
    let binary = lattice_test_support::providers::binary(lattice_test_support::providers::HTTP_SERVER);
    let par = state.join("http.par.gz");
    ok(&wash_reg(
        state,
        &[
            "par",
            "create",
            "--binary",
            binary.to_str().unwrap(),
            "--vendor",
            "test",
            "--name",
            "http",
            "--compress",
            "-d",
            par.to_str().unwrap(),
            "-o",
            "json",
        ],
    ));
    par
}

#[test]
fn components_and_providers_run_by_reference_and_follow_a_moved_tag() {
    let registry = Registry::start();
    let nats = NatsServer::start();
    let work = tempfile::tempdir().unwrap();
    let state = work.path();
    let host = host_for(&nats, &registry, state);
    let port = nats.port();
    let addr = registry.addr();

    let hello = crate::hello_component(state);
    let component = format!("{addr}/hello:0.1.0");
    let pushed = ok(&wash_reg(
        state,
        &[
            "push",
            &component,
            hello.to_str().unwrap(),
            "--insecure",
            "-a",
            "org.opencontainers.image.source=https://example.com/hello",
            "-o",
            "json",
        ],
    ));
    assert_eq!(pushed["kind"], "component");
    let first_digest = pushed["digest"].as_str().unwrap().to_owned();
    assert!(first_digest.starts_with("sha256:"), "{pushed}");

    let par = http_server_archive(state);
    let provider = format!("{addr}/http-server:0.1.0");
    let pushed = ok(&wash_reg(
        state,
        &["push", &provider, par.to_str().unwrap(), "--insecure", "-o", "json"],
    ));
    assert_eq!(pushed["kind"], "provider");

    // Both start on the host by reference, and serve together through a link.
    ok(&wash_at(port, &["start", "provider", &provider, "http", "-o", "json"]));
    ok(&wash_at(
        port,
        &["start", "component", &component, "hello", "-o", "json"],
    ));
    let http_port = unused_port();
    ok(&wash_at(
        port,
        &[
            "config",
            "put",
            "listen",
            &format!("address=127.0.0.1:{http_port}"),
            "-o",
            "json",
        ],
    ));
    ok(&wash_at(
        port,
        &[
            "link",
            "put",
            "http",
            "hello",
            "wasi",
            "http",
            "--interface",
            "incoming-handler",
            "--source-config",
            "listen",
            "-o",
            "json",
        ],
    ));
    wait_until("hello answers through the provider", || {
        body_contains(http_port, "hello from /oci")
    });
    let inventory = ok(&wash_at(port, &["get", "inventory", &host.id, "-o", "json"]));
    assert_eq!(
        inventory["inventories"][0]["components"][0]["image_ref"],
        component.as_str()
    );

    // The tag moves to new content; an update to the same reference loads it.
    let echo = state.join("echo.wasm");
    std::fs::copy(lattice_test_support::guests::HTTP_ECHO, &echo).unwrap();
    let pushed = ok(&wash_reg(
        state,
        &["push", &component, echo.to_str().unwrap(), "--insecure", "-o", "json"],
    ));
    let second_digest = pushed["digest"].as_str().unwrap().to_owned();
    assert_ne!(first_digest, second_digest, "new content, new digest");
    ok(&wash_at(
        port,
        &["update", "component", "hello", &component, "-o", "json"],
    ));
    wait_until("the new version answers", || body_contains(http_port, "echo:"));

    // `wash pull` writes what the tag names now; a pinned digest that differs is refused.
    let pulled_path = state.join("pulled.wasm");
    let pulled = ok(&wash_reg(
        state,
        &[
            "pull",
            &component,
            "--destination",
            pulled_path.to_str().unwrap(),
            "--insecure",
            "-o",
            "json",
        ],
    ));
    assert_eq!(pulled["digest"], second_digest.as_str());
    assert_eq!(
        std::fs::read(&pulled_path).unwrap(),
        std::fs::read(lattice_test_support::guests::HTTP_ECHO).unwrap()
    );
    let pinned = wash_reg(state, &["pull", &component, "-d", &first_digest, "--insecure"]);
    pinned.assert_clean_failure();
    assert!(pinned.stderr.contains("the tag has moved"), "{}", pinned.stderr);

    // A reference by digest comes from the host's cache: it starts with the registry gone.
    let by_digest = format!("{addr}/hello@{second_digest}");
    let mut registry = registry;
    ok(&wash_at(
        port,
        &[
            "start",
            "component",
            &by_digest,
            "pinned",
            "--host-id",
            &host.id,
            "-o",
            "json",
        ],
    ));
    registry.kill();
    ok(&wash_at(port, &["stop", "component", "pinned", "-o", "json"]));
    ok(&wash_at(
        port,
        &[
            "start",
            "component",
            &by_digest,
            "pinned",
            "--host-id",
            &host.id,
            "-o",
            "json",
        ],
    ));
}

#[test]
fn credentials_corruption_and_a_registry_that_is_down_are_named() {
    let mut registry = Registry::start_with_auth("alice", "s3cret");
    let nats = NatsServer::start();
    let work = tempfile::tempdir().unwrap();
    let state = work.path();
    let host = host_for(&nats, &registry, state);
    let port = nats.port();
    let addr = registry.addr();
    let hello = crate::hello_component(state);
    let hello = hello.to_str().unwrap();
    let component = format!("{addr}/hello:1.0.0");

    let anonymous = wash_reg(state, &["push", &component, hello, "--insecure"]);
    anonymous.assert_clean_failure();
    assert!(
        anonymous.stderr.contains(&format!("registry {addr} refused access"))
            && anonymous.stderr.contains("requires credentials"),
        "{}",
        anonymous.stderr
    );
    let wrong = wash_reg(
        state,
        &["push", &component, hello, "--insecure", "-u", "alice", "-p", "guess"],
    );
    wrong.assert_clean_failure();
    assert!(wrong.stderr.contains("rejected the credentials"), "{}", wrong.stderr);
    assert!(
        !wrong.stderr.contains("guess"),
        "a password is never printed: {}",
        wrong.stderr
    );
    ok(&wash_reg(
        state,
        &[
            "push",
            &component,
            hello,
            "--insecure",
            "-u",
            "alice",
            "-p",
            "s3cret",
            "-o",
            "json",
        ],
    ));

    // The host has no credentials for the registry until `registry.put` gives them.
    let refused = wash_at(
        port,
        &["start", "component", &component, "hello", "--host-id", &host.id],
    );
    refused.assert_clean_failure();
    assert!(
        refused.stderr.contains(&format!("registry {addr} refused access")),
        "{}",
        refused.stderr
    );
    let credentials = serde_json::json!({ addr.clone(): { "username": "alice", "password": "s3cret" } });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let nats = async_nats::connect(format!("127.0.0.1:{port}")).await.unwrap();
        let reply = nats
            .request(
                "wasmbus.ctl.v1.default.registry.put",
                serde_json::to_vec(&credentials).unwrap().into(),
            )
            .await
            .unwrap();
        let reply: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        assert_eq!(reply["success"], true, "{reply}");
    });
    ok(&wash_at(
        port,
        &[
            "start",
            "component",
            &component,
            "hello",
            "--host-id",
            &host.id,
            "-o",
            "json",
        ],
    ));

    // A blob altered in the registry's storage is refused by its digest, by wash and the host.
    // (Content the host has not pulled before: what is in its cache is served from there.)
    let corrupt = format!("{addr}/corrupt:1.0.0");
    let echo = state.join("echo.wasm");
    std::fs::copy(lattice_test_support::guests::HTTP_ECHO, &echo).unwrap();
    ok(&wash_reg(
        state,
        &[
            "push",
            &corrupt,
            echo.to_str().unwrap(),
            "--insecure",
            "-u",
            "alice",
            "-p",
            "s3cret",
            "-o",
            "json",
        ],
    ));
    let mut bytes = std::fs::read(&echo).unwrap();
    let blob = registry.blob_path(&sha256(&bytes));
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let pulled = wash_reg(state, &["pull", &corrupt, "--insecure", "-u", "alice", "-p", "s3cret"]);
    pulled.assert_clean_failure();
    assert!(pulled.stderr.contains("does not match its digest"), "{}", pulled.stderr);
    let started = wash_at(
        port,
        &["start", "component", &corrupt, "corrupt", "--host-id", &host.id],
    );
    started.assert_clean_failure();
    assert!(
        started.stderr.contains("does not match its digest"),
        "{}",
        started.stderr
    );

    // A registry that is down: a clear error, soon; and no host bids for what it cannot pull.
    registry.kill();
    let began = Instant::now();
    let down = wash_reg(
        state,
        &["pull", &component, "--insecure", "-u", "alice", "-p", "s3cret"],
    );
    down.assert_clean_failure();
    assert!(
        down.stderr.contains(&format!("registry {addr} cannot be reached")),
        "{}",
        down.stderr
    );
    assert!(began.elapsed() < DEADLINE, "the failure took {:?}", began.elapsed());
    let unplaced = wash_at(port, &["start", "component", &component, "again"]);
    unplaced.assert_clean_failure();
    assert!(
        unplaced.stderr.contains("none of the 1 host(s)") && unplaced.stderr.contains("registry unreachable"),
        "no bid for an unreachable registry: {}",
        unplaced.stderr
    );
}
