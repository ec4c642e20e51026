//! The provider contract, as a host sees it: start-up from host data, links, health, config,
//! garbage, shutdown, and a process started without a host.

use std::collections::HashMap;
use std::process::Stdio;

use futures::{FutureExt as _, StreamExt as _};
use lattice_control_interface::provider::{ShutdownRequest, subject};
use lattice_control_interface::{ComponentId, LinkName};
use lattice_provider_sdk::{HealthCheckResponse, InterfaceLinkDefinition};
use lattice_test_support::nats::NatsServer;
use tokio::io::AsyncReadExt as _;

use crate::support::{Example, HOST, LATTICE, PROVIDER, WAIT, host_data};

fn link(source: &str, target: &str, config: &[(&str, &str)]) -> InterfaceLinkDefinition {
    let config: HashMap<String, String> = config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    InterfaceLinkDefinition {
        source_id: ComponentId::new(source),
        target: ComponentId::new(target),
        name: LinkName::default(),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        interfaces: vec!["store".into()],
        source_config: config.clone(),
        target_config: config,
        ..InterfaceLinkDefinition::default()
    }
}

async fn health(nats: &async_nats::Client) -> HealthCheckResponse {
    let reply = tokio::time::timeout(WAIT, nats.request(subject::health(LATTICE, PROVIDER), "".into()))
        .await
        .expect("health answered in time")
        .expect("health answered");
    serde_json::from_slice(&reply.payload).expect("health reply is JSON")
}

