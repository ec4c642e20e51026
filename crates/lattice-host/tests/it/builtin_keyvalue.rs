//! The built-in key-value store, through guests: each component has its own (the same names
//! reach different data), and it outlives the host.

use std::time::Duration;

use lattice_control_interface::{ComponentId, LatticeEvent, ScaleComponentCommand};
use lattice_host::Host;
use lattice_test_support::guests;

use crate::http_e2e::{expose_over_http, get};
use crate::support::{Lattice, data, file_ref, wait_event};

async fn run_counter(lattice: &Lattice, host: &Host, id: &str) {
    let mut events = lattice.events().await;
    lattice
        .client
        .scale_component(&ScaleComponentCommand {
            component_ref: file_ref(guests::HTTP_KVCOUNTER),
            component_id: ComponentId::new(id),
            max_instances: 4,
            host_id: host.id().clone(),
            ..ScaleComponentCommand::default()
        })
        .await
        .unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id == id => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn components_have_their_own_store_and_it_outlives_the_host() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    run_counter(&lattice, &host, "alice").await;
    run_counter(&lattice, &host, "bob").await;
    let alice = expose_over_http(&lattice, &host, "alice").await;

    for _ in 0..3 {
        let response = get(alice, "/x?bucket=shared").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    // Bob uses the same bucket and key names, and starts from nothing.
    lattice
        .client
        .put_link(&lattice_control_interface::Link {
            source_id: ComponentId::new("http-server"),
            target: ComponentId::new("bob"),
            name: lattice_control_interface::LinkName::new("bob"),
            wit_namespace: "wasi".into(),
            wit_package: "http".into(),
            interfaces: vec!["incoming-handler".into()],
            source_config: vec![lattice_control_interface::ConfigName::new("listen")],
            ..lattice_control_interface::Link::default()
        })
        .await
        .unwrap();
    crate::support::wait_until("bob being routed", || {
        host.http_routes().iter().any(|r| r.component_id == "bob")
    })
    .await;
    let bob = host
        .http_routes()
        .into_iter()
        .find(|r| r.component_id == "bob")
        .unwrap()
        .address;
    let response = get(bob, "/x?bucket=shared").await;
    assert!(response.contains("\"count\":1}"), "bob sees alice's count: {response}");
    let response = get(alice, "/x?bucket=shared").await;
    assert!(response.contains("\"count\":4}"), "{response}");

    // A new host on the same lattice finds alice's counter where it was.
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
    let host = lattice.host(&[]).await;
    run_counter(&lattice, &host, "alice").await;
    let alice = expose_over_http(&lattice, &host, "alice").await;
    let response = get(alice, "/x?bucket=shared").await;
    assert!(
        response.contains("\"count\":5}"),
        "the count did not survive the restart: {response}"
    );
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}
