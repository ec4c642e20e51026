//! Host-level control operations: ping, inventory, labels, stop, and how
//! the host answers bad payloads and unknown subjects.

use expect_test::expect;
use lattice_control_interface::{ErrorKind, LatticeEvent};

use crate::support::{Lattice, data, raw_request, wait_event};

#[tokio::test(flavor = "multi_thread")]
async fn ping_inventory_and_labels() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[("zone", "eu")]).await;
    let client = &lattice.client;

    let hosts = client.get_hosts().await.unwrap();
    let pinged = hosts.iter().find(|h| h.id == *host.id()).expect("host answers ping");
    assert_eq!(pinged.labels["zone"], "eu");
    assert_eq!(pinged.lattice, "default");
    assert_eq!(pinged.friendly_name, host.friendly_name());
    assert!(pinged.labels.contains_key("hostcore.os"));

    let inventory = client.get_host_inventory(host.id()).await.unwrap();
    assert_eq!(inventory.host_id, *host.id());
    assert!(inventory.components.is_empty());
    assert!(inventory.providers.is_empty());

    // The reply as it is on the wire, with the per-run values masked.
    let mut raw = raw_request(&lattice, client.subjects().host_get(host.id()), b"").await;
    let response = &mut raw["response"];
    for key in ["host_id", "friendly_name", "version", "uptime_human"] {
        response[key] = serde_json::json!("<masked>");
    }
    response["uptime_seconds"] = serde_json::json!(0);
    response["labels"] = serde_json::json!(response["labels"].as_object().unwrap().keys().collect::<Vec<_>>());
    expect![[r#"
        {
          "message": "",
          "response": {
            "components": [],
            "friendly_name": "<masked>",
            "host_id": "<masked>",
            "labels": [
              "hostcore.arch",
              "hostcore.os",
              "hostcore.osfamily",
              "zone"
            ],
            "providers": [],
            "uptime_human": "<masked>",
            "uptime_seconds": 0,
            "version": "<masked>"
          },
          "success": true
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&raw).unwrap());

    let mut events = lattice.events().await;
    let message = client.put_label(host.id(), "tier", "gold").await.unwrap();
    assert_eq!(message, "successfully put label");
    let labels = wait_event(&mut events, "labels_changed", |e| match data(e) {
        LatticeEvent::LabelsChanged(changed) => Some(changed.labels.clone()),
        _ => None,
    })
    .await;
    assert_eq!(labels["tier"], "gold");
    assert_eq!(labels["zone"], "eu");

    let err = client.put_label(host.id(), "HostCore.os", "plan9").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(err.refusal().unwrap_or_default().contains("reserved"), "{err}");

    assert_eq!(
        client.delete_label(host.id(), "tier").await.unwrap(),
        "successfully deleted label"
    );
    assert_eq!(
        client.delete_label(host.id(), "tier").await.unwrap(),
        "successfully deleted label (no such label)"
    );
    let inventory = client.get_host_inventory(host.id()).await.unwrap();
    assert!(!inventory.labels.contains_key("tier"));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_payloads_and_unknown_subjects_are_refused() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let subjects = lattice.client.subjects();

    let reply = raw_request(&lattice, subjects.label_put(host.id()), b"not json").await;
    assert_eq!(reply["success"], false);
    expect![[r#"cannot decode the put label request: expected ident at line 1 column 2"#]]
        .assert_eq(reply["message"].as_str().unwrap());

    let reply = raw_request(&lattice, subjects.component_scale(host.id()), br#"{"count":1}"#).await;
    expect![[r#"{"message":"cannot decode the scale component request: missing field `component_id` at line 1 column 11","success":false}"#]]
        .assert_eq(&reply.to_string());

    let unknown = format!("{}.host.reboot.{}", subjects.prefix(), host.id());
    let reply = raw_request(&lattice, unknown, b"").await;
    expect![[r#"{"message":"unsupported subject","success":false}"#]].assert_eq(&reply.to_string());

    let reply = raw_request(&lattice, subjects.link_put(), b"[1,2]").await;
    assert_eq!(reply["success"], false);

    // The host still serves after all that.
    let inventory = lattice.client.get_host_inventory(host.id()).await.unwrap();
    assert_eq!(inventory.host_id, *host.id());
}

#[tokio::test(flavor = "multi_thread")]
async fn host_stop_emits_host_stopped() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[("zone", "eu")]).await;
    let mut events = lattice.events().await;

    let message = lattice
        .client
        .stop_host(host.id(), Some(std::time::Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(message, "successfully handled stop host");
    let (source, labels) = wait_event(&mut events, "host_stopped", |e| match data(e) {
        LatticeEvent::HostStopped(stopped) => Some((e.source.clone(), stopped.labels.clone())),
        _ => None,
    })
    .await;
    assert_eq!(source, *host.id());
    assert_eq!(labels["zone"], "eu");
    tokio::time::timeout(crate::support::WAIT, host.stopped())
        .await
        .expect("host reports it stopped");

    // Nobody answers for it any more.
    let err = lattice.client.get_host_inventory(host.id()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoResponders);
}

#[tokio::test(flavor = "multi_thread")]
async fn host_started_and_heartbeat_carry_the_inventory() {
    let lattice = Lattice::start().await;
    let mut events = lattice.events().await;
    let mut config = lattice.host_config(&[("zone", "eu")]);
    config.heartbeat_interval = std::time::Duration::from_secs(1);
    let host = lattice_host::Host::start(config).await.unwrap();

    let started = wait_event(&mut events, "host_started", |e| match data(e) {
        LatticeEvent::HostStarted(started) if e.source == *host.id() => Some(started.clone()),
        _ => None,
    })
    .await;
    assert_eq!(started.friendly_name, host.friendly_name());
    assert_eq!(started.labels["zone"], "eu");
    assert_eq!(started.uptime_seconds, 0);

    let heartbeat = wait_event(&mut events, "host_heartbeat", |e| match data(e) {
        LatticeEvent::HostHeartbeat(inventory) => Some(inventory.clone()),
        _ => None,
    })
    .await;
    assert_eq!(heartbeat.host_id, *host.id());
    assert_eq!(heartbeat.labels["zone"], "eu");
    assert!(!heartbeat.version.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_a_reply_subject_are_carried_out() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let mut events = lattice.events().await;
    let nats = lattice.client.nats();
    let subjects = lattice.client.subjects();

    // Published, not requested: nobody waits for the answer, the host still acts.
    nats.publish(
        subjects.label_put(host.id()),
        br#"{"key":"zone","value":"eu"}"#.as_slice().into(),
    )
    .await
    .unwrap();
    let labels = wait_event(&mut events, "labels_changed", |e| match data(e) {
        LatticeEvent::LabelsChanged(changed) => Some(changed.labels.clone()),
        _ => None,
    })
    .await;
    assert_eq!(labels["zone"], "eu");

    let stop = format!(r#"{{"host_id":"{}","timeout":2000}}"#, host.id());
    nats.publish(subjects.host_stop(host.id()), stop.into_bytes().into())
        .await
        .unwrap();
    wait_event(&mut events, "host_stopped", |e| match data(e) {
        LatticeEvent::HostStopped(_) => Some(()),
        _ => None,
    })
    .await;
    tokio::time::timeout(crate::support::WAIT, host.stopped())
        .await
        .expect("host stopped by a fire-and-forget host.stop");
}
