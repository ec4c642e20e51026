//! Component and provider auctions: scatter-gather where only matching hosts bid.

use std::collections::BTreeMap;

use lattice_control_interface::{ComponentId, ProviderId};
use serde_json::{Value, json};

use crate::support::{FakeHost, Lattice, ctl, ok};

/// A host with `labels` that bids only if every constraint matches a label,
/// as upstream hosts do; `ack` builds its bid from the request body.
async fn bidder(
    lattice: &Lattice,
    subject: &str,
    host_id: &'static str,
    labels: &[(&str, &str)],
    ack: fn(&Value, &str) -> Value,
) -> FakeHost {
    let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    lattice
        .fake_host(subject, None, move |m| {
            let body: Value = serde_json::from_slice(&m.payload).ok()?;
            let constraints = body["constraints"].as_object()?;
            let matches = constraints
                .iter()
                .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
            matches.then(|| ok(ack(&body, host_id))).flatten()
        })
        .await
}

fn component_ack(body: &Value, host_id: &str) -> Value {
    json!({"component_ref": body["component_ref"], "component_id": body["component_id"],
           "host_id": host_id, "constraints": body["constraints"]})
}

fn provider_ack(body: &Value, host_id: &str) -> Value {
    json!({"host_id": host_id, "provider_ref": body["provider_ref"],
           "provider_id": body["provider_id"], "constraints": body["constraints"]})
}

#[tokio::test]
async fn component_auction_collects_matching_bids() {
    let lattice = Lattice::start().await;
    let subject = ctl("component.auction");
    let mut eu1 = bidder(&lattice, &subject, "NEU1", &[("zone", "eu")], component_ack).await;
    let _eu2 = bidder(
        &lattice,
        &subject,
        "NEU2",
        &[("zone", "eu"), ("gpu", "no")],
        component_ack,
    )
    .await;
    let _us = bidder(&lattice, &subject, "NUS", &[("zone", "us")], component_ack).await;

    let constraints = BTreeMap::from([("zone".to_owned(), "eu".to_owned())]);
    let mut acks = lattice
        .client
        .perform_component_auction("file:///hello.wasm", &ComponentId::new("hello"), &constraints)
        .await
        .unwrap();
    acks.sort_by(|a, b| a.host_id.cmp(&b.host_id));
    let hosts: Vec<&str> = acks.iter().map(|a| a.host_id.as_str()).collect();
    assert_eq!(hosts, ["NEU1", "NEU2"]);
    assert_eq!(acks[0].component_id, "hello");
    assert_eq!(acks[0].constraints, constraints);

    let request = eu1.next().await;
    assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.component.auction");
    assert_eq!(
        request.body,
        json!({"component_ref": "file:///hello.wasm", "component_id": "hello",
               "constraints": {"zone": "eu"}})
    );
}

#[tokio::test]
async fn provider_auction_collects_matching_bids() {
    let lattice = Lattice::start().await;
    let subject = ctl("provider.auction");
    let mut any = bidder(&lattice, &subject, "NANY", &[], provider_ack).await;
    let _labelled = bidder(&lattice, &subject, "NLAB", &[("kind", "edge")], provider_ack).await;

    // No constraints: every host bids.
    let acks = lattice
        .client
        .perform_provider_auction("file:///kv", &ProviderId::new("kv"), &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(acks.len(), 2);
    let request = any.next().await;
    assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.provider.auction");
    assert_eq!(
        request.body,
        json!({"provider_ref": "file:///kv", "provider_id": "kv", "constraints": {}})
    );

    // A constraint nobody meets: hosts stay silent and the result is empty.
    let constraints = BTreeMap::from([("kind".to_owned(), "cloud".to_owned())]);
    let acks = lattice
        .client
        .perform_provider_auction("file:///kv", &ProviderId::new("kv"), &constraints)
        .await
        .unwrap();
    assert!(acks.is_empty());
}
