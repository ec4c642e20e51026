//! How a host and a capability provider process talk outside the data plane, as wasmCloud v1
//! spells it: the [`HostData`] a host writes to a provider's stdin at start (base64 JSON and
//! CRLF), the provider-facing [`InterfaceLinkDefinition`] (config names resolved to values),
//! and the plain-JSON NATS subjects for links, health, config and shutdown
//! (`wasmbus.rpc.{lattice}.{provider}.…`). Calls themselves go over wRPC.
//!
//! Both ends use these types, the host to write and the provider SDK to read, so they agree by
//! construction; the JSON matches what upstream hosts send and upstream providers expect,
//! including the fields they require (`env_values` as an object, `link_definitions`).

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::id::{ComponentId, LinkName};

/// What a provider is started with, on its stdin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostData {
    /// The starting host's public key (`N…`).
    #[serde(default)]
    pub host_id: String,
    /// The lattice name, which prefixes every subject.
    #[serde(default)]
    pub lattice_rpc_prefix: String,
    /// Always `"default"` (a v1 remnant).
    #[serde(default)]
    pub link_name: String,
    /// User JWT for the provider's NATS connection, or empty.
    #[serde(default)]
    pub lattice_rpc_user_jwt: String,
    /// Nkey seed signing the nonce for [`Self::lattice_rpc_user_jwt`], or empty.
    #[serde(default)]
    pub lattice_rpc_user_seed: String,
    /// NATS URL of the lattice; empty means `nats://127.0.0.1:4222`.
    #[serde(default)]
    pub lattice_rpc_url: String,
    /// The provider's id from the start command (not a key, despite the name).
    #[serde(default)]
    pub provider_key: String,
    /// Environment values; upstream requires the field, as a JSON object.
    pub env_values: BTreeMap<String, String>,
    /// A fresh id for this start of the provider.
    #[serde(default)]
    pub instance_id: String,
    /// Links whose source or target is the provider, config resolved.
    pub link_definitions: Vec<InterfaceLinkDefinition>,
    /// Legacy; always empty.
    #[serde(default)]
    pub cluster_issuers: Vec<String>,
    /// The provider's named configs, merged in order.
    #[serde(default)]
    pub config: HashMap<String, String>,
    /// Secrets given to the provider.
    #[serde(default)]
    pub secrets: HashMap<String, SecretValue>,
    /// The host's curve public key (`X…`), the sender of sealed link secrets.
    #[serde(default)]
    pub host_xkey_public_key: String,
    /// The provider's own curve seed (`SX…`), fresh for each start; link puts go to its
    /// public key's subject.
    #[serde(default)]
    pub provider_xkey_private_key: String,
    /// The host's RPC timeout, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_rpc_timeout_ms: Option<u64>,
    /// Whether the host logs JSON; providers should do as the host does.
    #[serde(default)]
    pub structured_logging: bool,
    /// The level providers should log at: `error`, `warn`, `info`, `debug`, `trace` or
    /// `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    /// Where telemetry goes.
    #[serde(default)]
    pub otel_config: OtelConfig,
}

/// Telemetry settings handed to providers. Every field upstream providers require is always
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtelConfig {
    /// Whether traces, metrics and logs are exported (each may be overridden).
    #[serde(default)]
    pub enable_observability: bool,
    /// Overrides `enable_observability` for traces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_traces: Option<bool>,
    /// Overrides `enable_observability` for metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_metrics: Option<bool>,
    /// Overrides `enable_observability` for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_logs: Option<bool>,
    /// Base OTLP endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability_endpoint: Option<String>,
    /// OTLP endpoint of traces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces_endpoint: Option<String>,
    /// OTLP endpoint of metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_endpoint: Option<String>,
    /// OTLP endpoint of logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_endpoint: Option<String>,
    /// `Http` or `Grpc`.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// Extra CA certificates for the exporter.
    #[serde(default)]
    pub additional_ca_paths: Vec<String>,
    /// The level of spans to export.
    #[serde(default = "default_trace_level")]
    pub trace_level: String,
}

impl OtelConfig {
    /// Whether metrics are exported: `enable_metrics` when set, else `enable_observability`.
    #[must_use]
    pub fn metrics_enabled(&self) -> bool {
        self.enable_metrics.unwrap_or(self.enable_observability)
    }

