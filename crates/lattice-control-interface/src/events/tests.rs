//! Snapshot and decode tests for every lattice event.

use std::collections::BTreeMap;

use expect_test::{Expect, expect};

use super::data::*;
use super::*;
use crate::id::{ComponentId, ConfigName, LinkName, ProviderId};
use crate::types::component::ComponentDescription;

const HOST: &str = "NHOSTKEY";
const ID: &str = "0190f1c2-7a3b-7c4d-8e5f-000000000001";
const TIME: &str = "2026-01-02T03:04:05.678Z";

fn check(event: LatticeEvent, expected: &Expect) {
    let event = Event::new(HostId::new(HOST), ID, TIME, event);
    let json = serde_json::to_string_pretty(&event).unwrap();
    expected.assert_eq(&json);
    // Everything we write, we read back the same.
    let back: Event = serde_json::from_str(&json).unwrap();
    assert_eq!(back, event);
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn link() -> Link {
    Link {
        source_id: ComponentId::new("http-hello"),
        target: ComponentId::new("kv-redis"),
        name: LinkName::default_name(),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        interfaces: vec!["store".into()],
        source_config: vec![],
        target_config: vec![ConfigName::new("redis-url")],
    }
}

#[test]
fn host_started() {
    check(
        LatticeEvent::HostStarted(HostStarted {
            friendly_name: "quiet-lake-1234".into(),
            labels: map(&[("hostcore.os", "linux")]),
            uptime_seconds: 0,
            version: "1.9.2".into(),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.host_started",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "friendly_name": "quiet-lake-1234",
                "labels": {
                  "hostcore.os": "linux"
                },
                "uptime_seconds": 0,
                "version": "1.9.2"
              }
            }"#]],
    );
}

#[test]
fn host_stopped() {
    check(
        LatticeEvent::HostStopped(HostStopped {
            labels: map(&[("hostcore.os", "linux")]),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.host_stopped",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "labels": {
                  "hostcore.os": "linux"
                }
              }
            }"#]],
    );
}

#[test]
fn host_heartbeat() {
    check(
        LatticeEvent::HostHeartbeat(HostInventory {
            components: vec![ComponentDescription {
                id: ComponentId::new("http-hello"),
                image_ref: "file:///hello.wasm".into(),
                max_instances: 1,
                ..ComponentDescription::default()
            }],
            providers: vec![],
            host_id: HostId::new(HOST),
            friendly_name: "quiet-lake-1234".into(),
            labels: map(&[("hostcore.os", "linux")]),
            version: "1.9.2".into(),
            uptime_human: "30s".into(),
            uptime_seconds: 30,
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.host_heartbeat",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "components": [
                  {
                    "id": "http-hello",
                    "image_ref": "file:///hello.wasm",
                    "limits": null,
                    "max_instances": 1,
                    "revision": 0
                  }
                ],
                "friendly_name": "quiet-lake-1234",
                "host_id": "NHOSTKEY",
                "labels": {
                  "hostcore.os": "linux"
                },
                "providers": [],
                "uptime_human": "30s",
                "uptime_seconds": 30,
                "version": "1.9.2"
              }
            }"#]],
    );
}

#[test]
fn component_scaled_with_claims() {
    check(
        LatticeEvent::ComponentScaled(ComponentScaled {
            annotations: map(&[("wasmcloud.dev/managed-by", "wadm")]),
            claims: Some(ComponentScaledClaims {
                call_alias: None,
                expires_human: "never".into(),
                issuer: "AACCOUNT".into(),
                name: Some("hello".into()),
                not_before_human: "immediately".into(),
                revision: Some(1),
                tags: Some(vec![]),
                version: Some("0.1.0".into()),
            }),
            component_id: ComponentId::new("http-hello"),
            host_id: HostId::new(HOST),
            image_ref: "file:///hello.wasm".into(),
            max_instances: 4,
            public_key: Some("MCOMPONENT".into()),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.component_scaled",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "annotations": {
                  "wasmcloud.dev/managed-by": "wadm"
                },
                "claims": {
                  "call_alias": null,
                  "expires_human": "never",
                  "issuer": "AACCOUNT",
                  "name": "hello",
                  "not_before_human": "immediately",
                  "revision": 1,
                  "tags": [],
                  "version": "0.1.0"
                },
                "component_id": "http-hello",
                "host_id": "NHOSTKEY",
                "image_ref": "file:///hello.wasm",
                "max_instances": 4,
                "public_key": "MCOMPONENT"
              }
            }"#]],
    );
}

