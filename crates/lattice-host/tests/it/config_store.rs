//! Named config over the control interface: put, get, delete, and config
//! changes reaching running components on every host.

use std::collections::BTreeMap;

use lattice_control_interface::{ComponentId, ConfigName, ConfigValues, LatticeEvent, ScaleComponentCommand};
use lattice_test_support::guests;

use crate::support::{Lattice, data, file_ref, wait_event, wait_until};

fn values(pairs: &[(&str, &str)]) -> ConfigValues {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn config_put_get_delete_with_events() {
    let lattice = Lattice::start().await;
    let _host = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;
    let name = ConfigName::new("app");

    assert_eq!(client.get_config(&name).await.unwrap(), None);
    let message = client.put_config(&name, &values(&[("greeting", "hi")])).await.unwrap();
    assert_eq!(message, "successfully put config");
    let set = wait_event(&mut events, "config_set", |e| match data(e) {
        LatticeEvent::ConfigSet(c) => Some(c.config_name.clone()),
        _ => None,
    })
    .await;
    assert_eq!(set, name);
    assert_eq!(
        client.get_config(&name).await.unwrap(),
        Some(values(&[("greeting", "hi")]))
    );

    assert_eq!(
        client.delete_config(&name).await.unwrap(),
        "successfully deleted config"
    );
    let deleted = wait_event(&mut events, "config_deleted", |e| match data(e) {
        LatticeEvent::ConfigDeleted(c) => Some(c.config_name.clone()),
        _ => None,
    })
    .await;
    assert_eq!(deleted, name);
    assert_eq!(client.get_config(&name).await.unwrap(), None);

    let reply = crate::support::raw_request(&lattice, client.subjects().config_put(&name), br#"{"port":8080}"#).await;
    assert_eq!(reply["success"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn config_put_reaches_a_running_component() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    // A second host: the config put may be answered by either.
    let _other = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;

    client
        .put_config(
            &ConfigName::new("base"),
            &values(&[("shared", "base"), ("only_base", "1")]),
        )
        .await
        .unwrap();
    client
        .put_config(&ConfigName::new("override"), &values(&[("shared", "one")]))
        .await
        .unwrap();
    let scale = ScaleComponentCommand {
        component_ref: file_ref(guests::HTTP_CONFIG),
        component_id: ComponentId::new("configured"),
        max_instances: 1,
        host_id: host.id().clone(),
        config: vec![ConfigName::new("base"), ConfigName::new("override")],
        ..ScaleComponentCommand::default()
    };
    client.scale_component(&scale).await.unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id == "configured" => Some(()),
        _ => None,
    })
    .await;
    let expected = BTreeMap::from([
        ("only_base".to_owned(), "1".to_owned()),
        ("shared".to_owned(), "one".to_owned()),
    ]);
    assert_eq!(*host.component_config("configured").unwrap(), expected);

    client
        .put_config(&ConfigName::new("override"), &values(&[("shared", "two")]))
        .await
        .unwrap();
    wait_until("the new config reaching the component", || {
        host.component_config("configured")
            .is_some_and(|c| c.get("shared").map(String::as_str) == Some("two"))
    })
    .await;

    client.delete_config(&ConfigName::new("override")).await.unwrap();
    wait_until("the deleted config leaving the component", || {
        host.component_config("configured")
            .is_some_and(|c| c.get("shared").map(String::as_str) == Some("base"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn buckets_honour_the_jetstream_domain() {
    let nats = lattice_test_support::nats::NatsServer::builder()
        .jetstream_domain("core")
        .start();
    let connection = async_nats::connect(nats.url()).await.unwrap();
    let client = lattice_control_interface::Client::builder(connection)
        .js_domain("core")
        .build();
    let mut config = lattice_host::HostConfig::new(nats.url());
    config.js_domain = Some("core".to_owned());
    config.limits.max_components = 20;
    let _host = lattice_host::Host::start(config)
        .await
        .expect("host starts with a domain");

    let name = ConfigName::new("app");
    client.put_config(&name, &values(&[("k", "v")])).await.unwrap();
    assert_eq!(client.get_config(&name).await.unwrap(), Some(values(&[("k", "v")])));
}
