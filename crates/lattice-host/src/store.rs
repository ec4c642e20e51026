//! Lattice state in JetStream key-value buckets, shared by every host of the
//! lattice: `LATTICEDATA_{lattice}` holds component specs (`COMPONENT_{id}`,
//! a reference and the links from that source) and claims (`CLAIMS_{key}`);
//! `CONFIGDATA_{lattice}` holds named config maps. [`LatticeStore`] reads
//! and writes them; [`crate::state`] keeps the watched copy each host acts on.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use futures::StreamExt as _;
use lattice_control_interface::{ComponentId, ConfigName, ConfigValues, Link};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// Key prefix of component (and provider) specs in `LATTICEDATA`.
pub(crate) const COMPONENT_PREFIX: &str = "COMPONENT_";
/// Key prefix of stored claims in `LATTICEDATA`.
pub(crate) const CLAIMS_PREFIX: &str = "CLAIMS_";

/// How often a read-modify-write of a spec is retried when another host
/// wrote the same key in between.
const UPDATE_ATTEMPTS: usize = 8;

/// A component's (or provider's) spec: its reference and the links it is the
/// source of. Stored as `COMPONENT_{id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ComponentSpec {
    #[serde(default)]
    pub(crate) url: String,
    #[serde(default)]
    pub(crate) links: Vec<Link>,
}

/// Claims as upstream stores them under `CLAIMS_{subject}`. Readers accept
/// the short JWT names, a numeric revision, and tags as an array or a
/// comma-joined string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) call_alias: Option<String>,
    #[serde(default, alias = "iss")]
    pub(crate) issuer: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default, alias = "rev", deserialize_with = "string_or_number")]
    pub(crate) revision: String,
    #[serde(default, alias = "sub")]
    pub(crate) subject: String,
    #[serde(default, deserialize_with = "list_or_comma_string")]
    pub(crate) tags: Vec<String>,
    #[serde(default)]
    pub(crate) version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) config_schema: Option<String>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn list_or_comma_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tags {
        List(Vec<String>),
        Joined(String),
        None(()),
    }
    Ok(match Tags::deserialize(d)? {
        Tags::List(tags) => tags,
        Tags::Joined(text) => text.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
        Tags::None(()) => Vec::new(),
    })
}

/// Why a store operation failed; the text goes into ctl replies.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("lattice store is unavailable: {0}")]
    Unavailable(String),
    #[error("stored value under `{key}` is not valid JSON: {message}")]
    Corrupt { key: String, message: String },
    #[error("key `{0}` cannot be stored: ids and config names may use only letters, digits and `-_=/.`")]
    InvalidKey(String),
    #[error("{0}")]
    Rejected(String),
}

/// Whether `key` is a valid KV key.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with('.')
        && !key.ends_with('.')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=' | '/' | '.'))
}

fn checked(key: String) -> Result<String, StoreError> {
    if valid_key(&key) {
        Ok(key)
    } else {
        Err(StoreError::InvalidKey(key))
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The two lattice buckets.
#[derive(Debug, Clone)]
pub(crate) struct LatticeStore {
    data: kv::Store,
    config: kv::Store,
    js: jetstream::Context,
}

/// Size limits of a bucket the host creates; `-1` is unlimited.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BucketLimits {
    pub(crate) max_bytes: i64,
    pub(crate) max_message_size: i32,
}

impl BucketLimits {
    /// No limits: the lattice's own buckets.
    pub(crate) const NONE: Self = Self {
        max_bytes: -1,
        max_message_size: -1,
    };
}

/// Opens a bucket, creating it (1 replica, `limits`) when missing.
///
/// The bucket's stream is created by hand, with the settings the key-value
/// convention prescribes, rather than through `create_key_value`: async-nats
/// 0.49 first asks the server for account info there, and cannot decode the
/// reply of nats-server 2.9 (Debian's package, the one `wash up` finds on
/// most machines). Opening an existing bucket works on every version.
pub(crate) async fn open_bucket(js: &jetstream::Context, bucket: String, limits: BucketLimits) -> Result<kv::Store> {
    if let Ok(store) = js.get_key_value(bucket.clone()).await {
        return Ok(store);
    }
    let stream = jetstream::stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        discard: jetstream::stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        num_replicas: 1,
        duplicate_window: Duration::from_secs(120),
        max_bytes: limits.max_bytes,
        max_message_size: limits.max_message_size,
        ..jetstream::stream::Config::default()
    };
    let created = js.get_or_create_stream(stream).await;
    match js.get_key_value(bucket.clone()).await {
        Ok(store) => Ok(store),
        Err(open) => Err(match created {
            Err(create) => Error::with_source(ErrorKind::Bucket { bucket }, create),
            Ok(_) => Error::with_source(ErrorKind::Bucket { bucket }, open),
        }),
    }
}

