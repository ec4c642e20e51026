//! The typed event stream: decoding as upstream publishes, filtering, and bad events.

use std::time::Duration;

use futures::StreamExt;
use lattice_control_interface::{ErrorKind, Event, EventStream, EventType, LatticeEvent};

use crate::support::Lattice;

async fn next(stream: &mut EventStream) -> Result<Event, lattice_control_interface::Error> {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("no event within 5s")
        .expect("event stream ended")
}

/// Publishes raw JSON the way a host does, from a separate connection.
async fn publish(nats: &async_nats::Client, lattice: &str, event: &str, json: String) {
    nats.publish(format!("wasmbus.evt.{lattice}.{event}"), json.into())
        .await
        .unwrap();
    nats.flush().await.unwrap();
}

fn envelope(event: &str, data: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"0190f1c2-0000-7000-8000-00000000000a",
            "type":"com.wasmcloud.lattice.{event}","source":"NHOSTKEY",
            "datacontenttype":"application/json","time":"2026-01-02T03:04:05.000000001Z",
            "data":{data}}}"#
    )
}

#[tokio::test]
async fn stream_decodes_events_as_hosts_publish_them() {
    let lattice = Lattice::start().await;
    let mut stream = lattice.client.events(None).await.unwrap();
    let host = lattice.peer().await;

    publish(
        &host,
        "it-lattice",
        "component_scaled",
        envelope(
            "component_scaled",
            r#"{"annotations":{},"claims":{"call_alias":null,"expires_human":"never",
                "issuer":"AACC","name":"hello","not_before_human":"immediately","revision":0,
                "tags":null,"version":"0.1.0"},"component_id":"hello","host_id":"NHOSTKEY",
                "image_ref":"file:///hello.wasm","max_instances":4,"public_key":"MABC"}"#,
        ),
    )
    .await;
    let event = next(&mut stream).await.unwrap();
    assert_eq!(event.source, "NHOSTKEY");
    assert_eq!(event.time.as_deref(), Some("2026-01-02T03:04:05.000000001Z"));
    let LatticeEvent::ComponentScaled(scaled) = event.event else {
        panic!("decoded as {:?}", event.event);
    };
    assert_eq!(scaled.component_id, "hello");
    assert_eq!(scaled.max_instances, 4);
    assert_eq!(scaled.public_key.as_deref(), Some("MABC"));

    // The heartbeat is the inventory, here in its pre-1.0 `actors` spelling.
    publish(
        &host,
        "it-lattice",
        "host_heartbeat",
        envelope(
            "host_heartbeat",
            r#"{"actors":[{"id":"hello","image_ref":"r","revision":0,"max_instances":1,"limits":null}],
                "providers":[],"host_id":"NHOSTKEY","friendly_name":"f","labels":{},
                "version":"1.9.2","uptime_human":"30s","uptime_seconds":30}"#,
        ),
    )
    .await;
    let event = next(&mut stream).await.unwrap();
    let LatticeEvent::HostHeartbeat(inventory) = event.event else {
        panic!("decoded as {:?}", event.event);
    };
    assert_eq!(inventory.components[0].id, "hello");
}

#[tokio::test]
async fn filtered_stream_sees_only_the_chosen_types_of_its_lattice() {
    let lattice = Lattice::start().await;
    let mut stream = lattice
        .client
        .events(Some(&[EventType::ConfigSet, EventType::LabelsChanged]))
        .await
        .unwrap();
    let host = lattice.peer().await;

    publish(
        &host,
        "it-lattice",
        "linkdef_deleted",
        envelope(
            "linkdef_deleted",
            r#"{"source_id":"a","name":"default","wit_namespace":"wasi","wit_package":"http"}"#,
        ),
    )
    .await;
    publish(
        &host,
        "other-lattice",
        "config_set",
        envelope("config_set", r#"{"config_name":"elsewhere"}"#),
    )
    .await;
    publish(
        &host,
        "it-lattice",
        "config_set",
        envelope("config_set", r#"{"config_name":"app"}"#),
    )
    .await;
    publish(
        &host,
        "it-lattice",
        "labels_changed",
        envelope("labels_changed", r#"{"host_id":"NHOSTKEY","labels":{"zone":"eu"}}"#),
    )
    .await;

    let first = next(&mut stream).await.unwrap();
    assert_eq!(
        first.event,
        LatticeEvent::ConfigSet(lattice_control_interface::events::data::ConfigChanged {
            config_name: "app".into(),
        })
    );
    let second = next(&mut stream).await.unwrap();
    assert_eq!(second.name(), "labels_changed");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), stream.next())
            .await
            .is_err(),
        "no other event may arrive"
    );
}

#[tokio::test]
async fn a_bad_event_is_an_error_and_the_stream_goes_on() {
    let lattice = Lattice::start().await;
    let mut stream = lattice.client.events(None).await.unwrap();
    let host = lattice.peer().await;

    publish(&host, "it-lattice", "config_set", "not json".to_owned()).await;
    publish(
        &host,
        "it-lattice",
        "config_set",
        envelope("config_set", r#"{"wrong":"shape"}"#),
    )
    .await;
    publish(
        &host,
        "it-lattice",
        "config_deleted",
        envelope("config_deleted", r#"{"config_name":"app"}"#),
    )
    .await;

    let err = next(&mut stream).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.subject(), "wasmbus.evt.it-lattice.config_set");
    let err = next(&mut stream).await.unwrap_err();
    assert!(err.to_string().contains("config_name"), "{err}");
    let ok = next(&mut stream).await.unwrap();
    assert_eq!(ok.name(), "config_deleted");
}

#[tokio::test]
async fn events_written_by_this_crate_read_back_through_nats() {
    // What the host will publish (built with this crate) is what clients decode.
    let lattice = Lattice::start().await;
    let mut stream = lattice.client.events(None).await.unwrap();
    let host = lattice.peer().await;
    let sent = Event::new(
        "NHOSTKEY".into(),
        "id-1",
        "2026-01-02T03:04:05Z",
        LatticeEvent::HealthCheckPassed(lattice_control_interface::events::data::HealthCheck {
            host_id: "NHOSTKEY".into(),
            provider_id: "kv".into(),
        }),
    );
    publish(&host, "it-lattice", sent.name(), serde_json::to_string(&sent).unwrap()).await;
    assert_eq!(next(&mut stream).await.unwrap(), sent);
}
