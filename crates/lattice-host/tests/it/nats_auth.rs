//! Authenticating to NATS: against a real `nats-server` that accepts only
//! one nkey user, the host joins with that user's seed (library and binary),
//! and without it, or with another seed, it stops at start with an error
//! that names the flags to pass and never echoes the seed. Against a server
//! with a certificate from a private CA, the host joins once it trusts that
//! CA (`--tls-ca-path`) and stops with a TLS error naming the flag otherwise.

use std::process::{Command, Stdio};
use std::time::Duration;

use lattice_control_interface::{Client, LatticeEvent};
use lattice_host::{ErrorKind, Host, HostConfig};
use lattice_test_support::nats::NatsServer;
use lattice_test_support::tls::PrivateCa;

use crate::support::{WAIT, data, wait_event};

const BIN: &str = env!("CARGO_BIN_EXE_wasmcloud");

/// A server that accepts only `user`, and a control client logged in as it.
async fn guarded_lattice(user: &nkeys::KeyPair) -> (NatsServer, Client) {
    let server = NatsServer::builder().nkey_user(user.public_key()).start();
    let nats = async_nats::ConnectOptions::with_nkey(user.seed().unwrap())
        .connect(server.url())
        .await
        .expect("the test client logs in");
    let client = Client::builder(nats).timeout(Duration::from_secs(10)).build();
    (server, client)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_logs_in_with_its_nkey_seed_and_is_refused_without() {
    let user = nkeys::KeyPair::new_user();
    let (server, client) = guarded_lattice(&user).await;

    let mut config = HostConfig::new(server.url());
    config.nats_auth.seed = Some(user.seed().unwrap());
    let host = Host::start(config).await.expect("the host logs in with the seed");
    let hosts = client.get_hosts().await.unwrap();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert_eq!(hosts[0].id, *host.id());
    host.stop(None).await;

    let stranger = nkeys::KeyPair::new_user().seed().unwrap();
    for seed in [None, Some(stranger.clone())] {
        let mut config = HostConfig::new(server.url());
        config.nats_auth.seed = seed;
        let err = Host::start(config).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::NatsAuth { url: server.url() }, "{err:?}");
        let text = err.to_string();
        assert!(text.contains("--nats-seed") && text.contains("--nats-creds"), "{text}");
        assert!(!text.contains(&stranger), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_takes_the_seed_from_the_environment() {
    let user = nkeys::KeyPair::new_user();
    let (server, client) = guarded_lattice(&user).await;
    let mut events = client.events(None).await.unwrap();
    let port = server.port().to_string();

    let refused = Command::new(BIN)
        .args(["--nats-port", &port])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("refused the host's credentials"), "{stderr}");

    let host_key = nkeys::KeyPair::new_server();
    let mut child = Command::new(BIN)
        .args(["--nats-port", &port, "--no-compile-cache"])
        .env("WASMCLOUD_NATS_SEED", user.seed().unwrap())
        .env("WASMCLOUD_HOST_SEED", host_key.seed().unwrap())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = wait_event(&mut events, "host_started", |e| match data(e) {
        LatticeEvent::HostStarted(_) => Some(e.source.clone()),
        _ => None,
    })
    .await;
    assert_eq!(started.as_str(), host_key.public_key());
    let _ = child.kill();
    let _ = tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_host_trusts_a_private_ca_only_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let PrivateCa {
        ca_file: ca,
        cert_file,
        key_file,
    } = PrivateCa::create(dir.path());
    let server = NatsServer::builder().tls(cert_file, key_file).start();

    let mut config = HostConfig::new(server.url());
    config.nats_tls.ca_file = Some(ca.clone());
    let host = Host::start(config).await.expect("the host trusts the CA it was given");
    let nats = async_nats::ConnectOptions::new()
        .add_root_certificates(ca)
        .require_tls(true)
        .connect(server.url())
        .await
        .unwrap();
    let hosts = Client::builder(nats).build().get_hosts().await.unwrap();
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    host.stop(None).await;

    let err = Host::start(HostConfig::new(server.url())).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NatsTls { url: server.url() }, "{err:?}");
    assert!(err.to_string().contains("--tls-ca-path"), "{err}");
}
