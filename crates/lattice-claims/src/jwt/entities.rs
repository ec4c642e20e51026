//! The `wascap` metadata carried by each kind of token, and which key types may issue and own it.
//!
//! Field names and their omission rules follow wascap 0.16 so tokens round-trip byte for
//! byte with upstream: optional component fields are omitted when unset, while the
//! provider's `name` and the account-like `name`/`valid_signers` are written as `null`.

use std::collections::BTreeMap;

use nkeys::KeyPairType;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// Metadata of one kind of claims: how it is named and which keys may sign and own it.
pub trait WascapEntity: Serialize + DeserializeOwned + Clone {
    /// A display name; entities without one get a placeholder such as `Anonymous`.
    fn name(&self) -> String;
    /// The key type that must sign (`iss`) tokens carrying this metadata.
    fn issuer_kind() -> KeyPairType;
    /// The key type of the entity (`sub`) tokens carrying this metadata describe.
    fn subject_kind() -> KeyPairType;
}

/// Metadata of a WebAssembly component (formerly "actor"), embedded in its binary.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Component {
    /// A descriptive name, without version or key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Uppercase hex SHA-256 of the binary with every claims section stripped.
    #[serde(rename = "hash", default)]
    pub module_hash: String,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// A monotonically increasing revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<i32>,
    /// A human-friendly version string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// A code-friendly alias usable instead of the public key (legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_alias: Option<String>,
    /// Whether the module is a capability provider (legacy; always false for components).
    #[serde(rename = "prov", default)]
    pub provider: bool,
}

impl WascapEntity for Component {
    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "Anonymous".to_string())
    }
    fn issuer_kind() -> KeyPairType {
        KeyPairType::Account
    }
    fn subject_kind() -> KeyPairType {
        KeyPairType::Module
    }
}

/// Metadata of a capability provider, carried in its provider archive.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CapabilityProvider {
    /// A descriptive name (written as `null` when unset, like upstream).
    #[serde(default)]
    pub name: Option<String>,
    /// Who makes the provider, e.g. `wasmCloud`.
    #[serde(default)]
    pub vendor: String,
    /// A monotonically increasing revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<i32>,
    /// A human-friendly version string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// Uppercase hex SHA-256 of each target's binary, keyed by target (e.g. `x86_64-linux`).
    #[serde(default)]
    pub target_hashes: BTreeMap<String, String>,
    /// A JSON schema for the provider's link configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_schema: Option<serde_json::Value>,
}

impl WascapEntity for CapabilityProvider {
    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "Unnamed Provider".to_string())
    }
    fn issuer_kind() -> KeyPairType {
        KeyPairType::Account
    }
    fn subject_kind() -> KeyPairType {
        KeyPairType::Service
    }
}

/// Metadata of an account, the key that signs components and providers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Account {
    /// A descriptive name.
    #[serde(default)]
    pub name: Option<String>,
    /// Further account public keys that may sign on this account's behalf.
    #[serde(default)]
    pub valid_signers: Option<Vec<String>>,
}

impl WascapEntity for Account {
    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "Anonymous".to_string())
    }
    fn issuer_kind() -> KeyPairType {
        KeyPairType::Operator
    }
    fn subject_kind() -> KeyPairType {
        KeyPairType::Account
    }
}

/// Metadata of an operator, the root key that signs accounts; operators sign themselves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Operator {
    /// A descriptive name.
    #[serde(default)]
    pub name: Option<String>,
    /// Further operator public keys that may sign accounts on this operator's behalf.
    #[serde(default)]
    pub valid_signers: Option<Vec<String>>,
}

impl WascapEntity for Operator {
    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "Anonymous".to_string())
    }
    fn issuer_kind() -> KeyPairType {
        KeyPairType::Operator
    }
    fn subject_kind() -> KeyPairType {
        KeyPairType::Operator
    }
}

/// Metadata of a cluster (legacy issuer of host identities); clusters sign themselves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cluster {
    /// A descriptive name.
    #[serde(default)]
    pub name: Option<String>,
    /// Further cluster public keys that may sign on this cluster's behalf.
    #[serde(default)]
    pub valid_signers: Option<Vec<String>>,
}

impl WascapEntity for Cluster {
    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "Anonymous Cluster".to_string())
    }
    fn issuer_kind() -> KeyPairType {
        KeyPairType::Cluster
    }
    fn subject_kind() -> KeyPairType {
        KeyPairType::Cluster
    }
}

/// Metadata of a host: its own token, issued by a (usually throwaway) account for its server key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Host {
    /// A descriptive name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The host's labels, e.g. `{"self_signed": "true"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

impl WascapEntity for Host {
    fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| "Anonymous".to_string())
    }
    fn issuer_kind() -> KeyPairType {
        KeyPairType::Account
    }
    fn subject_kind() -> KeyPairType {
        KeyPairType::Server
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_omits_unset_fields_and_defaults_prov() {
        let c = Component {
            module_hash: "AB".into(),
            ..Component::default()
        };
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"hash":"AB","prov":false}"#);
        let back: Component = serde_json::from_str(r#"{"hash":"AB"}"#).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn legacy_caps_are_ignored() {
        let c: Component = serde_json::from_str(r#"{"name":"x","hash":"","caps":["wasmcloud:httpserver"]}"#).unwrap();
        assert_eq!(c.name.as_deref(), Some("x"));
    }

    #[test]
    fn account_like_entities_write_nulls_like_upstream() {
        assert_eq!(
            serde_json::to_string(&Account::default()).unwrap(),
            r#"{"name":null,"valid_signers":null}"#
        );
        assert_eq!(
            serde_json::to_string(&CapabilityProvider::default()).unwrap(),
            r#"{"name":null,"vendor":"","target_hashes":{}}"#
        );
    }

    #[test]
    fn names_fall_back_to_placeholders() {
        assert_eq!(Component::default().name(), "Anonymous");
        assert_eq!(CapabilityProvider::default().name(), "Unnamed Provider");
        assert_eq!(Cluster::default().name(), "Anonymous Cluster");
        let host = Host {
            name: Some("h1".into()),
            labels: None,
        };
        assert_eq!(WascapEntity::name(&host), "h1");
    }
}
