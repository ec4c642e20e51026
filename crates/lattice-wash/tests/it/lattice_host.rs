//! Lattice commands against a real `nats-server` and a real `wasmcloud` host:
//! start, inspect and stop components and providers, config, links, labels,
//! and `wash up`/`wash down` managing the processes themselves.
//!
//! The host binary is built once per test run with cargo (a no-op when it is
//! up to date) into the target directory `wash` itself was built into.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lattice_test_support::nats::NatsServer;
use serde_json::Value;

use crate::lattice::{unused_port, wash_at, wash_with};

/// Upper bound for anything that waits on a host; generous for slow CI.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// Builds (once) and returns the `wasmcloud` binary next to `wash`.
fn host_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let wash = Path::new(env!("CARGO_BIN_EXE_wash"));
        let profile_dir = wash.parent().expect("wash has a folder");
        let target_dir = profile_dir.parent().expect("the profile folder has a parent");
        let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cargo
            .args([
                "build",
                "--quiet",
                "-p",
                "lattice-host",
                "--bin",
                "wasmcloud",
                "--target-dir",
            ])
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("running cargo build for the host");
        assert!(status.success(), "building the wasmcloud host failed");
        let binary = profile_dir.join("wasmcloud");
        assert!(binary.is_file(), "{} missing after the build", binary.display());
        binary
    })
}

/// A `wasmcloud` host on a test NATS server, killed on drop.
pub(crate) struct TestHost {
    child: Child,
    pub(crate) id: String,
}

impl TestHost {
    fn start(nats: &NatsServer, labels: &[(&str, &str)]) -> Self {
        Self::start_with_env(nats, labels, &[])
    }

    /// A host with extra environment variables (its flags' `WASMCLOUD_*` names).
    pub(crate) fn start_with_env(nats: &NatsServer, labels: &[(&str, &str)], env: &[(&str, &str)]) -> Self {
        // Generate the host's key with wash, so the test knows its ID up front.
        let state = tempfile::tempdir().unwrap();
        let key = wash_with(state.path(), &["keys", "gen", "server", "-o", "json"], &[]).json();
        let id = key["public_key"].as_str().unwrap().to_owned();
        let mut command = Command::new(host_binary());
        command
            .env("WASMCLOUD_NATS_HOST", "127.0.0.1")
            .env("WASMCLOUD_NATS_PORT", nats.port().to_string())
            .env("WASMCLOUD_HOST_SEED", key["seed"].as_str().unwrap())
            .env("WASMCLOUD_ALLOW_FILE_LOAD", "true")
            .env("WASMCLOUD_LATTICE", "default")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in labels {
            command.env(format!("WASMCLOUD_LABEL_{key}"), value);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawning the host");
        let host = Self { child, id };
        let port = nats.port();
        wait_until(&format!("host {} answers", host.id), || {
            wash_at(port, &["get", "inventory", &host.id]).success
        });
        host
    }
}

impl Drop for TestHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "gave up waiting until {what}");
        std::thread::sleep(POLL);
    }
}

/// A signed copy of the hello component in `dir`, as a `file://` URL.
fn signed_hello(dir: &Path) -> String {
    let wasm = crate::hello_component(dir);
    let run = wash_with(dir, &["claims", "sign", wasm.to_str().unwrap(), "-o", "json"], &[]);
    assert!(run.success, "{}", run.stderr);
    format!("file://{}", run.json()["destination"].as_str().unwrap())
}

pub(crate) fn ok(run: &crate::Run) -> Value {
    assert!(run.success, "wash failed:\n{}\n{}", run.stdout, run.stderr);
    run.json()
}

fn components(port: u16, host: &str) -> Vec<Value> {
    let inventory = ok(&wash_at(port, &["get", "inventory", host, "-o", "json"]));
    inventory["inventories"][0]["components"].as_array().unwrap().clone()
}