#[test]
fn component_scaled_to_zero_without_claims() {
    check(
        LatticeEvent::ComponentScaled(ComponentScaled {
            component_id: ComponentId::new("http-hello"),
            host_id: HostId::new(HOST),
            image_ref: "file:///hello.wasm".into(),
            ..ComponentScaled::default()
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.component_scaled",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "annotations": {},
                "component_id": "http-hello",
                "host_id": "NHOSTKEY",
                "image_ref": "file:///hello.wasm",
                "max_instances": 0
              }
            }"#]],
    );
}

#[test]
fn component_scale_failed() {
    check(
        LatticeEvent::ComponentScaleFailed(ComponentScaleFailed {
            annotations: BTreeMap::new(),
            component_id: ComponentId::new("http-hello"),
            error: "failed to fetch component".into(),
            host_id: HostId::new(HOST),
            image_ref: "file:///missing.wasm".into(),
            max_instances: 1,
            public_key: None,
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.component_scale_failed",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "annotations": {},
                "component_id": "http-hello",
                "error": "failed to fetch component",
                "host_id": "NHOSTKEY",
                "image_ref": "file:///missing.wasm",
                "max_instances": 1
              }
            }"#]],
    );
}

#[test]
fn provider_started_with_claims() {
    check(
        LatticeEvent::ProviderStarted(ProviderStarted {
            annotations: BTreeMap::new(),
            claims: Some(ProviderStartedClaims {
                expires_human: "never".into(),
                issuer: "AACCOUNT".into(),
                name: Some("redis".into()),
                not_before_human: "immediately".into(),
                tags: None,
                version: Some("0.2.0".into()),
            }),
            host_id: HostId::new(HOST),
            image_ref: "file:///kv-redis".into(),
            instance_id: Some("kv-redis".into()),
            link_name: Some(LinkName::default_name()),
            provider_id: ProviderId::new("kv-redis"),
            public_key: Some("kv-redis".into()),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.provider_started",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "annotations": {},
                "claims": {
                  "expires_human": "never",
                  "issuer": "AACCOUNT",
                  "name": "redis",
                  "not_before_human": "immediately",
                  "tags": null,
                  "version": "0.2.0"
                },
                "host_id": "NHOSTKEY",
                "image_ref": "file:///kv-redis",
                "instance_id": "kv-redis",
                "link_name": "default",
                "provider_id": "kv-redis",
                "public_key": "kv-redis"
              }
            }"#]],
    );
}

#[test]
fn provider_start_failed() {
    check(
        LatticeEvent::ProviderStartFailed(ProviderStartFailed {
            error: "provider with that ID is already running".into(),
            host_id: HostId::new(HOST),
            link_name: LinkName::default_name(),
            provider_id: ProviderId::new("kv-redis"),
            provider_ref: "file:///kv-redis".into(),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.provider_start_failed",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "error": "provider with that ID is already running",
                "host_id": "NHOSTKEY",
                "link_name": "default",
                "provider_id": "kv-redis",
                "provider_ref": "file:///kv-redis"
              }
            }"#]],
    );
}

#[test]
fn provider_stopped() {
    check(
        LatticeEvent::ProviderStopped(ProviderStopped {
            annotations: BTreeMap::new(),
            host_id: HostId::new(HOST),
            instance_id: "kv-redis".into(),
            link_name: LinkName::default_name(),
            provider_id: ProviderId::new("kv-redis"),
            public_key: "kv-redis".into(),
            reason: "stop".into(),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.provider_stopped",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "annotations": {},
                "host_id": "NHOSTKEY",
                "instance_id": "kv-redis",
                "link_name": "default",
                "provider_id": "kv-redis",
                "public_key": "kv-redis",
                "reason": "stop"
              }
            }"#]],
    );
}

#[test]
fn provider_stop_failed() {
    check(
        LatticeEvent::ProviderStopFailed(ProviderStopFailed {
            error: "provider with that ID is not running".into(),
            host_id: HostId::new(HOST),
            provider_id: ProviderId::new("kv-redis"),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.provider_stop_failed",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "error": "provider with that ID is not running",
                "host_id": "NHOSTKEY",
                "provider_id": "kv-redis"
              }
            }"#]],
    );
}

