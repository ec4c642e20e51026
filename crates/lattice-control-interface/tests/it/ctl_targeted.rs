//! Host-targeted operations: subject per host, exact request bodies, messages passed back.

use std::collections::BTreeMap;
use std::time::Duration;

use lattice_control_interface::{
    ComponentId, ConfigName, HostId, ProviderId, ScaleComponentCommand, StartProviderCommand, UpdateComponentCommand,
};
use serde_json::json;

use crate::support::{Lattice, ack, ctl};

const HOST: &str = "NHOSTTARGET";

#[tokio::test]
async fn scale_component_sends_count_to_the_host() {
    let lattice = Lattice::start().await;
    let mut host = lattice
        .fake_host(&ctl(&format!("component.*.{HOST}")), None, |_| {
            ack("component hello updating is disabled, keeping the old reference")
        })
        .await;

    let message = lattice
        .client
        .scale_component(&ScaleComponentCommand {
            component_ref: "file:///hello.wasm".into(),
            component_id: ComponentId::new("hello"),
            max_instances: 3,
            host_id: HostId::new(HOST),
            config: vec![ConfigName::new("app")],
            ..ScaleComponentCommand::default()
        })
        .await
        .unwrap();
    assert_eq!(
        message,
        "component hello updating is disabled, keeping the old reference"
    );

    let request = host.next().await;
    assert_eq!(
        request.subject,
        format!("wasmbus.ctl.v1.it-lattice.component.scale.{HOST}")
    );
    assert_eq!(
        request.body,
        json!({"component_ref": "file:///hello.wasm", "component_id": "hello", "count": 3,
               "host_id": HOST, "config": ["app"], "allow_update": false})
    );
}

#[tokio::test]
async fn update_component_goes_to_component_update() {
    let lattice = Lattice::start().await;
    let mut host = lattice
        .fake_host(&ctl(&format!("component.*.{HOST}")), None, |_| {
            ack("component hello updating from a to b")
        })
        .await;
    let message = lattice
        .client
        .update_component(&UpdateComponentCommand {
            component_id: ComponentId::new("hello"),
            new_component_ref: "file:///b.wasm".into(),
            host_id: HostId::new(HOST),
            annotations: None,
        })
        .await
        .unwrap();
    assert_eq!(message, "component hello updating from a to b");
    let request = host.next().await;
    assert_eq!(
        request.subject,
        format!("wasmbus.ctl.v1.it-lattice.component.update.{HOST}")
    );
    assert_eq!(
        request.body,
        json!({"component_id": "hello", "new_component_ref": "file:///b.wasm", "host_id": HOST})
    );
}

#[tokio::test]
async fn provider_start_and_stop() {
    let lattice = Lattice::start().await;
    let mut host = lattice
        .fake_host(&ctl(&format!("provider.*.{HOST}")), None, |m| {
            if m.subject.ends_with(&format!("start.{HOST}")) {
                ack("successfully started provider")
            } else {
                ack("successfully stopped provider")
            }
        })
        .await;

    let started = lattice
        .client
        .start_provider(&StartProviderCommand {
            provider_id: ProviderId::new("kv"),
            provider_ref: "file:///kv".into(),
            host_id: HostId::new(HOST),
            config: vec![ConfigName::new("redis-url")],
            annotations: Some(BTreeMap::from([("a".to_owned(), "b".to_owned())])),
        })
        .await
        .unwrap();
    assert_eq!(started, "successfully started provider");
    let request = host.next().await;
    assert_eq!(
        request.subject,
        format!("wasmbus.ctl.v1.it-lattice.provider.start.{HOST}")
    );
    assert_eq!(
        request.body,
        json!({"provider_id": "kv", "provider_ref": "file:///kv", "host_id": HOST,
               "config": ["redis-url"], "annotations": {"a": "b"}})
    );

    let stopped = lattice
        .client
        .stop_provider(&HostId::new(HOST), &ProviderId::new("kv"))
        .await
        .unwrap();
    assert_eq!(stopped, "successfully stopped provider");
    let request = host.next().await;
    assert_eq!(
        request.subject,
        format!("wasmbus.ctl.v1.it-lattice.provider.stop.{HOST}")
    );
    assert_eq!(request.body, json!({"host_id": HOST, "provider_id": "kv"}));
}

#[tokio::test]
async fn stop_host_sends_the_timeout_in_milliseconds() {
    let lattice = Lattice::start().await;
    let mut host = lattice
        .fake_host(&ctl(&format!("host.*.{HOST}")), None, |_| {
            ack("successfully handled stop host")
        })
        .await;
    let host_id = HostId::new(HOST);
    lattice
        .client
        .stop_host(&host_id, Some(Duration::from_millis(1500)))
        .await
        .unwrap();
    let request = host.next().await;
    assert_eq!(request.subject, format!("wasmbus.ctl.v1.it-lattice.host.stop.{HOST}"));
    assert_eq!(request.body, json!({"host_id": HOST, "timeout": 1500}));

    lattice.client.stop_host(&host_id, None).await.unwrap();
    assert_eq!(host.next().await.body, json!({"host_id": HOST}));
}

#[tokio::test]
async fn labels_put_and_delete() {
    let lattice = Lattice::start().await;
    let mut host = lattice
        .fake_host(&ctl(&format!("label.*.{HOST}")), None, |m| {
            if m.subject.contains(".label.put.") {
                ack("successfully put label")
            } else {
                ack("successfully deleted label (no such label)")
            }
        })
        .await;
    let host_id = HostId::new(HOST);
    let put = lattice.client.put_label(&host_id, "zone", "eu").await.unwrap();
    assert_eq!(put, "successfully put label");
    let request = host.next().await;
    assert_eq!(request.subject, format!("wasmbus.ctl.v1.it-lattice.label.put.{HOST}"));
    assert_eq!(request.body, json!({"key": "zone", "value": "eu"}));

    let del = lattice.client.delete_label(&host_id, "zone").await.unwrap();
    assert_eq!(del, "successfully deleted label (no such label)");
    let request = host.next().await;
    assert_eq!(request.subject, format!("wasmbus.ctl.v1.it-lattice.label.del.{HOST}"));
    assert_eq!(request.body, json!({"key": "zone"}));
}
