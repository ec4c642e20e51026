//! `wash dev` end to end, embedded and on a lattice of its own: a copy of
//! `examples/hello` is built and served, edited (reloaded, same URL), broken
//! (the last good build keeps serving), guarded against a second `wash dev`,
//! and stopped with Ctrl-C (SIGINT), which frees its ports (and, on a
//! lattice, stops the `nats-server` it started).

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::build::{copy_project, examples_dir, guest_target_dir};

/// Long enough for a cold Rust build of the example on a busy 2-core machine, queued behind
/// the other tests' builds that share its target directory (cargo locks it): a cold CI run
/// once needed more than 300 s.
const BUILD_WAIT: Duration = Duration::from_secs(900);

/// A running `wash -o json dev`, its events read off stdout line by line.
struct Dev {
    child: Child,
    events: mpsc::Receiver<serde_json::Value>,
    stderr: std::path::PathBuf,
}

impl Dev {
    fn start(project: &Path, keys: &Path, mode: &[&str]) -> Self {
        let stderr = keys.with_file_name("wash-dev.stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_wash"))
            .args(["-o", "json", "dev", "--address", "127.0.0.1:0"])
            .args(mode)
            .current_dir(project)
            .env("WASH_KEYS", keys)
            .env("USER", "tester")
            .env("CARGO_TARGET_DIR", guest_target_dir().join("wash-dev"))
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("wash dev starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let event = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "event": "not-json", "line": line }));
                if tx.send(event).is_err() {
                    return;
                }
            }
        });
        Self { child, events, stderr }
    }

    /// The next event called `name`, skipping others.
    fn wait_for(&self, name: &str) -> serde_json::Value {
        loop {
            let event = self.events.recv_timeout(BUILD_WAIT).unwrap_or_else(|_| {
                panic!(
                    "no `{name}` event from wash dev within {BUILD_WAIT:?}; its stderr:\n{}",
                    std::fs::read_to_string(&self.stderr).unwrap_or_default()
                )
            });
            assert_ne!(
                event["event"], "not-json",
                "wash dev printed a line that is not JSON: {event}"
            );
            if event["event"] == name {
                return event;
            }
        }
    }
}

