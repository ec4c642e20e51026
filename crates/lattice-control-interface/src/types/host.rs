//! Host-level payloads: the ping reply, the inventory (also the heartbeat) and stop-host.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::id::HostId;
use crate::types::component::ComponentDescription;
use crate::types::provider::ProviderDescription;

/// One host's reply to `host.ping`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The host's public nkey (`N…`).
    pub id: HostId,
    /// A generated adjective-noun-number name for people.
    #[serde(default)]
    pub friendly_name: String,
    /// Host labels, including the `hostcore.*` defaults.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The lattice this host belongs to.
    #[serde(default)]
    pub lattice: String,
    /// Seconds since the host started.
    #[serde(default)]
    pub uptime_seconds: u64,
    /// Uptime for people, e.g. `"1h 2m 3s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_human: Option<String>,
    /// The host's version, e.g. `"1.9.2"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// URL of the NATS server the host's control connection uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctl_host: Option<String>,
    /// URL of the NATS server the host's RPC connection uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_host: Option<String>,
    /// The JetStream domain the host uses, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub js_domain: Option<String>,
}

/// What a host runs: the `host.get` reply, and the `host_heartbeat` event's data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInventory {
    /// Running components. Pre-1.0 hosts called these `actors`.
    #[serde(default, alias = "actors")]
    pub components: Vec<ComponentDescription>,
    /// Running providers.
    #[serde(default)]
    pub providers: Vec<ProviderDescription>,
    /// The host's public nkey. wadm also accepts `id` in heartbeats, so do we.
    #[serde(alias = "id")]
    pub host_id: HostId,
    /// A generated adjective-noun-number name for people.
    #[serde(default)]
    pub friendly_name: String,
    /// Host labels, including the `hostcore.*` defaults.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The host's version, e.g. `"1.9.2"`.
    #[serde(default)]
    pub version: String,
    /// Uptime for people.
    #[serde(default)]
    pub uptime_human: String,
    /// Seconds since the host started.
    #[serde(default)]
    pub uptime_seconds: u64,
}

/// Body of `host.stop.{host_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopHostCommand {
    /// The host to stop (also in the subject).
    pub host_id: HostId,
    /// Milliseconds the host may take to shut down; the host picks a default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
}

/// Label keys every host sets itself; clients may not put or delete them.
pub const RESERVED_LABEL_PREFIX: &str = "hostcore.";

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::id::{ComponentId, ProviderId};

    fn labels() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("hostcore.arch".to_owned(), "x86_64".to_owned()),
            ("zone".to_owned(), "eu".to_owned()),
        ])
    }

    #[test]
    fn host_json() {
        let full = Host {
            id: HostId::new("NHOST"),
            friendly_name: "quiet-lake-1234".into(),
            labels: labels(),
            lattice: "default".into(),
            uptime_seconds: 42,
            uptime_human: Some("42s".into()),
            version: Some("1.9.2".into()),
            ctl_host: Some("nats://127.0.0.1:4222".into()),
            rpc_host: Some("nats://127.0.0.1:4222".into()),
            js_domain: Some("core".into()),
        };
        expect![[r#"
            {
              "id": "NHOST",
              "friendly_name": "quiet-lake-1234",
              "labels": {
                "hostcore.arch": "x86_64",
                "zone": "eu"
              },
              "lattice": "default",
              "uptime_seconds": 42,
              "uptime_human": "42s",
              "version": "1.9.2",
              "ctl_host": "nats://127.0.0.1:4222",
              "rpc_host": "nats://127.0.0.1:4222",
              "js_domain": "core"
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&full).unwrap());
        let minimal = Host {
            id: HostId::new("NHOST"),
            ..Host::default()
        };
        expect![[r#"{"id":"NHOST","friendly_name":"","labels":{},"lattice":"","uptime_seconds":0}"#]]
            .assert_eq(&serde_json::to_string(&minimal).unwrap());
    }

    #[test]
    fn host_inventory_json() {
        let inventory = HostInventory {
            components: vec![ComponentDescription {
                id: ComponentId::new("http-hello"),
                image_ref: "file:///hello.wasm".into(),
                name: Some("hello".into()),
                annotations: None,
                revision: 0,
                max_instances: 1,
                limits: None,
                active_instances: None,
            }],
            providers: vec![ProviderDescription {
                id: ProviderId::new("kv-redis"),
                image_ref: Some("file:///kv".into()),
                name: None,
                revision: 0,
                annotations: None,
            }],
            host_id: HostId::new("NHOST"),
            friendly_name: "quiet-lake-1234".into(),
            labels: labels(),
            version: "1.9.2".into(),
            uptime_human: "42s".into(),
            uptime_seconds: 42,
        };
        expect![[r#"
            {
              "components": [
                {
                  "id": "http-hello",
                  "image_ref": "file:///hello.wasm",
                  "name": "hello",
                  "revision": 0,
                  "max_instances": 1,
                  "limits": null
                }
              ],
              "providers": [
                {
                  "id": "kv-redis",
                  "image_ref": "file:///kv",
                  "revision": 0
                }
              ],
              "host_id": "NHOST",
              "friendly_name": "quiet-lake-1234",
              "labels": {
                "hostcore.arch": "x86_64",
                "zone": "eu"
              },
              "version": "1.9.2",
              "uptime_human": "42s",
              "uptime_seconds": 42
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&inventory).unwrap());
    }

    #[test]
    fn stop_host_json() {
        let cmd = StopHostCommand {
            host_id: HostId::new("NHOST"),
            timeout: Some(5000),
        };
        expect![[r#"{"host_id":"NHOST","timeout":5000}"#]].assert_eq(&serde_json::to_string(&cmd).unwrap());
        let no_timeout = StopHostCommand {
            host_id: HostId::new("NHOST"),
            timeout: None,
        };
        expect![[r#"{"host_id":"NHOST"}"#]].assert_eq(&serde_json::to_string(&no_timeout).unwrap());
    }

    #[test]
    fn decodes_an_upstream_ping_reply() {
        let host: Host = serde_json::from_str(
            r#"{"id":"NHOST","friendly_name":"a-b-1","labels":{"hostcore.os":"linux"},
                "lattice":"default","uptime_seconds":3,"uptime_human":"3s","version":"1.9.2",
                "ctl_host":"nats://127.0.0.1:4222","rpc_host":"nats://127.0.0.1:4222",
                "js_domain":null}"#,
        )
        .unwrap();
        assert_eq!(host.id, "NHOST");
        assert_eq!(host.labels["hostcore.os"], "linux");
        assert_eq!(host.js_domain, None);
        assert_eq!(host.version.as_deref(), Some("1.9.2"));
    }

    #[test]
    fn decodes_a_pre_1_0_inventory_with_actors() {
        let inventory: HostInventory = serde_json::from_str(
            r#"{"actors":[{"id":"c1","image_ref":"r","revision":0,"max_instances":1,"limits":null}],
                "providers":[],"host_id":"NHOST","friendly_name":"f","labels":{},
                "version":"1.0.0","uptime_human":"1s","uptime_seconds":1}"#,
        )
        .unwrap();
        assert_eq!(inventory.components.len(), 1);
        assert_eq!(inventory.components[0].id, "c1");
    }

    #[test]
    fn decodes_a_heartbeat_with_id_instead_of_host_id() {
        let inventory: HostInventory =
            serde_json::from_str(r#"{"id":"NHOST","components":[],"providers":[]}"#).unwrap();
        assert_eq!(inventory.host_id, "NHOST");
    }
}