#[test]
fn component_starts_shows_in_inventory_and_stops() {
    let nats = NatsServer::start();
    let host = TestHost::start(&nats, &[]);
    let port = nats.port();
    let work = tempfile::tempdir().unwrap();
    let url = signed_hello(work.path());

    let started = ok(&wash_at(port, &["start", "component", &url, "hello", "-o", "json"]));
    assert_eq!(started["host_id"], host.id.as_str());
    assert_eq!(started["confirmed"], true);

    let listed = components(port, &host.id);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], "hello");
    assert_eq!(listed[0]["max_instances"], 1);
    assert_eq!(listed[0]["image_ref"], url.as_str());
    let text = wash_at(port, &["get", "inventory"]);
    assert!(text.success, "{}", text.stderr);
    assert!(text.stdout.contains("hello"), "{}", text.stdout);

    let claims = ok(&wash_at(port, &["get", "claims", "-o", "json"]));
    assert!(
        claims["claims"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "hello"),
        "{claims}"
    );

    let scaled = ok(&wash_at(
        port,
        &["scale", "component", &host.id, &url, "hello", "-c", "3", "-o", "json"],
    ));
    assert_eq!(scaled["confirmed"], true);
    assert_eq!(components(port, &host.id)[0]["max_instances"], 3);

    let newer = work.path().join("hello_v2.wasm");
    std::fs::copy(url.trim_start_matches("file://"), &newer).unwrap();
    let newer = format!("file://{}", newer.display());
    let updated = ok(&wash_at(port, &["update", "component", "hello", &newer, "-o", "json"]));
    assert_eq!(updated["old_component_ref"], url.as_str());
    assert_eq!(updated["host_id"], host.id.as_str());
    wait_until("the update lands", || {
        components(port, &host.id)[0]["image_ref"] == newer.as_str()
    });

    let stopped = ok(&wash_at(port, &["stop", "component", "hello", "-o", "json"]));
    assert_eq!(stopped["host_id"], host.id.as_str());
    assert!(components(port, &host.id).is_empty());

    let again = wash_at(port, &["stop", "component", "hello"]);
    again.assert_clean_failure();
    assert!(again.stderr.contains("is not running"), "{}", again.stderr);
}

#[test]
fn a_component_that_cannot_load_reports_the_hosts_error() {
    let nats = NatsServer::start();
    let host = TestHost::start(&nats, &[]);
    let run = wash_at(
        nats.port(),
        &[
            "start",
            "component",
            "file:///no/such/dir/missing.wasm",
            "missing",
            "--host-id",
            &host.id,
        ],
    );
    run.assert_clean_failure();
    assert!(
        run.stderr.starts_with(&format!(
            "error: could not start component `missing` on host `{}`: ",
            host.id
        )),
        "{}",
        run.stderr
    );
    assert!(components(nats.port(), &host.id).is_empty());
}

#[test]
fn auction_constraints_pick_a_matching_host_or_explain() {
    let nats = NatsServer::start();
    let host = TestHost::start(&nats, &[("zone", "eu")]);
    let work = tempfile::tempdir().unwrap();
    let url = signed_hello(work.path());
    let port = nats.port();

    let run = wash_at(port, &["start", "component", &url, "hello", "-c", "zone=us"]);
    run.assert_clean_failure();
    assert!(run.stderr.contains("carries the labels zone=us"), "{}", run.stderr);

    // A plain path works too: wash turns it into the file:// URL the host loads.
    let path = url.trim_start_matches("file://");
    let started = ok(&wash_at(
        port,
        &["start", "component", path, "hello", "-c", "zone=eu", "-o", "json"],
    ));
    assert_eq!(started["host_id"], host.id.as_str());
    assert_eq!(started["component_ref"], url.as_str());
}

