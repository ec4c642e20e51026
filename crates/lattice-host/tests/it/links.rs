//! Links over the control interface: put, get and delete round trips, the
//! replace and reject rules, and their events.

use lattice_control_interface::{ComponentId, ConfigName, ConfigValues, LatticeEvent, Link, LinkName};

use crate::support::{Lattice, data, wait_event};

fn kv_link(target: &str, interfaces: &[&str]) -> Link {
    Link {
        source_id: ComponentId::new("app"),
        target: ComponentId::new(target),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        interfaces: interfaces.iter().map(|i| (*i).to_owned()).collect(),
        ..Link::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn link_put_get_delete_round_trip_with_events() {
    let lattice = Lattice::start().await;
    // Two hosts share the queue group: either may answer, both see the state.
    let _a = lattice.host(&[]).await;
    let _b = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;

    let link = kv_link("redis", &["store"]);
    assert_eq!(client.put_link(&link).await.unwrap(), "successfully set link");
    let set = wait_event(&mut events, "linkdef_set", |e| match data(e) {
        LatticeEvent::LinkdefSet(l) => Some(l.clone()),
        _ => None,
    })
    .await;
    assert_eq!(set, link);
    assert_eq!(client.get_links().await.unwrap(), std::slice::from_ref(&link));

    // Same identity and target: replaced.
    let wider = kv_link("redis", &["store", "atomics"]);
    client.put_link(&wider).await.unwrap();
    assert_eq!(client.get_links().await.unwrap(), std::slice::from_ref(&wider));

    // Same identity, another target, overlapping interfaces: rejected.
    let conflicting = kv_link("nats-kv", &["atomics"]);
    let err = client.put_link(&conflicting).await.unwrap_err();
    assert!(
        err.refusal()
            .unwrap_or_default()
            .contains("already exists with different target"),
        "{err}"
    );
    let failed = wait_event(&mut events, "linkdef_set_failed", |e| match data(e) {
        LatticeEvent::LinkdefSetFailed(f) => Some(f.clone()),
        _ => None,
    })
    .await;
    assert_eq!(failed.link, conflicting);

    // Config names must exist.
    let mut with_config = kv_link("other", &["batch"]);
    with_config.name = LinkName::new("cache");
    with_config.target_config = vec![ConfigName::new("redis-url")];
    let err = client.put_link(&with_config).await.unwrap_err();
    assert!(err.refusal().unwrap_or_default().contains("redis-url"), "{err}");
    let url = ConfigValues::from([("url".to_owned(), "redis://127.0.0.1".to_owned())]);
    client.put_config(&ConfigName::new("redis-url"), &url).await.unwrap();
    client.put_link(&with_config).await.unwrap();
    assert_eq!(client.get_links().await.unwrap().len(), 2);

    let deleted = client
        .delete_link(&ComponentId::new("app"), &LinkName::default_name(), "wasi", "keyvalue")
        .await
        .unwrap();
    assert_eq!(deleted, "successfully deleted link");
    let gone = wait_event(&mut events, "linkdef_deleted", |e| match data(e) {
        LatticeEvent::LinkdefDeleted(d) => Some(d.clone()),
        _ => None,
    })
    .await;
    assert_eq!(gone.source_id, "app");
    assert_eq!(gone.target, Some(ComponentId::new("redis")));
    assert_eq!(gone.interfaces, Some(wider.interfaces.clone()));
    assert_eq!(client.get_links().await.unwrap(), [with_config]);

    // Deleting from a source without a spec is fine, and still announced.
    let message = client
        .delete_link(&ComponentId::new("nobody"), &LinkName::default_name(), "wasi", "http")
        .await
        .unwrap();
    assert_eq!(message, "successfully deleted link (spec doesn't exist)");
    let gone = wait_event(&mut events, "linkdef_deleted", |e| match data(e) {
        LatticeEvent::LinkdefDeleted(d) if d.source_id == "nobody" => Some(d.clone()),
        _ => None,
    })
    .await;
    assert_eq!(gone.target, None);
}