    /// Whether traces are exported: `enable_traces` when set, else `enable_observability`.
    #[must_use]
    pub fn traces_enabled(&self) -> bool {
        self.enable_traces.unwrap_or(self.enable_observability)
    }

    /// Whether logs are exported: `enable_logs` when set, else `enable_observability`.
    #[must_use]
    pub fn logs_enabled(&self) -> bool {
        self.enable_logs.unwrap_or(self.enable_observability)
    }
}

fn default_protocol() -> String {
    "Http".to_owned()
}

fn default_trace_level() -> String {
    "info".to_owned()
}

impl Default for OtelConfig {
    fn default() -> Self {
        Self {
            enable_observability: false,
            enable_traces: None,
            enable_metrics: None,
            enable_logs: None,
            observability_endpoint: None,
            traces_endpoint: None,
            metrics_endpoint: None,
            logs_endpoint: None,
            protocol: default_protocol(),
            additional_ca_paths: Vec::new(),
            trace_level: default_trace_level(),
        }
    }
}

/// A secret's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value")]
pub enum SecretValue {
    /// Text.
    String(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// A link as a provider sees it: the config names of the control interface's link resolved
/// to the merged values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceLinkDefinition {
    /// The component or provider that makes the calls.
    pub source_id: ComponentId,
    /// The component or provider that serves them.
    pub target: ComponentId,
    /// The link's name.
    #[serde(default)]
    pub name: LinkName,
    /// e.g. `wasi`.
    pub wit_namespace: String,
    /// e.g. `keyvalue`.
    pub wit_package: String,
    /// e.g. `["store", "atomics"]`.
    pub interfaces: Vec<String>,
    /// The source's config for this link, merged.
    #[serde(default)]
    pub source_config: HashMap<String, String>,
    /// The target's config for this link, merged.
    #[serde(default)]
    pub target_config: HashMap<String, String>,
    /// Secrets for the source, sealed to the provider's curve key; `None` without secrets.
    #[serde(default)]
    pub source_secrets: Option<Vec<u8>>,
    /// Secrets for the target, sealed likewise.
    #[serde(default)]
    pub target_secrets: Option<Vec<u8>>,
}

/// A provider's answer to a health check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheckResponse {
    /// Whether the provider is well.
    #[serde(default)]
    pub healthy: bool,
    /// Why, if it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The body of a shutdown request: a provider ignores one meant for another host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShutdownRequest {
    /// The host asking.
    #[serde(default)]
    pub host_id: String,
}

/// Why provider start-up data could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostDataError {
    /// Stdin held nothing.
    #[error("stdin is empty: a provider is started by a wasmCloud host, which writes its host data there")]
    Empty,
    /// The line is not base64.
    #[error("host data on stdin is not base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// The decoded bytes are not host data JSON.
    #[error("host data on stdin is not valid: {0}")]
    Json(#[source] serde_json::Error),
}

impl HostData {
    /// The line a host writes to a provider's stdin: standard padded base64 of the JSON, then
    /// CRLF.
    ///
    /// # Panics
    ///
    /// Never: the JSON of string maps and strings always serialises.
    #[must_use]
    pub fn to_stdin_line(&self) -> String {
        let json = serde_json::to_vec(self).expect("host data serialises");
        let mut line = base64::engine::general_purpose::STANDARD.encode(json);
        line.push_str("\r\n");
        line
    }

    /// Reads the line a host wrote (surrounding whitespace ignored).
    ///
    /// # Errors
    ///
    /// When the line is empty, not base64 or not host data JSON.
    pub fn from_stdin_line(line: &str) -> Result<Self, HostDataError> {
        let line = line.trim();
        if line.is_empty() {
            return Err(HostDataError::Empty);
        }
        let json = base64::engine::general_purpose::STANDARD
            .decode(line)
            .map_err(HostDataError::Base64)?;
        serde_json::from_slice(&json).map_err(HostDataError::Json)
    }

    /// The NATS URL to connect to, the default when none was given.
    #[must_use]
    pub fn nats_url(&self) -> &str {
        if self.lattice_rpc_url.is_empty() {
            "nats://127.0.0.1:4222"
        } else {
            &self.lattice_rpc_url
        }
    }
}

/// The subjects of host ↔ provider messages (`wasmbus.rpc.{lattice}.{key}.…`).
pub mod subject {
    /// Link puts for a provider: `key` is its curve public key when the host gave it one
    /// (upstream v1.1+), else its id.
    #[must_use]
    pub fn link_put(lattice: &str, key: &str) -> String {
        format!("wasmbus.rpc.{lattice}.{key}.linkdefs.put")
    }

