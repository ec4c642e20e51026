//! The messaging path end to end: the messaging-nats provider process delivers a subscribed
//! message to a component's `wasmcloud:messaging/handler`, and the component answers through
//! its `wasmcloud:messaging/consumer` link back to the same provider, all by links.

use std::time::Duration;

use test_support::{guests, providers};
use wasmcloud_control_interface::{
    ComponentId, ConfigName, ConfigValues, LatticeEvent, Link, ProviderId, ScaleComponentCommand, StartProviderCommand,
};

use crate::support::{Lattice, WAIT, data, file_ref, wait_event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribed_message_reaches_the_component_and_its_answer_comes_back() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;
    client
        .scale_component(&ScaleComponentCommand {
            component_ref: file_ref(guests::MESSAGING_ECHO),
            component_id: ComponentId::new("echo"),
            max_instances: 4,
            host_id: host.id().clone(),
            ..ScaleComponentCommand::default()
        })
        .await
        .unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id == "echo" => Some(()),
        _ => None,
    })
    .await;
    let binary = providers::binary(providers::MESSAGING_NATS);
    client
        .start_provider(&StartProviderCommand {
            provider_id: ProviderId::new("messaging"),
            provider_ref: file_ref(&binary.to_string_lossy()),
            host_id: host.id().clone(),
            ..StartProviderCommand::default()
        })
        .await
        .unwrap();
    wait_event(&mut events, "provider_started", |e| match data(e) {
        LatticeEvent::ProviderStarted(p) if p.provider_id == "messaging" => Some(()),
        LatticeEvent::ProviderStartFailed(p) if p.provider_id == "messaging" => {
            panic!("the messaging provider failed to start: {}", p.error)
        }
        _ => None,
    })
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