impl LatticeStore {
    /// Opens (creating if missing) `LATTICEDATA_{lattice}` and
    /// `CONFIGDATA_{lattice}`.
    pub(crate) async fn open(nats: async_nats::Client, lattice: &str, js_domain: Option<&str>) -> Result<Self> {
        let mut js = match js_domain {
            Some(domain) => jetstream::with_domain(nats, domain),
            None => jetstream::new(nats),
        };
        js.set_timeout(Duration::from_secs(5));
        let (data, config) = tokio::try_join!(
            open_bucket(&js, format!("LATTICEDATA_{lattice}"), BucketLimits::NONE),
            open_bucket(&js, format!("CONFIGDATA_{lattice}"), BucketLimits::NONE),
        )?;
        Ok(Self { data, config, js })
    }

    /// The JetStream context of the lattice (its domain applied), for other buckets.
    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// The lattice data bucket, for watching.
    pub(crate) fn data_bucket(&self) -> &kv::Store {
        &self.data
    }

    /// The config bucket, for watching.
    pub(crate) fn config_bucket(&self) -> &kv::Store {
        &self.config
    }

    /// Reads a spec straight from the bucket.
    pub(crate) async fn component_spec(&self, id: &ComponentId) -> Result<Option<ComponentSpec>, StoreError> {
        let key = checked(format!("{COMPONENT_PREFIX}{id}"))?;
        match self.data.get(key.clone()).await.map_err(unavailable)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    key,
                    message: e.to_string(),
                }),
        }
    }

    /// Changes the spec of `id` with `change` (which gets the current spec,
    /// or a default one) and writes it back unless `change` fails; retried
    /// when another host wrote the key in between. Returns what `change`
    /// returned.
    pub(crate) async fn update_spec<T>(
        &self,
        id: &ComponentId,
        mut change: impl FnMut(&mut ComponentSpec) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let key = checked(format!("{COMPONENT_PREFIX}{id}"))?;
        let mut last_error = None;
        for _ in 0..UPDATE_ATTEMPTS {
            let entry = self.data.entry(key.clone()).await.map_err(unavailable)?;
            let (mut spec, revision) = match entry {
                Some(entry) if entry.operation == kv::Operation::Put => {
                    let spec = serde_json::from_slice(&entry.value).map_err(|e| StoreError::Corrupt {
                        key: key.clone(),
                        message: e.to_string(),
                    })?;
                    (spec, Some(entry.revision))
                }
                Some(entry) => (ComponentSpec::default(), Some(entry.revision)),
                None => (ComponentSpec::default(), None),
            };
            let out = change(&mut spec)?;
            let bytes = serde_json::to_vec(&spec).map_err(unavailable)?;
            let written = match revision {
                Some(revision) => self
                    .data
                    .update(&key, bytes.into(), revision)
                    .await
                    .map(drop)
                    .map_err(unavailable),
                None => self
                    .data
                    .create(&key, bytes.into())
                    .await
                    .map(drop)
                    .map_err(unavailable),
            };
            match written {
                Ok(()) => return Ok(out),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| StoreError::Unavailable("update kept conflicting".to_owned())))
    }

    /// Stores the claims of a signed component under `CLAIMS_{subject}`.
    pub(crate) async fn put_claims(&self, claims: &StoredClaims) -> Result<(), StoreError> {
        let key = checked(format!("{CLAIMS_PREFIX}{}", claims.subject))?;
        let bytes = serde_json::to_vec(claims).map_err(unavailable)?;
        self.data.put(key, bytes.into()).await.map_err(unavailable)?;
        Ok(())
    }

    /// Reads a named config straight from the bucket.
    pub(crate) async fn config(&self, name: &ConfigName) -> Result<Option<ConfigValues>, StoreError> {
        let key = checked(name.to_string())?;
        match self.config.get(key.clone()).await.map_err(unavailable)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    key,
                    message: e.to_string(),
                }),
        }
    }

    /// Writes a named config.
    pub(crate) async fn put_config(&self, name: &ConfigName, values: &ConfigValues) -> Result<(), StoreError> {
        let key = checked(name.to_string())?;
        let bytes = serde_json::to_vec(values).map_err(unavailable)?;
        self.config.put(key, bytes.into()).await.map_err(unavailable)?;
        Ok(())
    }

    /// Purges a named config.
    pub(crate) async fn delete_config(&self, name: &ConfigName) -> Result<(), StoreError> {
        let key = checked(name.to_string())?;
        self.config.purge(key).await.map_err(unavailable)?;
        Ok(())
    }
}

