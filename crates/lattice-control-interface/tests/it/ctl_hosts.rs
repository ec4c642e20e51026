//! `host.ping` scatter-gather and the targeted `host.get`.

use std::time::Instant;

use lattice_control_interface::HostId;
use serde_json::{Value, json};

use crate::support::{AUCTION_TIMEOUT, LATTICE, Lattice, ctl, ok};

fn ping_reply(id: &str) -> Value {
    json!({
        "id": id, "friendly_name": format!("{id}-name"), "labels": {"hostcore.os": "linux"},
        "lattice": LATTICE, "uptime_seconds": 7, "uptime_human": "7s", "version": "1.9.2",
        "ctl_host": "nats://127.0.0.1:4222", "rpc_host": "nats://127.0.0.1:4222",
        "js_domain": null
    })
}

#[tokio::test]
async fn get_hosts_collects_every_reply_within_the_window() {
    let lattice = Lattice::start().await;
    let mut hosts = Vec::new();
    for id in ["NHOSTA", "NHOSTB", "NHOSTC"] {
        hosts.push(
            lattice
                .fake_host(&ctl("host.ping"), None, move |_| ok(ping_reply(id)))
                .await,
        );
    }
    // A host that refuses and one that answers garbage must not hide the others.
    let _refuser = lattice
        .fake_host(&ctl("host.ping"), None, |_| {
            Some(json!({"success": false, "message": "busy"}))
        })
        .await;
    let _garbage = lattice
        .fake_host(&ctl("host.ping"), None, |_| Some(Value::String("{oops".into())))
        .await;

    let started = Instant::now();
    let mut found = lattice.client.get_hosts().await.unwrap();
    let elapsed = started.elapsed();

    found.sort_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = found.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["NHOSTA", "NHOSTB", "NHOSTC"]);
    assert_eq!(found[0].version.as_deref(), Some("1.9.2"));
    assert_eq!(found[0].labels["hostcore.os"], "linux");
    // Scatter-gather waits out the window rather than taking the first reply.
    assert!(elapsed >= AUCTION_TIMEOUT, "returned after {elapsed:?}");
    for host in &mut hosts {
        let ping = host.next().await;
        assert_eq!(ping.subject, "wasmbus.ctl.v1.it-lattice.host.ping");
        assert_eq!(ping.body, Value::Null, "ping carries no body");
    }
}

#[tokio::test]
async fn get_hosts_without_hosts_is_empty_and_does_not_wait() {
    let lattice = Lattice::start().await;
    let started = Instant::now();
    let found = lattice.client.get_hosts().await.unwrap();
    assert!(found.is_empty());
    // NATS reports no responders at once, so the window is not waited out.
    assert!(started.elapsed() < AUCTION_TIMEOUT, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn get_host_inventory_reaches_only_the_named_host() {
    let lattice = Lattice::start().await;
    // Real hosts subscribe `host.*.{own id}`.
    let mut a = lattice
        .fake_host(&ctl("host.*.NHOSTA"), None, |_| {
            ok(json!({
                "components": [{"id": "hello", "image_ref": "file:///hello.wasm", "name": "hello",
                                "revision": 0, "max_instances": 2, "limits": null}],
                "providers": [{"id": "kv", "image_ref": "file:///kv", "revision": 0}],
                "host_id": "NHOSTA", "friendly_name": "a", "labels": {}, "version": "1.9.2",
                "uptime_human": "1m", "uptime_seconds": 60
            }))
        })
        .await;
    let mut b = lattice.fake_host(&ctl("host.*.NHOSTB"), None, |_| ok(json!({}))).await;

    let inventory = lattice.client.get_host_inventory(&HostId::new("NHOSTA")).await.unwrap();
    assert_eq!(inventory.host_id, "NHOSTA");
    assert_eq!(inventory.components[0].max_instances, 2);
    assert_eq!(inventory.providers[0].image_ref.as_deref(), Some("file:///kv"));
    assert_eq!(a.next().await.subject, "wasmbus.ctl.v1.it-lattice.host.get.NHOSTA");
    assert!(b.drain().is_empty(), "host B must not see a request for host A");
}
