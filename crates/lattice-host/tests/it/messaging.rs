//! The messaging path end to end: the messaging-nats provider process delivers a subscribed
//! message to a component's `wasmcloud:messaging/handler`, and the component answers through
//! its `wasmcloud:messaging/consumer` link back to the same provider, all by links.

use std::time::Duration;

use lattice_control_interface::{ComponentId, ConfigName, ConfigValues, Link};
use lattice_test_support::{guests, providers};

use crate::support::{Lattice, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_message_reaches_the_component_and_its_answer_comes_back() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    lattice.scale(&host, "echo", guests::MESSAGING_ECHO, 4).await;
    lattice
        .start_provider(&host, "messaging", providers::MESSAGING_NATS)
        .await;

    let subscriptions = ConfigValues::from([("subscriptions".to_owned(), "test.echo".to_owned())]);
    client
        .put_config(&ConfigName::new("echo-subscriptions"), &subscriptions)
        .await
        .unwrap();
    let messaging = |source: &str, target: &str, interface: &str, source_config: Vec<ConfigName>| Link {
        source_id: ComponentId::new(source),
        target: ComponentId::new(target),
        wit_namespace: "wasmcloud".into(),
        wit_package: "messaging".into(),
        interfaces: vec![interface.into()],
        source_config,
        ..Link::default()
    };
    client
        .put_link(&messaging("echo", "messaging", "consumer", Vec::new()))
        .await
        .unwrap();
    client
        .put_link(&messaging(
            "messaging",
            "echo",
            "handler",
            vec![ConfigName::new("echo-subscriptions")],
        ))
        .await
        .unwrap();

    // The provider subscribes once its host has told it the link.
    let nats = client.nats();
    let deadline = tokio::time::Instant::now() + WAIT;
    let answer = loop {
        let asked = tokio::time::timeout(Duration::from_secs(5), nats.request("test.echo", "hi".into())).await;
        if let Ok(Ok(answer)) = asked {
            break answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no answer on test.echo through the provider and the component: {asked:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(&answer.payload[..], b"echo: hi");

    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}
