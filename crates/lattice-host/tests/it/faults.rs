//! Faults from outside the host: the NATS server dies under HTTP traffic and
//! comes back. HTTP keeps being served throughout (the request path never
//! touches NATS), and once NATS is back the host answers the control
//! interface again with nothing lost: its component, link and config.

use std::time::Duration;

use lattice_control_interface::ConfigName;
use lattice_test_support::guests;

use crate::http_e2e::{expose_over_http, get};
use crate::support::{Lattice, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_is_served_while_nats_restarts_and_nothing_is_lost() {
    let mut lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    lattice.scale(&host, "hello", guests::HELLO_HTTP, 4).await;
    let addr = expose_over_http(&lattice, &host, "hello").await;
    assert!(get(addr, "/before").await.starts_with("HTTP/1.1 200"));

    lattice.nats.kill();
    for i in 0..20 {
        let response = get(addr, &format!("/outage/{i}")).await;
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "request {i} during the NATS outage: {response}"
        );
    }
    lattice.nats.restart();

    // The host reconnects on its own; the control interface answers again.
    let client = &lattice.client;
    let deadline = tokio::time::Instant::now() + WAIT;
    let inventory = loop {
        match client.get_host_inventory(host.id()).await {
            Ok(inventory) => break inventory,
            Err(error) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the host did not answer after NATS came back: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let running: Vec<&str> = inventory.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(running, ["hello"], "{inventory:?}");
    let links = client.get_links().await.unwrap();
    assert!(
        links
            .iter()
            .any(|l| l.source_id == "http-server" && l.target == "hello"),
        "{links:?}"
    );
    assert!(client.get_config(&ConfigName::new("listen")).await.unwrap().is_some());
    assert!(get(addr, "/after").await.starts_with("HTTP/1.1 200"));

    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}
