//! Component payloads: inventory entries, scale, update and auctions.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::id::{ComponentId, ConfigName, HostId};

/// A running component as listed in a [`HostInventory`](crate::HostInventory).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentDescription {
    /// The component's lattice-unique ID.
    pub id: ComponentId,
    /// Where the component was loaded from (OCI reference or `file://` URL).
    #[serde(default)]
    pub image_ref: String,
    /// The name from the component's claims, if it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Annotations given when the component was scaled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The claims revision, or 0 without claims.
    #[serde(default)]
    pub revision: i32,
    /// The instance limit the component was scaled to.
    #[serde(default)]
    pub max_instances: u32,
    /// Resource limits (keys as in [`ComponentLimits`]). Upstream always
    /// writes this key, as `null` when there are none, so we do too.
    #[serde(default)]
    pub limits: Option<BTreeMap<String, String>>,
    /// Invocations running right now. Ours: upstream hosts do not send it (`None`), and
    /// upstream clients ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_instances: Option<u32>,
}

/// Body of `component.scale.{host_id}`.
///
/// The instance count is `max_instances` here but `count` on the wire, which
/// is the one place the wire name differs from inventory and events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleComponentCommand {
    /// The reference to load the component from.
    #[serde(default)]
    pub component_ref: String,
    /// The lattice-unique ID to run the component under.
    pub component_id: ComponentId,
    /// Annotations to attach (wadm uses them to find its workloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// How many instances may run at once. 0 stops the component; `u32::MAX` means unbounded.
    #[serde(rename = "count", default)]
    pub max_instances: u32,
    /// Resource limits, keys as in [`ComponentLimits`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_limits: Option<BTreeMap<String, String>>,
    /// The host to run on (also in the subject).
    #[serde(default)]
    pub host_id: HostId,
    /// Names of the configurations to give the component, merged in order.
    #[serde(default)]
    pub config: Vec<ConfigName>,
    /// Whether a different `component_ref` may replace the running one.
    #[serde(default)]
    pub allow_update: bool,
}

/// Body of `component.update.{host_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateComponentCommand {
    /// The running component to update.
    pub component_id: ComponentId,
    /// The reference to load the new version from.
    pub new_component_ref: String,
    /// The host the component runs on (also in the subject).
    pub host_id: HostId,
    /// Annotations for the updated component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Body of `component.auction`: which hosts could run this component?
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentAuctionRequest {
    /// The reference the component would be loaded from.
    pub component_ref: String,
    /// The ID it would run under; hosts already running it stay silent.
    pub component_id: ComponentId,
    /// Labels a host must carry, all with exactly these values, to answer.
    #[serde(default)]
    pub constraints: BTreeMap<String, String>,
}

/// A host's bid in a component auction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentAuctionAck {
    /// The reference from the request.
    pub component_ref: String,
    /// The ID from the request.
    pub component_id: ComponentId,
    /// The bidding host.
    pub host_id: HostId,
    /// The constraints from the request.
    #[serde(default)]
    pub constraints: BTreeMap<String, String>,
}

/// The resource limits carried as strings in `component_limits` and `limits`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComponentLimits {
    /// Linear memory cap in bytes (`max_memory_limit`).
    pub max_memory_bytes: Option<u64>,
    /// Deadline for one invocation (`max_execution_time`, in milliseconds).
    pub max_execution_time: Option<Duration>,
}

impl ComponentLimits {
    /// Key of the memory limit, a number of bytes as a string.
    pub const MAX_MEMORY_LIMIT: &str = "max_memory_limit";
    /// Key of the execution time limit, a number of milliseconds as a string.
    pub const MAX_EXECUTION_TIME: &str = "max_execution_time";

    /// Reads the limits from their string map. Values that do not parse are
    /// ignored, as upstream hosts ignore them.
    pub fn from_map(map: &BTreeMap<String, String>) -> Self {
        Self::from_map_with_ignored(map).0
    }