#[test]
fn health_checks() {
    let health = HealthCheck {
        host_id: HostId::new(HOST),
        provider_id: ProviderId::new("kv-redis"),
    };
    check(
        LatticeEvent::HealthCheckPassed(health.clone()),
        &expect![[r#"
        {
          "specversion": "1.0",
          "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
          "type": "com.wasmcloud.lattice.health_check_passed",
          "source": "NHOSTKEY",
          "time": "2026-01-02T03:04:05.678Z",
          "datacontenttype": "application/json",
          "data": {
            "host_id": "NHOSTKEY",
            "provider_id": "kv-redis"
          }
        }"#]],
    );
    let event = Event::new(
        HostId::new(HOST),
        ID,
        TIME,
        LatticeEvent::HealthCheckFailed(health.clone()),
    );
    let ce = event.to_cloud_event().unwrap();
    assert_eq!(ce.event_type, "com.wasmcloud.lattice.health_check_failed");
    let event = Event::new(HostId::new(HOST), ID, TIME, LatticeEvent::HealthCheckStatus(health));
    let ce = event.to_cloud_event().unwrap();
    assert_eq!(ce.event_type, "com.wasmcloud.lattice.health_check_status");
}

#[test]
fn linkdef_set() {
    check(
        LatticeEvent::LinkdefSet(link()),
        &expect![[r#"
        {
          "specversion": "1.0",
          "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
          "type": "com.wasmcloud.lattice.linkdef_set",
          "source": "NHOSTKEY",
          "time": "2026-01-02T03:04:05.678Z",
          "datacontenttype": "application/json",
          "data": {
            "interfaces": [
              "store"
            ],
            "name": "default",
            "source_config": [],
            "source_id": "http-hello",
            "target": "kv-redis",
            "target_config": [
              "redis-url"
            ],
            "wit_namespace": "wasi",
            "wit_package": "keyvalue"
          }
        }"#]],
    );
}

#[test]
fn linkdef_set_failed() {
    check(
        LatticeEvent::LinkdefSetFailed(LinkdefSetFailed {
            link: link(),
            error: "Configuration redis-url not found in config store".into(),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.linkdef_set_failed",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "error": "Configuration redis-url not found in config store",
                "interfaces": [
                  "store"
                ],
                "name": "default",
                "source_config": [],
                "source_id": "http-hello",
                "target": "kv-redis",
                "target_config": [
                  "redis-url"
                ],
                "wit_namespace": "wasi",
                "wit_package": "keyvalue"
              }
            }"#]],
    );
}

#[test]
fn linkdef_deleted() {
    check(
        LatticeEvent::LinkdefDeleted(LinkdefDeleted {
            interfaces: Some(vec!["store".into()]),
            name: LinkName::default_name(),
            source_id: ComponentId::new("http-hello"),
            target: Some(ComponentId::new("kv-redis")),
            wit_namespace: "wasi".into(),
            wit_package: "keyvalue".into(),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.linkdef_deleted",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "interfaces": [
                  "store"
                ],
                "name": "default",
                "source_id": "http-hello",
                "target": "kv-redis",
                "wit_namespace": "wasi",
                "wit_package": "keyvalue"
              }
            }"#]],
    );
    // A delete of a link that did not exist carries neither target nor interfaces.
    let missing = LinkdefDeleted {
        source_id: ComponentId::new("http-hello"),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        ..LinkdefDeleted::default()
    };
    expect![[r#"{"name":"default","source_id":"http-hello","wit_namespace":"wasi","wit_package":"keyvalue"}"#]]
        .assert_eq(&serde_json::to_string(&missing).unwrap());
}

#[test]
fn config_set_and_deleted() {
    let changed = ConfigChanged {
        config_name: ConfigName::new("redis-url"),
    };
    check(
        LatticeEvent::ConfigSet(changed.clone()),
        &expect![[r#"
        {
          "specversion": "1.0",
          "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
          "type": "com.wasmcloud.lattice.config_set",
          "source": "NHOSTKEY",
          "time": "2026-01-02T03:04:05.678Z",
          "datacontenttype": "application/json",
          "data": {
            "config_name": "redis-url"
          }
        }"#]],
    );
    let event = Event::new(HostId::new(HOST), ID, TIME, LatticeEvent::ConfigDeleted(changed));
    expect![[r#"{"specversion":"1.0","id":"0190f1c2-7a3b-7c4d-8e5f-000000000001","type":"com.wasmcloud.lattice.config_deleted","source":"NHOSTKEY","time":"2026-01-02T03:04:05.678Z","datacontenttype":"application/json","data":{"config_name":"redis-url"}}"#]].assert_eq(&serde_json::to_string(&event).unwrap());
}

#[test]
fn labels_changed() {
    check(
        LatticeEvent::LabelsChanged(LabelsChanged {
            host_id: HostId::new(HOST),
            labels: map(&[("hostcore.os", "linux"), ("zone", "eu")]),
        }),
        &expect![[r#"
            {
              "specversion": "1.0",
              "id": "0190f1c2-7a3b-7c4d-8e5f-000000000001",
              "type": "com.wasmcloud.lattice.labels_changed",
              "source": "NHOSTKEY",
              "time": "2026-01-02T03:04:05.678Z",
              "datacontenttype": "application/json",
              "data": {
                "host_id": "NHOSTKEY",
                "labels": {
                  "hostcore.os": "linux",
                  "zone": "eu"
                }
              }
            }"#]],
    );
}

#[test]
fn every_event_type_round_trips_its_name() {
    for ty in EventType::ALL {
        assert_eq!(EventType::from_name(ty.as_str()), Some(*ty));
    }
    assert_eq!(EventType::ALL.len(), 18);
}

#[test]
fn decodes_an_upstream_component_scaled() {
    // As a v1.9 host publishes it: json! output, so keys sorted, claims nulls included.
    let event: Event = serde_json::from_str(
        r#"{"specversion":"1.0","id":"0190f1c2-0000-7000-8000-000000000000",
            "type":"com.wasmcloud.lattice.component_scaled","source":"NHOSTKEY",
            "datacontenttype":"application/json","time":"2026-01-02T03:04:05Z",
            "data":{"annotations":{},"claims":{"call_alias":null,"expires_human":"never",
            "issuer":"AACC","name":"hello","not_before_human":"immediately","revision":0,
            "tags":null,"version":"0.1.0"},"component_id":"hello","host_id":"NHOSTKEY",
            "image_ref":"ghcr.io/x/hello:0.1.0","max_instances":100,"public_key":"MABC"}}"#,
    )
    .unwrap();
    assert_eq!(event.source, "NHOSTKEY");
    let LatticeEvent::ComponentScaled(scaled) = event.event else {
        panic!("decoded as {:?}", event.event);
    };
    assert_eq!(scaled.max_instances, 100);
    assert_eq!(scaled.claims.unwrap().tags, None);
}

#[test]
fn decodes_a_heartbeat_with_actors_and_unknown_fields() {
    let event: Event = serde_json::from_str(
        r#"{"specversion":"1.0","id":"x","type":"com.wasmcloud.lattice.host_heartbeat",
            "source":"NHOSTKEY","data":{"actors":[],"providers":[],"host_id":"NHOSTKEY",
            "friendly_name":"f","labels":{},"version":"1.9.2","uptime_human":"1s",
            "uptime_seconds":1,"issuer":"legacy-field"}}"#,
    )
    .unwrap();
    assert_eq!(event.name(), "host_heartbeat");
    assert_eq!(event.time, None);
}

#[test]
fn unknown_events_are_kept_not_rejected() {
    let json =
        r#"{"specversion":"1.0","id":"x","type":"com.wadm.manifest_published","source":"wadm","data":{"name":"app"}}"#;
    let event: Event = serde_json::from_str(json).unwrap();
    assert_eq!(event.event_type_unknown(), Some("com.wadm.manifest_published"));
    let ce = event.to_cloud_event().unwrap();
    assert_eq!(ce.event_type, "com.wadm.manifest_published");
    let future: Event = serde_json::from_str(
        r#"{"specversion":"1.0","id":"x","type":"com.wasmcloud.lattice.something_new","source":"N","data":{}}"#,
    )
    .unwrap();
    assert_eq!(future.name(), "something_new");
    assert_eq!(future.event.event_type(), None);
}

#[test]
fn known_event_with_wrong_data_is_an_error() {
    let err = serde_json::from_str::<Event>(
        r#"{"specversion":"1.0","id":"x","type":"com.wasmcloud.lattice.config_set","source":"N","data":{"name":"oops"}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("config_name"), "{err}");
}

impl Event {
    fn event_type_unknown(&self) -> Option<&str> {
        match &self.event {
            LatticeEvent::Unknown { event_type, .. } => Some(event_type),
            _ => None,
        }
    }
}
