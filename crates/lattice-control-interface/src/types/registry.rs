//! Registry credentials pushed to every host with `registry.put`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Credentials for one registry. Note the camelCase `registryType` on the wire.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryCredential {
    /// User name for basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password for basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Bearer token, instead of a user name and password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The kind of registry; `"oci"` unless said otherwise.
    #[serde(rename = "registryType", default = "default_registry_type")]
    pub registry_type: String,
}

fn default_registry_type() -> String {
    "oci".to_owned()
}

impl Default for RegistryCredential {
    fn default() -> Self {
        Self {
            username: None,
            password: None,
            token: None,
            registry_type: default_registry_type(),
        }
    }
}

// Hand-written so that logging a credential never prints the secret parts.
impl fmt::Debug for RegistryCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("RegistryCredential")
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("token", &redact(&self.token))
            .field("registry_type", &self.registry_type)
            .finish()
    }
}

/// Body of `registry.put`: credentials keyed by registry host (e.g. `ghcr.io`).
pub type RegistryCredentialMap = BTreeMap<String, RegistryCredential>;

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn registry_json_uses_camel_case_type() {
        let map = RegistryCredentialMap::from([
            (
                "ghcr.io".to_owned(),
                RegistryCredential {
                    username: Some("me".into()),
                    password: Some("hunter2".into()),
                    token: None,
                    registry_type: "oci".into(),
                },
            ),
            (
                "registry.local:5000".to_owned(),
                RegistryCredential {
                    token: Some("t0k3n".into()),
                    ..RegistryCredential::default()
                },
            ),
        ]);
        expect![[r#"
            {
              "ghcr.io": {
                "username": "me",
                "password": "hunter2",
                "registryType": "oci"
              },
              "registry.local:5000": {
                "token": "t0k3n",
                "registryType": "oci"
              }
            }"#]]
        .assert_eq(&serde_json::to_string_pretty(&map).unwrap());
    }

    #[test]
    fn registry_type_defaults_to_oci() {
        let cred: RegistryCredential = serde_json::from_str(r#"{"username":"me"}"#).unwrap();
        assert_eq!(cred.registry_type, "oci");
    }

    #[test]
    fn debug_redacts_secrets() {
        let cred = RegistryCredential {
            password: Some("hunter2".into()),
            token: Some("t0k3n".into()),
            ..RegistryCredential::default()
        };
        let text = format!("{cred:?}");
        assert!(!text.contains("hunter2") && !text.contains("t0k3n"), "{text}");
    }
}