    /// [`ComponentLimits::from_map`], plus one message for each entry that
    /// was ignored (a value that does not parse, a key that is not a limit),
    /// naming it and saying what would be accepted.
    pub fn from_map_with_ignored(map: &BTreeMap<String, String>) -> (Self, Vec<String>) {
        let mut limits = Self::default();
        let mut ignored = Vec::new();
        for (key, value) in map {
            let number = value.trim().parse::<u64>();
            match (key.as_str(), number) {
                (Self::MAX_MEMORY_LIMIT, Ok(bytes)) => limits.max_memory_bytes = Some(bytes),
                (Self::MAX_EXECUTION_TIME, Ok(ms)) => limits.max_execution_time = Some(Duration::from_millis(ms)),
                (Self::MAX_MEMORY_LIMIT, Err(_)) => ignored.push(format!(
                    "component_limits.{key} `{value}` ignored: give a number of bytes, e.g. \"67108864\""
                )),
                (Self::MAX_EXECUTION_TIME, Err(_)) => ignored.push(format!(
                    "component_limits.{key} `{value}` ignored: give a number of milliseconds, e.g. \"5000\""
                )),
                (other, _) => ignored.push(format!(
                    "component_limits.{other} ignored: the known limits are {} and {}",
                    Self::MAX_MEMORY_LIMIT,
                    Self::MAX_EXECUTION_TIME
                )),
            }
        }
        (limits, ignored)
    }