    /// Link deletions, sent to both the link's source and target ids.
    #[must_use]
    pub fn link_del(lattice: &str, id: &str) -> String {
        format!("wasmbus.rpc.{lattice}.{id}.linkdefs.del")
    }

    /// Health checks (request, empty body; reply [`super::HealthCheckResponse`]).
    #[must_use]
    pub fn health(lattice: &str, provider: &str) -> String {
        format!("wasmbus.rpc.{lattice}.{provider}.health")
    }

    /// Orderly shutdown (request, [`super::ShutdownRequest`]).
    #[must_use]
    pub fn shutdown(lattice: &str, provider: &str) -> String {
        format!("wasmbus.rpc.{lattice}.{provider}.default.shutdown")
    }

    /// The provider's merged named config, whenever it changes.
    #[must_use]
    pub fn config_update(lattice: &str, provider: &str) -> String {
        format!("wasmbus.rpc.{lattice}.{provider}.config.update")
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn minimal_host_data_has_what_upstream_requires() {
        let data = HostData {
            host_id: "NHOST".into(),
            lattice_rpc_prefix: "default".into(),
            link_name: "default".into(),
            provider_key: "kv".into(),
            ..HostData::default()
        };
        expect![[r#"{"host_id":"NHOST","lattice_rpc_prefix":"default","link_name":"default","lattice_rpc_user_jwt":"","lattice_rpc_user_seed":"","lattice_rpc_url":"","provider_key":"kv","env_values":{},"instance_id":"","link_definitions":[],"cluster_issuers":[],"config":{},"secrets":{},"host_xkey_public_key":"","provider_xkey_private_key":"","structured_logging":false,"otel_config":{"enable_observability":false,"protocol":"Http","additional_ca_paths":[],"trace_level":"info"}}"#]]
            .assert_eq(&serde_json::to_string(&data).unwrap());
    }

    #[test]
    fn stdin_line_round_trips_and_bad_lines_are_named() {
        let data = HostData {
            provider_key: "kv".into(),
            link_definitions: vec![InterfaceLinkDefinition {
                source_id: ComponentId::new("counter"),
                target: ComponentId::new("kv"),
                wit_namespace: "wasi".into(),
                wit_package: "keyvalue".into(),
                interfaces: vec!["store".into()],
                target_config: HashMap::from([("URL".into(), "redis://127.0.0.1:6379".into())]),
                ..InterfaceLinkDefinition::default()
            }],
            ..HostData::default()
        };
        let line = data.to_stdin_line();
        assert!(line.ends_with("\r\n"));
        assert_eq!(HostData::from_stdin_line(&line).unwrap(), data);
        assert!(matches!(HostData::from_stdin_line(" \r\n"), Err(HostDataError::Empty)));
        assert!(matches!(
            HostData::from_stdin_line("not base64!"),
            Err(HostDataError::Base64(_))
        ));
        let not_json = base64::engine::general_purpose::STANDARD.encode("{}");
        let err = HostData::from_stdin_line(&not_json).unwrap_err();
        assert!(err.to_string().contains("missing field `env_values`"), "{err}");
    }

    #[test]
    fn upstream_link_json_decodes() {
        let link: InterfaceLinkDefinition = serde_json::from_str(
            r#"{"source_id":"c","target":"p","wit_namespace":"wasi","wit_package":"keyvalue","interfaces":["store"],"source_config":{},"target_config":{"URL":"redis://x"},"source_secrets":null,"target_secrets":null}"#,
        )
        .unwrap();
        assert_eq!(link.name.as_str(), "default");
        assert_eq!(link.target_config["URL"], "redis://x");
    }

    #[test]
    fn subjects_follow_upstream() {
        assert_eq!(
            subject::link_put("default", "XKEY"),
            "wasmbus.rpc.default.XKEY.linkdefs.put"
        );
        assert_eq!(
            subject::link_del("default", "kv"),
            "wasmbus.rpc.default.kv.linkdefs.del"
        );
        assert_eq!(subject::health("l", "kv"), "wasmbus.rpc.l.kv.health");
        assert_eq!(subject::shutdown("l", "kv"), "wasmbus.rpc.l.kv.default.shutdown");
        assert_eq!(subject::config_update("l", "kv"), "wasmbus.rpc.l.kv.config.update");
    }
}
