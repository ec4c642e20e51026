//! Provider payloads: inventory entries, start, stop and auctions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::id::{ConfigName, HostId, ProviderId};

/// A running provider as listed in a [`HostInventory`](crate::HostInventory).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderDescription {
    /// The provider's lattice-unique ID.
    pub id: ProviderId,
    /// Where the provider was loaded from, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<String>,
    /// The name from the provider's claims, if it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The claims revision, or 0 without claims.
    #[serde(default)]
    pub revision: i32,
    /// Annotations given when the provider was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Body of `provider.start.{host_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartProviderCommand {
    /// The lattice-unique ID to run the provider under.
    pub provider_id: ProviderId,
    /// The reference to load the provider from (file path, OCI, or `wasmcloud+builtin://…`).
    pub provider_ref: String,
    /// The host to run on (also in the subject).
    pub host_id: HostId,
    /// Names of the configurations to give the provider, merged in order.
    #[serde(default)]
    pub config: Vec<ConfigName>,
    /// Annotations to attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Body of `provider.stop.{host_id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopProviderCommand {
    /// The host the provider runs on (also in the subject).
    pub host_id: HostId,
    /// The provider to stop. Older clients sent it as `provider_ref`.
    #[serde(alias = "provider_ref")]
    pub provider_id: ProviderId,
}

/// Body of `provider.auction`: which hosts could run this provider?
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderAuctionRequest {
    /// The reference the provider would be loaded from.
    pub provider_ref: String,
    /// The ID it would run under; hosts already running it stay silent.
    pub provider_id: ProviderId,
    /// Labels a host must carry, all with exactly these values, to answer.
    #[serde(default)]
    pub constraints: BTreeMap<String, String>,
}

/// A host's bid in a provider auction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderAuctionAck {
    /// The bidding host.
    pub host_id: HostId,
    /// The reference from the request.
    pub provider_ref: String,
    /// The ID from the request.
    pub provider_id: ProviderId,
    /// The constraints from the request.
    #[serde(default)]
    pub constraints: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn provider_description_json() {
        let full = ProviderDescription {
            id: ProviderId::new("kv-redis"),
            image_ref: Some("file:///kv-redis".into()),
            name: Some("redis".into()),
            revision: 1,
            annotations: Some(BTreeMap::from([("a".to_owned(), "b".to_owned())])),
        };
        expect![[r#"
            {
              "id": "kv-redis",
              "image_ref": "file:///kv-redis",
              "name": "redis",
              "revision": 1,
              "annotations": {
                "a": "b"
              }
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&full).unwrap());
        let minimal = ProviderDescription {
            id: ProviderId::new("p"),
            ..ProviderDescription::default()
        };
        expect![[r#"{"id":"p","revision":0}"#]].assert_eq(&serde_json::to_string(&minimal).unwrap());
    }

    #[test]
    fn start_provider_json() {
        let cmd = StartProviderCommand {
            provider_id: ProviderId::new("http-server"),
            provider_ref: "wasmcloud+builtin://http-server".into(),
            host_id: HostId::new("NHOST"),
            config: vec![ConfigName::new("listen")],
            annotations: Some(BTreeMap::from([("a".to_owned(), "b".to_owned())])),
        };
        expect![[r#"
            {
              "provider_id": "http-server",
              "provider_ref": "wasmcloud+builtin://http-server",
              "host_id": "NHOST",
              "config": [
                "listen"
              ],
              "annotations": {
                "a": "b"
              }
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&cmd).unwrap());
        let minimal = StartProviderCommand {
            annotations: None,
            config: vec![],
            ..cmd
        };
        expect![[r#"{"provider_id":"http-server","provider_ref":"wasmcloud+builtin://http-server","host_id":"NHOST","config":[]}"#]].assert_eq(&serde_json::to_string(&minimal).unwrap());
    }

    #[test]
    fn stop_provider_json_and_alias() {
        let cmd = StopProviderCommand {
            host_id: HostId::new("NHOST"),
            provider_id: ProviderId::new("kv-redis"),
        };
        expect![[r#"{"host_id":"NHOST","provider_id":"kv-redis"}"#]].assert_eq(&serde_json::to_string(&cmd).unwrap());
        let old: StopProviderCommand =
            serde_json::from_str(r#"{"host_id":"NHOST","provider_ref":"kv-redis"}"#).unwrap();
        assert_eq!(old, cmd);
    }

    #[test]
    fn provider_auction_json() {
        let constraints = BTreeMap::from([("zone".to_owned(), "eu".to_owned())]);
        let request = ProviderAuctionRequest {
            provider_ref: "file:///kv-redis".into(),
            provider_id: ProviderId::new("kv-redis"),
            constraints: constraints.clone(),
        };
        expect![[r#"{"provider_ref":"file:///kv-redis","provider_id":"kv-redis","constraints":{"zone":"eu"}}"#]]
            .assert_eq(&serde_json::to_string(&request).unwrap());
        let ack = ProviderAuctionAck {
            host_id: HostId::new("NHOST"),
            provider_ref: "file:///kv-redis".into(),
            provider_id: ProviderId::new("kv-redis"),
            constraints,
        };
        expect![[r#"{"host_id":"NHOST","provider_ref":"file:///kv-redis","provider_id":"kv-redis","constraints":{"zone":"eu"}}"#]].assert_eq(&serde_json::to_string(&ack).unwrap());
    }
}