    /// Writes the limits as their string map, leaving out those not set.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        if let Some(bytes) = self.max_memory_bytes {
            map.insert(Self::MAX_MEMORY_LIMIT.to_owned(), bytes.to_string());
        }
        if let Some(time) = self.max_execution_time {
            map.insert(Self::MAX_EXECUTION_TIME.to_owned(), time.as_millis().to_string());
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn annotations() -> BTreeMap<String, String> {
        BTreeMap::from([("wasmcloud.dev/managed-by".to_owned(), "wadm".to_owned())])
    }

    #[test]
    fn component_description_json() {
        let full = ComponentDescription {
            id: ComponentId::new("http-hello"),
            image_ref: "ghcr.io/example/hello:0.1.0".into(),
            name: Some("hello".into()),
            annotations: Some(annotations()),
            revision: 3,
            max_instances: 10,
            limits: Some(
                ComponentLimits {
                    max_memory_bytes: Some(1 << 20),
                    max_execution_time: Some(Duration::from_millis(1500)),
                }
                .to_map(),
            ),
            active_instances: Some(2),
        };
        expect![[r#"
            {
              "id": "http-hello",
              "image_ref": "ghcr.io/example/hello:0.1.0",
              "name": "hello",
              "annotations": {
                "wasmcloud.dev/managed-by": "wadm"
              },
              "revision": 3,
              "max_instances": 10,
              "limits": {
                "max_execution_time": "1500",
                "max_memory_limit": "1048576"
              },
              "active_instances": 2
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&full).unwrap());
        let minimal = ComponentDescription {
            id: ComponentId::new("c"),
            ..ComponentDescription::default()
        };
        expect![[r#"{"id":"c","image_ref":"","revision":0,"max_instances":0,"limits":null}"#]]
            .assert_eq(&serde_json::to_string(&minimal).unwrap());
    }

    #[test]
    fn scale_component_json_uses_count() {
        let full = ScaleComponentCommand {
            component_ref: "file:///hello.wasm".into(),
            component_id: ComponentId::new("http-hello"),
            annotations: Some(annotations()),
            max_instances: 5,
            component_limits: Some(BTreeMap::from([(
                ComponentLimits::MAX_MEMORY_LIMIT.to_owned(),
                "1048576".to_owned(),
            )])),
            host_id: HostId::new("NHOST"),
            config: vec![ConfigName::new("app"), ConfigName::new("SECRET_db")],
            allow_update: true,
        };
        expect![[r#"
            {
              "component_ref": "file:///hello.wasm",
              "component_id": "http-hello",
              "annotations": {
                "wasmcloud.dev/managed-by": "wadm"
              },
              "count": 5,
              "component_limits": {
                "max_memory_limit": "1048576"
              },
              "host_id": "NHOST",
              "config": [
                "app",
                "SECRET_db"
              ],
              "allow_update": true
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&full).unwrap());
        let minimal = ScaleComponentCommand {
            component_id: ComponentId::new("c"),
            ..ScaleComponentCommand::default()
        };
        expect![[r#"{"component_ref":"","component_id":"c","count":0,"host_id":"","config":[],"allow_update":false}"#]]
            .assert_eq(&serde_json::to_string(&minimal).unwrap());
    }

    #[test]
    fn decodes_a_wash_scale_request() {
        let cmd: ScaleComponentCommand = serde_json::from_str(
            r#"{"component_ref":"r","component_id":"c","annotations":null,"count":4294967295,
                "host_id":"NHOST","config":[],"allow_update":false}"#,
        )
        .unwrap();
        assert_eq!(cmd.max_instances, u32::MAX);
        assert_eq!(cmd.annotations, None);
        let minimal: ScaleComponentCommand = serde_json::from_str(r#"{"component_id":"c"}"#).unwrap();
        assert_eq!(minimal.max_instances, 0);
        assert!(serde_json::from_str::<ScaleComponentCommand>(r#"{"count":1}"#).is_err());
    }

    #[test]
    fn update_component_json() {
        let cmd = UpdateComponentCommand {
            component_id: ComponentId::new("http-hello"),
            new_component_ref: "file:///hello-v2.wasm".into(),
            host_id: HostId::new("NHOST"),
            annotations: Some(annotations()),
        };
        expect![[r#"
            {
              "component_id": "http-hello",
              "new_component_ref": "file:///hello-v2.wasm",
              "host_id": "NHOST",
              "annotations": {
                "wasmcloud.dev/managed-by": "wadm"
              }
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&cmd).unwrap());
        let minimal = UpdateComponentCommand {
            annotations: None,
            ..cmd
        };
        expect![[r#"{"component_id":"http-hello","new_component_ref":"file:///hello-v2.wasm","host_id":"NHOST"}"#]]
            .assert_eq(&serde_json::to_string(&minimal).unwrap());
    }

    #[test]
    fn component_auction_json() {
        let constraints = BTreeMap::from([("zone".to_owned(), "eu".to_owned())]);
        let request = ComponentAuctionRequest {
            component_ref: "file:///hello.wasm".into(),
            component_id: ComponentId::new("http-hello"),
            constraints: constraints.clone(),
        };
        expect![[r#"{"component_ref":"file:///hello.wasm","component_id":"http-hello","constraints":{"zone":"eu"}}"#]]
            .assert_eq(&serde_json::to_string(&request).unwrap());
        let ack = ComponentAuctionAck {
            component_ref: "file:///hello.wasm".into(),
            component_id: ComponentId::new("http-hello"),
            host_id: HostId::new("NHOST"),
            constraints,
        };
        expect![[r#"{"component_ref":"file:///hello.wasm","component_id":"http-hello","host_id":"NHOST","constraints":{"zone":"eu"}}"#]].assert_eq(&serde_json::to_string(&ack).unwrap());
    }

    #[test]
    fn limits_ignore_values_that_do_not_parse() {
        let map = BTreeMap::from([
            ("max_memory_limit".to_owned(), "lots".to_owned()),
            ("max_execution_time".to_owned(), "250".to_owned()),
        ]);
        let limits = ComponentLimits::from_map(&map);
        assert_eq!(limits.max_memory_bytes, None);
        assert_eq!(limits.max_execution_time, Some(Duration::from_millis(250)));
    }
}