impl Drop for Dev {
    /// Ctrl-C first, so a failed test still lets wash dev stop what it started (its
    /// nats-server); killed if it does not exit in time.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while matches!(self.child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("wash dev serves");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Both modes in one test, one after the other: each scenario builds three versions of a
/// project named `hello`, and cargo puts a package's final artifact at one path per target
/// directory, so two scenarios building at once (or other tests building `hello` copies)
/// could hand each other's builds over. They share a target directory of their own.
#[test]
fn wash_dev_serves_reloads_on_save_and_keeps_the_last_good_build_embedded_and_on_a_lattice() {
    let serving = inner_loop(&["--embedded"], |_serving| ());
    assert_eq!(serving["mode"], "embedded", "{serving}");
    on_a_lattice_of_its_own();
}

/// On a lattice of its own: as embedded, plus its nats-server is stopped at exit and the
/// host carries the label asked for.
fn on_a_lattice_of_its_own() {
    assert!(
        lattice_wash::up::find_on_path("nats-server").is_some(),
        "this test needs nats-server on PATH: run `cargo xtask prereqs`"
    );
    let mut nats = None;
    let serving = inner_loop(&["--label", "zone=dev"], |serving| {
        let on = &serving["lattice"];
        assert_eq!(on["nats_started"], true, "{serving}");
        assert_eq!(on["name"], "default", "{serving}");
        assert_eq!(on["component_id"], "hello", "{serving}");
        let addr: SocketAddr = on["nats"].as_str().unwrap().parse().unwrap();
        assert!(TcpStream::connect(addr).is_ok(), "its nats-server at {addr} accepts");
        // Other wash commands see the lattice, and the host carries the label asked for.
        let hosts = Command::new(env!("CARGO_BIN_EXE_wash"))
            .args(["-o", "json", "get", "hosts", "--ctl-port", &addr.port().to_string()])
            .output()
            .unwrap();
        let hosts: serde_json::Value = serde_json::from_slice(&hosts.stdout).expect("wash get hosts prints JSON");
        assert!(
            hosts.to_string().contains(r#""zone":"dev""#),
            "the dev host carries zone=dev: {hosts}"
        );
        nats = Some(addr);
    });
    assert_eq!(serving["mode"], "lattice", "{serving}");
    let nats = nats.unwrap();
    assert!(
        TcpStream::connect(nats).is_err(),
        "the nats-server wash dev started at {nats} still accepts after it stopped"
    );
}

/// Drives one `wash dev` with `mode`'s flags through the whole loop; `serving`
/// checks the serving event while it runs. Returns that event.
fn inner_loop(mode: &[&str], serving: impl FnOnce(&serde_json::Value)) -> serde_json::Value {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("hello");
    copy_project(&examples_dir().join("hello"), &project);
    let keys = work.path().join("keys");
    let source = project.join("src/lib.rs");

    let dev = Dev::start(&project, &keys, mode);
    let started = dev.wait_for("serving");
    serving(&started);
    let serving = started;
    let url = serving["url"].as_str().unwrap();
    let addr: SocketAddr = url.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
    assert_eq!(serving["links"][0]["import"], "wasi:http/incoming-handler", "{serving}");
    assert!(get(addr, "/a").contains("Hello from hello! You asked for /a"));
    // Each request served is reported, with its status and latency.
    let request = dev.wait_for("request");
    assert_eq!(request["method"], "GET", "{request}");
    assert_eq!(request["path"], "/a", "{request}");
    assert_eq!(request["status"], 200, "{request}");
    assert!(request["ms"].as_f64().is_some_and(|ms| ms > 0.0), "{request}");

    // Saved: rebuilt and swapped in at the same address.
    let text = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, text.replace("Hello from hello!", "Howdy from hello!")).unwrap();
    let built = dev.wait_for("built");
    let reloaded = dev.wait_for("reloaded");
    // Rebuild → serving, split for the record (the test's log).
    eprintln!(
        "wash dev reload ({mode:?}): build {} ms, load {} ms, change to serving {} ms",
        built["build_ms"], built["load_ms"], reloaded["ms"]
    );
    assert!(get(addr, "/b").contains("Howdy from hello! You asked for /b"));

    // Broken: the compiler's error is shown and the last good build keeps serving.
    let good = std::fs::read_to_string(&source).unwrap();
    std::fs::write(&source, good.replace("let text = format!", "let text: u32 = format!")).unwrap();
    let failed = dev.wait_for("build_failed");
    assert!(
        failed["error"].as_str().unwrap().contains("mismatched types"),
        "{failed}"
    );
    assert!(get(addr, "/c").contains("Howdy from hello! You asked for /c"));

    // One wash dev per project.
    let second = Command::new(env!("CARGO_BIN_EXE_wash"))
        .arg("dev")
        .current_dir(&project)
        .env("WASH_KEYS", &keys)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(
        stderr.contains("wash dev is already running for") && stderr.contains(url),
        "{stderr}"
    );

    // Ctrl-C: a clean exit, and the port is free again.
    let status = Command::new("kill")
        .args(["-INT", &dev.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopped = dev.wait_for("stopped");
    assert_eq!(stopped["event"], "stopped");
    let mut dev = dev;
    assert!(dev.child.wait().unwrap().success());
    assert!(
        TcpStream::connect(addr).is_err(),
        "{addr} still accepts after wash dev stopped"
    );
    serving
}

#[test]
fn wash_dev_embedded_refuses_what_needs_a_lattice_before_building() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("hello");
    copy_project(&examples_dir().join("hello"), &project);
    let manifest = project.join("wasmcloud.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "\n[[dev.overrides.imports]]\ninterface_spec = \"wasi:keyvalue/store,atomics@0.2.0-draft\"\nimage_ref = \"kv.par\"\n",
    );
    std::fs::write(&manifest, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_wash"))
        .args(["dev", "--embedded"])
        .current_dir(&project)
        .env("WASH_KEYS", work.path().join("keys"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("asks for `wasi:keyvalue` served by the provider file://")
            && stderr.contains("needs a lattice")
            && stderr.contains("--nats HOST:PORT"),
        "{stderr}"
    );
    assert!(!project.join("build/hello_s.wasm").exists(), "it built before refusing");
}