#[test]
fn config_put_get_del() {
    let nats = NatsServer::start();
    let _host = TestHost::start(&nats, &[]);
    let port = nats.port();
    ok(&wash_at(
        port,
        &["config", "put", "settings", "greeting=hi", "empty=", "-o", "json"],
    ));
    let got = ok(&wash_at(port, &["config", "get", "settings", "-o", "json"]));
    assert_eq!(got["values"], serde_json::json!({ "greeting": "hi", "empty": "" }));
    let text = wash_at(port, &["config", "get", "settings"]);
    assert!(text.stdout.contains("greeting  hi"), "{}", text.stdout);
    ok(&wash_at(port, &["config", "del", "settings", "-o", "json"]));
    let gone = wash_at(port, &["config", "get", "settings"]);
    gone.assert_clean_failure();
    assert!(
        gone.stderr.contains("no configuration named `settings`"),
        "{}",
        gone.stderr
    );
}

#[test]
fn link_put_query_del() {
    let nats = NatsServer::start();
    let _host = TestHost::start(&nats, &[]);
    let port = nats.port();
    ok(&wash_at(
        port,
        &[
            "link",
            "put",
            "hello",
            "kvstore",
            "wasi",
            "keyvalue",
            "--interface",
            "store",
            "--interface",
            "atomics",
            "-o",
            "json",
        ],
    ));
    let links = ok(&wash_at(port, &["link", "query", "-o", "json"]));
    assert_eq!(
        links["links"],
        serde_json::json!([{
            "source_id": "hello", "target": "kvstore", "name": "default",
            "wit_namespace": "wasi", "wit_package": "keyvalue",
            "interfaces": ["store", "atomics"], "source_config": [], "target_config": [],
        }])
    );
    let text = wash_at(port, &["get", "links"]);
    assert!(text.stdout.contains("wasi:keyvalue/store"), "{}", text.stdout);
    ok(&wash_at(
        port,
        &["link", "del", "hello", "wasi", "keyvalue", "-o", "json"],
    ));
    let links = ok(&wash_at(port, &["link", "query", "-o", "json"]));
    assert_eq!(links["links"], serde_json::json!([]));
}

#[test]
fn hosts_are_listed_and_labelled() {
    let nats = NatsServer::start();
    let host = TestHost::start(&nats, &[]);
    let port = nats.port();
    let hosts = ok(&wash_at(port, &["get", "hosts", "-o", "json"]));
    assert_eq!(hosts["hosts"][0]["id"], host.id.as_str());
    let text = wash_at(port, &["get", "hosts"]);
    assert!(text.stdout.starts_with("HOST ID"), "{}", text.stdout);

    ok(&wash_at(port, &["label", &host.id, "zone=eu", "-o", "json"]));
    let hosts = ok(&wash_at(port, &["get", "hosts", "-o", "json"]));
    assert_eq!(hosts["hosts"][0]["labels"]["zone"], "eu");
    ok(&wash_at(port, &["label", &host.id, "zone", "--delete", "-o", "json"]));
    let hosts = ok(&wash_at(port, &["get", "hosts", "-o", "json"]));
    assert!(hosts["hosts"][0]["labels"].get("zone").is_none(), "{hosts}");

    let refused = wash_at(port, &["label", &host.id, "hostcore.os=plan9"]);
    refused.assert_clean_failure();
}

#[test]
fn builtin_http_provider_starts_and_stops() {
    let nats = NatsServer::start();
    let host = TestHost::start(&nats, &[]);
    let port = nats.port();
    let started = ok(&wash_at(
        port,
        &[
            "start",
            "provider",
            "wasmcloud+builtin://http-server",
            "http",
            "-o",
            "json",
        ],
    ));
    assert_eq!(started["host_id"], host.id.as_str());
    let inventory = ok(&wash_at(port, &["get", "inventory", &host.id, "-o", "json"]));
    assert_eq!(inventory["inventories"][0]["providers"][0]["id"], "http");
    ok(&wash_at(port, &["stop", "provider", "http", "-o", "json"]));
    let inventory = ok(&wash_at(port, &["get", "inventory", &host.id, "-o", "json"]));
    assert_eq!(inventory["inventories"][0]["providers"], serde_json::json!([]));
}

