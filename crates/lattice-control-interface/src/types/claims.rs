//! `claims.get` reply entries: stringly typed maps with short and long keys.
//!
//! Hosts answer `claims.get` with one flat string map per signed component or
//! provider they know. Upstream writes both the JWT short keys (`iss`, `sub`,
//! `rev`) and long keys (`issuer`, `subject`, `revision`) for backward
//! compatibility, so readers here accept either and writers write both.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One entry of a `claims.get` reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClaimsEntry(pub BTreeMap<String, String>);

impl ClaimsEntry {
    /// A raw value by key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn either(&self, long: &str, short: &str) -> Option<&str> {
        self.get(long).or_else(|| self.get(short))
    }

    /// The subject's public key (`M…` for components, `V…` for providers).
    pub fn subject(&self) -> Option<&str> {
        self.either("subject", "sub")
    }

    /// The issuer's (account's) public key.
    pub fn issuer(&self) -> Option<&str> {
        self.either("issuer", "iss")
    }

    /// The declared name.
    pub fn name(&self) -> Option<&str> {
        self.get("name")
    }

    /// The revision, if present and numeric.
    pub fn revision(&self) -> Option<i32> {
        self.either("revision", "rev")?.parse().ok()
    }

    /// The human-readable version.
    pub fn version(&self) -> Option<&str> {
        self.get("version")
    }

    /// The component's tags (comma-joined on the wire); empty for providers.
    pub fn tags(&self) -> Vec<&str> {
        self.get("tags")
            .map(|t| t.split(',').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }
}

/// A component's claims, as a host turns them into a [`ClaimsEntry`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ComponentClaims {
    /// The subject (the component's `M…` key).
    pub subject: String,
    /// The issuer (account `A…` key).
    pub issuer: String,
    /// The declared name.
    pub name: Option<String>,
    /// The call alias.
    pub call_alias: Option<String>,
    /// The revision.
    pub revision: Option<i32>,
    /// The human-readable version.
    pub version: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
}

/// A provider's claims, as a host turns them into a [`ClaimsEntry`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderClaims {
    /// The subject (the provider's `V…` key).
    pub subject: String,
    /// The issuer (account `A…` key).
    pub issuer: String,
    /// The declared name.
    pub name: Option<String>,
    /// The revision.
    pub revision: Option<i32>,
    /// The human-readable version.
    pub version: Option<String>,
    /// The JSON schema of the provider's configuration, if it declares one.
    pub config_schema: Option<String>,
}

fn insert_both(map: &mut BTreeMap<String, String>, short: &str, long: &str, value: &str) {
    map.insert(short.to_owned(), value.to_owned());
    map.insert(long.to_owned(), value.to_owned());
}

impl From<ComponentClaims> for ClaimsEntry {
    /// Missing optional claims become empty strings (and a revision of `0`),
    /// as upstream writes them.
    fn from(c: ComponentClaims) -> Self {
        let mut map = BTreeMap::new();
        insert_both(&mut map, "iss", "issuer", &c.issuer);
        insert_both(&mut map, "sub", "subject", &c.subject);
        insert_both(&mut map, "rev", "revision", &c.revision.unwrap_or(0).to_string());
        map.insert("name".into(), c.name.unwrap_or_default());
        map.insert("call_alias".into(), c.call_alias.unwrap_or_default());
        map.insert("version".into(), c.version.unwrap_or_default());
        map.insert("tags".into(), c.tags.join(","));
        Self(map)
    }
}

impl From<ProviderClaims> for ClaimsEntry {
    /// Missing optional claims become empty strings (and a revision of `0`),
    /// `config_schema` included, as upstream writes them.
    fn from(p: ProviderClaims) -> Self {
        let mut map = BTreeMap::new();
        insert_both(&mut map, "iss", "issuer", &p.issuer);
        insert_both(&mut map, "sub", "subject", &p.subject);
        insert_both(&mut map, "rev", "revision", &p.revision.unwrap_or(0).to_string());
        map.insert("name".into(), p.name.unwrap_or_default());
        map.insert("version".into(), p.version.unwrap_or_default());
        map.insert("config_schema".into(), p.config_schema.unwrap_or_default());
        Self(map)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn component_claims_entry_json() {
        let entry = ClaimsEntry::from(ComponentClaims {
            subject: "MCOMPONENT".into(),
            issuer: "AACCOUNT".into(),
            name: Some("hello".into()),
            call_alias: None,
            revision: Some(2),
            version: Some("0.1.0".into()),
            tags: vec!["wasmcloud.com/experimental".into(), "web".into()],
        });
        expect![[r#"
            {
              "call_alias": "",
              "iss": "AACCOUNT",
              "issuer": "AACCOUNT",
              "name": "hello",
              "rev": "2",
              "revision": "2",
              "sub": "MCOMPONENT",
              "subject": "MCOMPONENT",
              "tags": "wasmcloud.com/experimental,web",
              "version": "0.1.0"
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&entry).unwrap());
    }

    #[test]
    fn provider_claims_entry_json() {
        let entry = ClaimsEntry::from(ProviderClaims {
            subject: "VPROVIDER".into(),
            issuer: "AACCOUNT".into(),
            name: Some("redis".into()),
            revision: None,
            version: Some("0.2.0".into()),
            config_schema: None,
        });
        expect![[r#"
            {
              "config_schema": "",
              "iss": "AACCOUNT",
              "issuer": "AACCOUNT",
              "name": "redis",
              "rev": "0",
              "revision": "0",
              "sub": "VPROVIDER",
              "subject": "VPROVIDER",
              "version": "0.2.0"
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&entry).unwrap());
    }

    #[test]
    fn reads_short_or_long_keys() {
        let short: ClaimsEntry = serde_json::from_str(r#"{"iss":"A","sub":"M","rev":"7","tags":"a,b"}"#).unwrap();
        assert_eq!(short.issuer(), Some("A"));
        assert_eq!(short.subject(), Some("M"));
        assert_eq!(short.revision(), Some(7));
        assert_eq!(short.tags(), ["a", "b"]);
        let long: ClaimsEntry =
            serde_json::from_str(r#"{"issuer":"A","subject":"M","revision":"x","tags":""}"#).unwrap();
        assert_eq!(long.subject(), Some("M"));
        assert_eq!(long.revision(), None);
        assert!(long.tags().is_empty());
    }
}
