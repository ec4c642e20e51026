//! Lattice-wide operations answered by one host of a queue group: links, config, claims; and the registry broadcast.

use std::collections::BTreeMap;

use lattice_control_interface::{ComponentId, ConfigName, ConfigValues, Link, LinkName, RegistryCredential};
use serde_json::{Value, json};

use crate::support::{FakeHost, Lattice, Received, ack, ctl, ok};

/// Two hosts in the same queue group, as real hosts subscribe.
async fn two_hosts(
    lattice: &Lattice,
    subject: &str,
    group: &str,
    answer: impl Fn(&async_nats::Message) -> Option<Value> + Clone + Send + 'static,
) -> (FakeHost, FakeHost) {
    let a = lattice.fake_host(subject, Some(group), answer.clone()).await;
    let b = lattice.fake_host(subject, Some(group), answer).await;
    (a, b)
}

/// The request one of the two hosts received next.
async fn either(a: &mut FakeHost, b: &mut FakeHost) -> Received {
    tokio::select! {
        r = a.next() => r,
        r = b.next() => r,
    }
}

fn link() -> Link {
    Link {
        source_id: ComponentId::new("hello"),
        target: ComponentId::new("kv"),
        name: LinkName::default_name(),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        interfaces: vec!["store".into()],
        source_config: vec![],
        target_config: vec![ConfigName::new("redis-url")],
    }
}

#[tokio::test]
async fn link_requests_are_answered_by_exactly_one_host() {
    let lattice = Lattice::start().await;
    let (mut a, mut b) = two_hosts(&lattice, &ctl("link.*"), "wasmbus.ctl.v1.it-lattice.link", |_| {
        ack("successfully set link")
    })
    .await;

    const PUTS: usize = 6;
    for _ in 0..PUTS {
        let message = lattice.client.put_link(&link()).await.unwrap();
        assert_eq!(message, "successfully set link");
    }
    let mut seen = Vec::new();
    while seen.len() < PUTS {
        seen.push(either(&mut a, &mut b).await);
    }
    // Give a duplicate delivery a moment to show up: each put must reach one host only.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(a.drain().is_empty() && b.drain().is_empty(), "a put reached two hosts");
    for request in &seen {
        assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.link.put");
        assert_eq!(
            request.body,
            json!({"source_id": "hello", "target": "kv", "name": "default",
                   "wit_namespace": "wasi", "wit_package": "keyvalue", "interfaces": ["store"],
                   "source_config": [], "target_config": ["redis-url"]})
        );
    }
}

#[tokio::test]
async fn get_and_delete_links() {
    let lattice = Lattice::start().await;
    let (mut a, mut b) = two_hosts(&lattice, &ctl("link.*"), "wasmbus.ctl.v1.it-lattice.link", |m| {
        if m.subject.ends_with(".link.get") {
            ok(json!([{"source_id": "hello", "target": "kv", "name": "default",
                           "wit_namespace": "wasi", "wit_package": "keyvalue",
                           "interfaces": ["store"], "source_config": [], "target_config": []}]))
        } else {
            ack("successfully deleted link (spec doesn't exist)")
        }
    })
    .await;

    let links = lattice.client.get_links().await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].target, "kv");
    let get = either(&mut a, &mut b).await;
    assert_eq!(get.subject, "wasmbus.ctl.v1.it-lattice.link.get");

    let message = lattice
        .client
        .delete_link(&ComponentId::new("hello"), &LinkName::new("cache"), "wasi", "keyvalue")
        .await
        .unwrap();
    assert_eq!(message, "successfully deleted link (spec doesn't exist)");
    let del = either(&mut a, &mut b).await;
    assert_eq!(del.subject, "wasmbus.ctl.v1.it-lattice.link.del");
    assert_eq!(
        del.body,
        json!({"source_id": "hello", "name": "cache", "wit_namespace": "wasi", "wit_package": "keyvalue"})
    );
}

#[tokio::test]
async fn config_put_get_delete() {
    let lattice = Lattice::start().await;
    let (mut a, mut b) = two_hosts(&lattice, &ctl("config.>"), "wasmbus.ctl.v1.it-lattice.config", |m| {
        let subject = m.subject.as_str();
        if subject.ends_with(".config.get.app") {
            ok(json!({"port": "8080"}))
        } else if subject.contains(".config.get.") {
            Some(json!({"success": true, "message": "Configuration not found"}))
        } else if subject.contains(".config.put.") {
            ack("successfully put config")
        } else {
            ack("successfully deleted config")
        }
    })
    .await;
    let client = &lattice.client;
    let app = ConfigName::new("app");
    let values = ConfigValues::from([("port".to_owned(), "8080".to_owned())]);

    let put = client.put_config(&app, &values).await.unwrap();
    assert_eq!(put, "successfully put config");
    let request = either(&mut a, &mut b).await;
    assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.config.put.app");
    assert_eq!(request.body, json!({"port": "8080"}));

    assert_eq!(client.get_config(&app).await.unwrap(), Some(values));
    let request = either(&mut a, &mut b).await;
    assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.config.get.app");

    let missing = ConfigName::new("missing");
    assert_eq!(client.get_config(&missing).await.unwrap(), None);
    let request = either(&mut a, &mut b).await;
    assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.config.get.missing");

    let deleted = client.delete_config(&app).await.unwrap();
    assert_eq!(deleted, "successfully deleted config");
    let request = either(&mut a, &mut b).await;
    assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.config.del.app");
    assert_eq!(request.body, Value::Null, "delete carries no body");
}

#[tokio::test]
async fn claims_are_answered_by_one_host() {
    let lattice = Lattice::start().await;
    let (mut a, mut b) = two_hosts(&lattice, &ctl("claims.get"), "wasmbus.ctl.v1.it-lattice.claims", |_| {
        ok(json!([{"call_alias": "", "iss": "A", "issuer": "A", "name": "hello",
                       "rev": "1", "revision": "1", "sub": "M", "subject": "M",
                       "tags": "a,b", "version": "0.1.0"}]))
    })
    .await;
    let claims = lattice.client.get_claims().await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].subject(), Some("M"));
    assert_eq!(claims[0].tags(), ["a", "b"]);
    let request = either(&mut a, &mut b).await;
    assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.claims.get");
}

#[tokio::test]
async fn registries_are_broadcast_with_camel_case_type() {
    let lattice = Lattice::start().await;
    let mut a = lattice
        .fake_host(&ctl("registry.put"), None, |_| ack("successfully put registries"))
        .await;
    let mut b = lattice
        .fake_host(&ctl("registry.put"), None, |_| ack("successfully put registries"))
        .await;
    let registries = BTreeMap::from([(
        "ghcr.io".to_owned(),
        RegistryCredential {
            token: Some("t".into()),
            ..RegistryCredential::default()
        },
    )]);
    let message = lattice.client.put_registries(&registries).await.unwrap();
    assert_eq!(message, "successfully put registries");
    // Broadcast: every host receives it.
    for host in [&mut a, &mut b] {
        let request = host.next().await;
        assert_eq!(request.subject, "wasmbus.ctl.v1.it-lattice.registry.put");
        assert_eq!(request.body, json!({"ghcr.io": {"token": "t", "registryType": "oci"}}));
    }
}