#[test]
fn providers_start_from_plain_paths_to_an_archive_or_executable() {
    let nats = NatsServer::start();
    let host = TestHost::start(&nats, &[]);
    let port = nats.port();
    let work = tempfile::tempdir().unwrap();
    let binary = lattice_test_support::providers::binary(lattice_test_support::providers::HTTP_SERVER);
    let par = work.path().join("http.par.gz");
    ok(&wash_with(
        work.path(),
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
        &[],
    ));

    for (path, id) in [(par.as_path(), "http-par"), (binary.as_path(), "http-bin")] {
        let started = ok(&wash_at(
            port,
            &["start", "provider", path.to_str().unwrap(), id, "-o", "json"],
        ));
        assert_eq!(started["host_id"], host.id.as_str());
        let absolute = std::fs::canonicalize(path).unwrap();
        assert_eq!(started["provider_ref"], format!("file://{}", absolute.display()));
        let inventory = ok(&wash_at(port, &["get", "inventory", &host.id, "-o", "json"]));
        let providers = inventory["inventories"][0]["providers"].as_array().unwrap();
        assert!(providers.iter().any(|p| p["id"] == id), "{providers:?}");
        ok(&wash_at(port, &["stop", "provider", id, "-o", "json"]));
    }
}

#[test]
fn call_invokes_http_handlers_and_string_functions_over_wrpc() {
    let nats = NatsServer::start();
    let _host = TestHost::start(&nats, &[]);
    let port = nats.port();
    let work = tempfile::tempdir().unwrap();
    let hello = signed_hello(work.path());
    for (reference, id) in [
        (hello, "hello"),
        (format!("file://{}", lattice_test_support::guests::HTTP_ECHO), "echo"),
        (format!("file://{}", lattice_test_support::guests::GREETER), "greeter"),
    ] {
        ok(&wash_at(port, &["start", "component", &reference, id, "-o", "json"]));
    }

    let text = wash_at(
        port,
        &[
            "call",
            "hello",
            "wasi:http/incoming-handler.handle",
            "--http-path",
            "/a?b=c",
        ],
    );
    assert!(text.success, "{}", text.stderr);
    assert_eq!(text.stdout, "200\ncontent-type: text/plain\n\nhello from /a?b=c\n");

    let echo = ok(&wash_at(
        port,
        &[
            "call",
            "echo",
            "wrpc:http/incoming-handler.handle",
            "--http-method",
            "POST",
            "--http-header",
            "x-test:1",
            "--http-body",
            "ping",
            "-o",
            "json",
        ],
    ));
    assert_eq!(echo["status"], 200);
    assert_eq!(echo["body"], "echo:ping");

    let greeting = ok(&wash_at(
        port,
        &[
            "call",
            "greeter",
            "test:unlinked/greeter@0.1.0.greet",
            "wash",
            "-o",
            "json",
        ],
    ));
    assert_eq!(greeting["result"], "hello, wash");
    let text = wash_at(port, &["call", "greeter", "test:unlinked/greeter@0.1.0.greet", "you"]);
    assert_eq!(text.stdout, "hello, you\n");

    let trapped = wash_at(
        port,
        &[
            "call",
            "greeter",
            "test:unlinked/greeter@0.1.0.greet",
            "trap",
            "--rpc-timeout-ms",
            "3000",
        ],
    );
    trapped.assert_clean_failure();
    assert!(
        trapped.stderr.contains("it failed (see the host's log)"),
        "{}",
        trapped.stderr
    );

    let missing = wash_at(port, &["call", "greeter", "test:unlinked/greeter@0.1.0.wave", "you"]);
    missing.assert_clean_failure();
    assert!(
        missing.stderr.contains("runs on host")
            && missing
                .stderr
                .contains("does not export `test:unlinked/greeter@0.1.0.wave`"),
        "{}",
        missing.stderr
    );
    let stopped = wash_at(port, &["call", "nobody", "test:unlinked/greeter@0.1.0.greet", "you"]);
    stopped.assert_clean_failure();
    assert_eq!(
        stopped.stderr,
        "error: no component `nobody` answered on lattice `default`; is it running? (wash get inventory)\n"
    );
}

