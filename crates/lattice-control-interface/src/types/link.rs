//! Links between components and providers, as the control interface carries them.

use serde::{Deserialize, Serialize};

use crate::id::{ComponentId, ConfigName, LinkName};

/// A link: calls from `source_id` to the named WIT interfaces go to `target`.
///
/// Identity is (`source_id`, `wit_namespace`, `wit_package`, `name`). The
/// config fields are **names** of configurations here; the provider-facing
/// form carries resolved values instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The component or provider that makes the calls.
    pub source_id: ComponentId,
    /// The component or provider that serves them.
    pub target: ComponentId,
    /// Tells apart several links of one source to the same package.
    #[serde(default)]
    pub name: LinkName,
    /// e.g. `wasi`.
    pub wit_namespace: String,
    /// e.g. `keyvalue`.
    pub wit_package: String,
    /// e.g. `["store", "atomics"]`.
    #[serde(default)]
    pub interfaces: Vec<String>,
    /// Configuration names given to the source for this link.
    #[serde(default)]
    pub source_config: Vec<ConfigName>,
    /// Configuration names given to the target for this link.
    #[serde(default)]
    pub target_config: Vec<ConfigName>,
}

/// Body of `link.del`: identifies a link by source, package and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteInterfaceLinkDefinitionRequest {
    /// The link's source.
    pub source_id: ComponentId,
    /// The link's name; `"default"` when absent.
    #[serde(default)]
    pub name: LinkName,
    /// The link's WIT namespace.
    pub wit_namespace: String,
    /// The link's WIT package.
    pub wit_package: String,
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn link_json_carries_config_names() {
        let link = Link {
            source_id: ComponentId::new("http-hello"),
            target: ComponentId::new("kv-redis"),
            name: LinkName::default_name(),
            wit_namespace: "wasi".into(),
            wit_package: "keyvalue".into(),
            interfaces: vec!["store".into(), "atomics".into()],
            source_config: vec![ConfigName::new("src-cfg")],
            target_config: vec![ConfigName::new("redis-url"), ConfigName::new("SECRET_pw")],
        };
        expect![[r#"
            {
              "source_id": "http-hello",
              "target": "kv-redis",
              "name": "default",
              "wit_namespace": "wasi",
              "wit_package": "keyvalue",
              "interfaces": [
                "store",
                "atomics"
              ],
              "source_config": [
                "src-cfg"
              ],
              "target_config": [
                "redis-url",
                "SECRET_pw"
              ]
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&link).unwrap());
    }

    #[test]
    fn decodes_a_link_with_defaults() {
        let link: Link = serde_json::from_str(
            r#"{"source_id":"a","target":"b","wit_namespace":"wasi","wit_package":"http","interfaces":["outgoing-handler"]}"#,
        )
        .unwrap();
        assert_eq!(link.name, "default");
        assert!(link.source_config.is_empty() && link.target_config.is_empty());
    }

    #[test]
    fn delete_link_json() {
        let request = DeleteInterfaceLinkDefinitionRequest {
            source_id: ComponentId::new("http-hello"),
            name: LinkName::new("cache"),
            wit_namespace: "wasi".into(),
            wit_package: "keyvalue".into(),
        };
        expect![[r#"{"source_id":"http-hello","name":"cache","wit_namespace":"wasi","wit_package":"keyvalue"}"#]]
            .assert_eq(&serde_json::to_string(&request).unwrap());
        let unnamed: DeleteInterfaceLinkDefinitionRequest =
            serde_json::from_str(r#"{"source_id":"http-hello","wit_namespace":"wasi","wit_package":"keyvalue"}"#)
                .unwrap();
        assert_eq!(unnamed.name, "default");
    }
}
