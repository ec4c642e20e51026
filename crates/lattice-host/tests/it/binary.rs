//! The `wasmcloud` binary: flags and env vars reach the host, a bad seed is
//! refused clearly, the admin endpoint answers, and SIGTERM stops the host
//! gracefully with `host_stopped` and exit code 0.

use std::process::{Command, Stdio};

use lattice_control_interface::LatticeEvent;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{Lattice, WAIT, data, wait_event};

const BIN: &str = env!("CARGO_BIN_EXE_wasmcloud");

#[test]
fn a_seed_of_the_wrong_kind_is_refused() {
    let account_seed = nkeys::KeyPair::new_account().seed().unwrap();
    let output = Command::new(BIN)
        .args(["--nats-port", "1", "--host-seed", &account_seed])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("must start with `SN`"), "{stderr}");
}

/// Asks the admin endpoint for `path`; returns the status line and body.
async fn admin_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_host_gracefully() {
    let lattice = Lattice::start().await;
    let mut events = lattice.events().await;
    let admin = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let seed = nkeys::KeyPair::new_server();
    let mut child = Command::new(BIN)
        .args(["--nats-port", &lattice.nats.port().to_string(), "-l", "zone=eu"])
        .args(["--http-admin", &admin.to_string()])
        .env("WASMCLOUD_HOST_SEED", seed.seed().unwrap())
        .env("WASMCLOUD_LABEL_tier", "gold")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let started = wait_event(&mut events, "host_started", |e| match data(e) {
        LatticeEvent::HostStarted(s) => Some((e.source.clone(), s.labels.clone())),
        _ => None,
    })
    .await;
    assert_eq!(started.0.as_str(), seed.public_key());
    assert_eq!(started.1["zone"], "eu");
    assert_eq!(started.1["tier"], "gold");

    let live = admin_get(admin, "/livez").await;
    assert!(
        live.starts_with("HTTP/1.1 200") && live.ends_with(r#"{"status":"ok"}"#),
        "{live}"
    );
    let ready = admin_get(admin, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let stopped = wait_event(&mut events, "host_stopped", |e| match data(e) {
        LatticeEvent::HostStopped(_) => Some(e.source.clone()),
        _ => None,
    })
    .await;
    assert_eq!(stopped.as_str(), seed.public_key());
    let status = tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .expect("the host exits")
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn allowed_issuers_are_checked_at_start_from_flags_and_env() {
    let account = nkeys::KeyPair::new_account().public_key();
    let module = nkeys::KeyPair::new_module().public_key();
    let by_flag = Command::new(BIN)
        .args([
            "--nats-port",
            "1",
            "--allowed-issuer",
            &account,
            "--allowed-issuer",
            &module,
        ])
        .output()
        .unwrap();
    let by_env = Command::new(BIN)
        .args(["--nats-port", "1"])
        .env("WASMCLOUD_ALLOWED_ISSUERS", format!("{account},{module}"))
        .output()
        .unwrap();
    for output in [by_flag, by_env] {
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("allowed issuer `{module}` is not an account public key")),
            "{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn require_signed_reaches_the_host() {
    let lattice = Lattice::start().await;
    let mut events = lattice.events().await;
    let seed = nkeys::KeyPair::new_server();
    let mut child = Command::new(BIN)
        .args(["--nats-port", &lattice.nats.port().to_string(), "--allow-file-load"])
        .arg("--no-compile-cache")
        .env("WASMCLOUD_REQUIRE_SIGNED", "true")
        .env("WASMCLOUD_HOST_SEED", seed.seed().unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_event(&mut events, "host_started", |e| match data(e) {
        LatticeEvent::HostStarted(_) => Some(()),
        _ => None,
    })
    .await;
    let reference = crate::support::file_ref(lattice_test_support::guests::HELLO_HTTP);
    let scale = lattice_control_interface::ScaleComponentCommand {
        component_ref: reference,
        component_id: lattice_control_interface::ComponentId::new("hello"),
        max_instances: 1,
        host_id: lattice_control_interface::HostId::new(seed.public_key()),
        ..Default::default()
    };
    lattice.client.scale_component(&scale).await.unwrap();
    let error = wait_event(&mut events, "component_scale_failed", |e| match data(e) {
        LatticeEvent::ComponentScaleFailed(f) => Some(f.error.clone()),
        LatticeEvent::ComponentScaled(s) => panic!("unsigned component scaled: {s:?}"),
        _ => None,
    })
    .await;
    assert!(error.contains("not signed"), "{error}");
    let _ = child.kill();
    let _ = child.wait();
}

/// Every numeric flag is range-checked before the host starts, with clap's
/// message naming the flag and the accepted range.
#[test]
fn numeric_flags_out_of_range_are_refused() {
    let cases = [
        ("--heartbeat-interval-seconds", "18446744073709551615", "1..=86400"),
        ("--heartbeat-interval-seconds", "0", "1..=86400"),
        ("--max-execution-time-ms", "0", "1..=86400000"),
        ("--max-execution-time-ms", "86400001", "1..=86400000"),
        ("--max-linear-memory-bytes", "65535", "65536.."),
        ("--max-component-size-bytes", "1023", "1024.."),
        ("--max-components", "0", "1.."),
        ("--max-log-lines-per-second", "1000001", "0..=1000000"),
        ("--max-resource-entries", "63", "64..=1000000"),
        ("--max-table-elements", "1023", "1024..=10000000"),
        ("--compile-cache-max-bytes", "1048575", "1048576.."),
    ];
    for (flag, value, range) in cases {
        let output = Command::new(BIN)
            .args(["--nats-port", "1", flag, value])
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{flag} {value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(flag) && stderr.contains(range),
            "{flag} {value}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