#[test]
fn stop_host_shuts_it_down() {
    let nats = NatsServer::start();
    let mut host = TestHost::start(&nats, &[]);
    ok(&wash_at(nats.port(), &["stop", "host", &host.id, "-o", "json"]));
    wait_until("the host exits", || host.child.try_wait().unwrap().is_some());
}

#[test]
fn up_detached_then_down() {
    let state = tempfile::tempdir().unwrap();
    let port = unused_port();
    let port_text = port.to_string();
    let host_path = host_binary().as_os_str();
    let up = wash_with(
        state.path(),
        &[
            "up",
            "--detached",
            "--nats-port",
            &port_text,
            "-l",
            "zone=test",
            "-o",
            "json",
        ],
        &[("WASMCLOUD_HOST_PATH", host_path)],
    );
    let up = ok(&up);
    let host_id = up["host_id"].as_str().unwrap().to_owned();
    assert!(up["nats_pid"].is_number(), "{up}");
    for file in ["nats.pid", "wasmcloud.pid", "up.json", "wasmcloud.log"] {
        assert!(state.path().join(file).is_file(), "{file} missing");
    }

    let hosts = ok(&wash_at(port, &["get", "hosts", "-o", "json"]));
    assert_eq!(hosts["hosts"][0]["id"], host_id.as_str());
    assert_eq!(hosts["hosts"][0]["labels"]["zone"], "test");

    let again = wash_with(
        state.path(),
        &["up", "--detached", "--nats-port", &port_text],
        &[("WASMCLOUD_HOST_PATH", host_path)],
    );
    again.assert_clean_failure();
    assert!(again.stderr.contains("stop it with `wash down`"), "{}", again.stderr);

    let down = ok(&wash_with(state.path(), &["down", "-o", "json"], &[]));
    assert_eq!(down["host_id"], host_id.as_str());
    assert_eq!(down["host_killed"], false);
    for file in ["nats.pid", "wasmcloud.pid", "up.json"] {
        assert!(!state.path().join(file).exists(), "{file} left behind");
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nats-server still listens on {port}"
    );
}

#[test]
fn up_detached_reuses_a_running_nats_and_leaves_it_up() {
    let nats = NatsServer::start();
    let state = tempfile::tempdir().unwrap();
    let port = nats.port().to_string();
    let up = ok(&wash_with(
        state.path(),
        &["up", "-d", "--nats-port", &port, "-o", "json"],
        &[("WASMCLOUD_HOST_PATH", host_binary().as_os_str())],
    ));
    assert!(up["nats_pid"].is_null(), "{up}");
    assert!(!state.path().join("nats.pid").exists());
    let down = ok(&wash_with(state.path(), &["down", "-o", "json"], &[]));
    assert!(down["nats_pid"].is_null());
    assert!(std::net::TcpStream::connect(("127.0.0.1", nats.port())).is_ok());
    let hosts = ok(&wash_at(nats.port(), &["get", "hosts", "-o", "json"]));
    assert_eq!(hosts["hosts"], serde_json::json!([]));
}

/// `wash up` hands the NATS credentials it was given to the host it starts
/// (and uses them itself to wait for it).
#[test]
fn up_hands_nats_credentials_to_the_host() {
    let user = nkeys::KeyPair::new_user();
    let seed = user.seed().unwrap();
    let nats = NatsServer::builder().nkey_user(user.public_key()).start();
    let state = tempfile::tempdir().unwrap();
    let port = nats.port().to_string();
    let up = ok(&wash_with(
        state.path(),
        &[
            "up",
            "-d",
            "--nats-port",
            &port,
            "--nats-connect-only",
            "--nats-seed",
            &seed,
            "-o",
            "json",
        ],
        &[("WASMCLOUD_HOST_PATH", host_binary().as_os_str())],
    ));
    let host_id = up["host_id"].as_str().unwrap().to_owned();
    let hosts = ok(&wash_at(
        nats.port(),
        &["get", "hosts", "-o", "json", "--ctl-seed", &seed],
    ));
    assert_eq!(hosts["hosts"][0]["id"], host_id.as_str());
    // The seed is not written anywhere wash keeps state.
    for file in ["up.json", "wasmcloud.log"] {
        let text = std::fs::read_to_string(state.path().join(file)).unwrap_or_default();
        assert!(!text.contains(&seed), "the seed is in {file}");
    }
    ok(&wash_with(state.path(), &["down", "-o", "json"], &[]));
}