impl LatticeStore {
    /// Every spec in the bucket, read now (not from the watched copy, so a
    /// write through any host is seen at once), ordered by id.
    pub(crate) async fn component_specs(&self) -> Result<Vec<(ComponentId, ComponentSpec)>, StoreError> {
        let mut specs = Vec::new();
        for (key, value) in prefixed(&self.data, COMPONENT_PREFIX).await? {
            match serde_json::from_slice(&value) {
                Ok(spec) => specs.push((ComponentId::new(key), spec)),
                Err(e) => tracing::warn!(%key, error = %e, "skipping a component spec that does not decode"),
            }
        }
        Ok(specs)
    }

    /// Every stored claims entry, read now, ordered by subject.
    pub(crate) async fn all_claims(&self) -> Result<Vec<StoredClaims>, StoreError> {
        let mut claims = Vec::new();
        for (key, value) in prefixed(&self.data, CLAIMS_PREFIX).await? {
            match serde_json::from_slice(&value) {
                Ok(entry) => claims.push(entry),
                Err(e) => tracing::warn!(%key, error = %e, "skipping claims that do not decode"),
            }
        }
        Ok(claims)
    }
}

/// The current values of the keys starting with `prefix`, the prefix
/// stripped, ordered by key.
async fn prefixed(bucket: &kv::Store, prefix: &str) -> Result<Vec<(String, bytes::Bytes)>, StoreError> {
    let mut keys = bucket.keys().await.map_err(unavailable)?;
    let mut wanted = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(unavailable)?;
        if key.starts_with(prefix) {
            wanted.push(key);
        }
    }
    wanted.sort();
    let mut values = Vec::new();
    for key in wanted {
        if let Some(value) = bucket.get(key.clone()).await.map_err(unavailable)? {
            values.push((key[prefix.len()..].to_owned(), value));
        }
    }
    Ok(values)
}

/// Every current entry of a bucket, for the initial load.
pub(crate) async fn snapshot(bucket: &kv::Store) -> Result<Vec<kv::Entry>, StoreError> {
    let mut keys = bucket.keys().await.map_err(unavailable)?;
    let mut entries = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(unavailable)?;
        if let Some(entry) = bucket.entry(key).await.map_err(unavailable)? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn spec_json_matches_upstream() {
        let spec = ComponentSpec {
            url: "file:///hello.wasm".into(),
            links: vec![Link {
                source_id: ComponentId::new("http-server"),
                target: ComponentId::new("hello"),
                wit_namespace: "wasi".into(),
                wit_package: "http".into(),
                interfaces: vec!["incoming-handler".into()],
                ..Link::default()
            }],
        };
        expect![[r#"{"url":"file:///hello.wasm","links":[{"source_id":"http-server","target":"hello","name":"default","wit_namespace":"wasi","wit_package":"http","interfaces":["incoming-handler"],"source_config":[],"target_config":[]}]}"#]]
            .assert_eq(&serde_json::to_string(&spec).unwrap());
    }

    #[test]
    fn claims_read_upstream_spellings() {
        let claims: StoredClaims = serde_json::from_str(
            r#"{"call_alias":"","iss":"AACC","name":"hello","rev":3,"sub":"MMOD","tags":"a,b","version":"1.0"}"#,
        )
        .unwrap();
        assert_eq!(claims.issuer, "AACC");
        assert_eq!(claims.subject, "MMOD");
        assert_eq!(claims.revision, "3");
        assert_eq!(claims.tags, ["a", "b"]);
        let claims: StoredClaims = serde_json::from_str(
            r#"{"issuer":"A","subject":"M","revision":"1","tags":["x"],"name":"n","version":"v"}"#,
        )
        .unwrap();
        assert_eq!(claims.tags, ["x"]);
        let written = serde_json::to_string(&claims).unwrap();
        expect![[r#"{"issuer":"A","name":"n","revision":"1","subject":"M","tags":["x"],"version":"v"}"#]]
            .assert_eq(&written);
    }

    #[test]
    fn kv_keys_are_checked() {
        assert!(valid_key("COMPONENT_http-hello"));
        assert!(!valid_key("COMPONENT_a b"));
        assert!(!valid_key("COMPONENT_*"));
        assert!(!valid_key(""));
    }
}