#[tokio::test]
async fn links_in_the_host_data_are_applied_before_the_provider_is_ready() {
    let nats = NatsServer::start();
    let mut data = host_data(&nats.url());
    data.link_definitions = vec![
        link("counter", PROVIDER, &[("URL", "redis://127.0.0.1:1")]),
        link(PROVIDER, "handler", &[("address", "127.0.0.1:0")]),
        link("someone", "else", &[]),
    ];
    let mut example = Example::spawn(&data).await;
    // The handle comes first, then the links, then `run_provider` returns.
    example.expect_line("init test example").await;
    example
        .expect_line(r#"link-target counter example default {"URL": "redis://127.0.0.1:1"}"#)
        .await;
    example
        .expect_line(r#"link-source example handler default {"address": "127.0.0.1:0"}"#)
        .await;
    example.expect_line("ready").await;
}

#[tokio::test]
async fn links_are_put_on_the_curve_key_subject_and_deleted() {
    let nats = NatsServer::start();
    let provider_key = nkeys::XKey::new();
    let mut data = host_data(&nats.url());
    data.provider_xkey_private_key = provider_key.seed().unwrap();
    data.host_xkey_public_key = nkeys::XKey::new().public_key();
    let mut example = Example::start(&data).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let put = subject::link_put(LATTICE, &provider_key.public_key());
    let first = link("counter", PROVIDER, &[("URL", "redis://a")]);
    let json = |l: &InterfaceLinkDefinition| serde_json::to_vec(l).unwrap().into();

    client.publish(put.clone(), json(&first)).await.unwrap();
    // The same link again, garbage, then a changed config: only the first and the change
    // reach the provider, in order.
    client.publish(put.clone(), json(&first)).await.unwrap();
    client.publish(put.clone(), "{not json".into()).await.unwrap();
    client
        .publish(put.clone(), json(&link("counter", PROVIDER, &[("URL", "redis://b")])))
        .await
        .unwrap();
    example
        .expect_line(r#"link-target counter example default {"URL": "redis://a"}"#)
        .await;
    example
        .expect_line(r#"link-target counter example default {"URL": "redis://b"}"#)
        .await;

    // Deletes go to the provider id, with empty configs.
    client
        .publish(
            subject::link_del(LATTICE, PROVIDER),
            json(&link("counter", PROVIDER, &[])),
        )
        .await
        .unwrap();
    example.expect_line("del-target counter example default").await;
    // Put again after the delete: applied again.
    client.publish(put, json(&first)).await.unwrap();
    example
        .expect_line(r#"link-target counter example default {"URL": "redis://a"}"#)
        .await;
}

#[tokio::test]
async fn garbage_on_every_subject_is_ignored() {
    let nats = NatsServer::start();
    let mut example = Example::start(&host_data(&nats.url())).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    assert_eq!(
        health(&client).await,
        HealthCheckResponse {
            healthy: true,
            message: Some("ok".into())
        }
    );
    for subject in [
        subject::link_put(LATTICE, PROVIDER),
        subject::link_del(LATTICE, PROVIDER),
        subject::health(LATTICE, PROVIDER),
        subject::shutdown(LATTICE, PROVIDER),
        subject::config_update(LATTICE, PROVIDER),
    ] {
        for garbage in [&b"\xff\xfe"[..], b"[]", b"{\"source_id\": 1}", b""] {
            client.publish(subject.clone(), garbage.to_vec().into()).await.unwrap();
        }
    }
    // A valid config update after the garbage still arrives, and health still answers.
    client
        .publish(
            subject::config_update(LATTICE, PROVIDER),
            br#"{"default_address":"127.0.0.1:9"}"#.to_vec().into(),
        )
        .await
        .unwrap();
    example
        .expect_line(r#"config {"default_address": "127.0.0.1:9"}"#)
        .await;
    assert!(health(&client).await.healthy);
    example.assert_running();
}

#[tokio::test]
async fn only_its_own_host_shuts_the_provider_down() {
    let nats = NatsServer::start();
    let mut example = Example::start(&host_data(&nats.url())).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let shutdown = subject::shutdown(LATTICE, PROVIDER);
    let body = |host: &str| {
        serde_json::to_vec(&ShutdownRequest { host_id: host.into() })
            .unwrap()
            .into()
    };

    // Another host's request, then a malformed one, each with a reply inbox of its own.
    let (foreign, malformed) = (client.new_inbox(), client.new_inbox());
    let mut foreign_replies = client.subscribe(foreign.clone()).await.unwrap();
    let mut malformed_replies = client.subscribe(malformed.clone()).await.unwrap();
    client
        .publish_with_reply(shutdown.clone(), foreign, body("NOTHEHOST"))
        .await
        .unwrap();
    client
        .publish_with_reply(shutdown.clone(), malformed, "{".into())
        .await
        .unwrap();

    let reply = tokio::time::timeout(WAIT, client.request(shutdown, body(HOST)))
        .await
        .expect("shutdown answered in time")
        .expect("shutdown answered");
    assert_eq!(reply.payload, "shutting down");
    // Requests are handled in order, and replies reach us in order: had the first two been
    // answered, their replies would be here already.
    assert!(foreign_replies.next().now_or_never().is_none());
    assert!(malformed_replies.next().now_or_never().is_none());

    example.expect_line("shutdown").await;
    let status = tokio::time::timeout(WAIT, example.child.wait())
        .await
        .expect("the provider exits in time")
        .unwrap();
    assert!(status.success(), "{status}");
}

/// Runs the binary with `stdin` and returns its exit status and stderr.
async fn run_without_host(stdin: Stdio, write: Option<&[u8]>) -> (std::process::ExitStatus, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_example-provider"))
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Held open (not written) until the process exits when `write` is `None`.
    let mut input = child.stdin.take();
    if let (Some(input), Some(bytes)) = (&mut input, write) {
        tokio::io::AsyncWriteExt::write_all(input, bytes).await.unwrap();
    }
    let mut stderr = String::new();
    let mut pipe = child.stderr.take().unwrap();
    let status = tokio::time::timeout(WAIT, async {
        pipe.read_to_string(&mut stderr).await.unwrap();
        child.wait().await.unwrap()
    })
    .await
    .expect("the provider gives up in time");
    drop(input);
    (status, stderr)
}

#[tokio::test]
async fn without_a_host_the_provider_says_so_and_fails() {
    let (status, stderr) = run_without_host(Stdio::null(), None).await;
    assert!(!status.success());
    assert!(
        stderr.contains("stdin is empty: a provider is started by a wasmCloud host"),
        "{stderr}"
    );

    // Stdin open but silent: it waits its 5 s, then gives up.
    let (status, stderr) = run_without_host(Stdio::piped(), None).await;
    assert!(!status.success());
    assert!(
        stderr.contains("no host data on stdin within 5s: a provider is started by a wasmCloud host"),
        "{stderr}"
    );

    let (status, stderr) = run_without_host(Stdio::piped(), Some(b"not host data\n")).await;
    assert!(!status.success());
    assert!(stderr.contains("cannot read the host data on stdin"), "{stderr}");
}

/// A host killed outright (SIGKILL) cannot ask its providers to stop: the provider notices its
/// parent is gone, runs its shutdown hook and exits instead of running on, orphaned.
#[tokio::test]
async fn a_provider_whose_host_is_killed_shuts_down() {
    let nats = NatsServer::start();
    let data = host_data(&nats.url());
    // The "host": a shell that starts the provider and waits for it. The shell's stdin is
    // passed on through fd 3, because a background command's own stdin is /dev/null.
    let mut host = tokio::process::Command::new("sh")
        .args([
            "-c",
            "exec 3<&0; \"$0\" <&3 3<&- & wait",
            env!("CARGO_BIN_EXE_example-provider"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // As a real host does, the "host" holds the only reader of the provider's stderr.
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting sh");
    let stderr = host.stderr.take().unwrap();
    let mut stdin = host.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, data.to_stdin_line().as_bytes())
        .await
        .unwrap();
    drop(stdin);
    // The provider writes to the pipe it inherited from the shell.
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(host.stdout.take().unwrap()));
    let mut next = async || {
        tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the provider printed nothing in time")
            .unwrap()
    };
    assert_eq!(next().await.as_deref(), Some("init test example"));
    assert_eq!(next().await.as_deref(), Some("ready"));

    // The host dies, and with it the reader of the provider's stderr: the provider's next log
    // line (that its host is gone) fails to be written, which must not stop it shutting down.
    drop(stderr);
    host.kill().await.unwrap();
    assert_eq!(next().await.as_deref(), Some("shutdown"));
    // End of the pipe: the provider, its last writer, has exited.
    assert_eq!(next().await, None);
}