#[test]
fn up_in_the_foreground_stops_everything_on_interrupt() {
    let state = tempfile::tempdir().unwrap();
    let port = unused_port();
    let mut up = Command::new(env!("CARGO_BIN_EXE_wash"))
        .args(["up", "--nats-port", &port.to_string()])
        .env("WASH_DATA_DIR", state.path())
        .env("WASMCLOUD_HOST_PATH", host_binary())
        .env_remove("WASMCLOUD_LATTICE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning wash up");
    wait_until("wash up's host answers", || {
        let hosts = wash_at(port, &["get", "hosts", "-o", "json"]);
        hosts.success && !hosts.json()["hosts"].as_array().unwrap().is_empty()
    });
    let status = Command::new("kill")
        .args(["-s", "INT", &up.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = up.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > DEADLINE {
            let _ = up.kill();
            panic!("wash up did not exit after SIGINT");
        }
        std::thread::sleep(POLL);
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(up.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(status.success(), "{status}: {stdout}");
    assert!(stdout.starts_with("stopped host "), "{stdout}");
    assert!(stdout.contains("nats-server"), "{stdout}");
    assert!(!state.path().join("wasmcloud.pid").exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// `wash up --enable-metrics --enable-traces --enable-logs` passes the telemetry settings on:
/// the host it starts exports its metrics, spans and log lines to the OTLP endpoint given, and
/// `wash down` (a graceful stop) sends the last.
#[test]
fn up_passes_telemetry_settings_to_the_host() {
    let receiver = lattice_test_support::otlp::Receiver::start();
    let nats = NatsServer::start();
    let state = tempfile::tempdir().unwrap();
    let port = nats.port().to_string();
    let endpoint = receiver.endpoint();
    let up = ok(&wash_with(
        state.path(),
        &[
            "up",
            "-d",
            "--nats-port",
            &port,
            "--enable-metrics",
            "--enable-traces",
            "--enable-logs",
            "--override-observability-endpoint",
            &endpoint,
            "-o",
            "json",
        ],
        &[("WASMCLOUD_HOST_PATH", host_binary().as_os_str())],
    ));
    let host_id = up["host_id"].as_str().unwrap().to_owned();
    ok(&wash_with(state.path(), &["down", "-o", "json"], &[]));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(receiver.wait_until("the host's metrics", Duration::from_secs(30), |r| {
        r.metrics.iter().any(|export| {
            export.resource_metrics.iter().any(|resource| {
                resource.scope_metrics.iter().any(|scope| {
                    scope.scope.as_ref().is_some_and(|s| {
                        lattice_test_support::otlp::attribute(&s.attributes, "host.id") == Some(host_id.as_str())
                    })
                })
            })
        }) && r.metric("wasmcloud_host.process.memory.total.bytes").is_some()
    }));
    // The host's spans went too: at least the control requests wash sent it.
    runtime.block_on(receiver.wait_until("the host's spans", Duration::from_secs(30), |r| {
        r.spans()
            .iter()
            .any(|s| s.service == "wasmcloud-host" && s.span.name.starts_with("ctl."))
    }));
    // And its log lines, from the same host.
    runtime.block_on(
        receiver.wait_until("the host's log lines", Duration::from_secs(30), |r| {
            r.log_records().iter().any(|l| {
                lattice_test_support::otlp::attribute(&l.resource, "host.id") == Some(host_id.as_str())
                    && l.body() == Some("exporting logs over OTLP")
            })
        }),
    );
}
