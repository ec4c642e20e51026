//! Credentials for registries: given ones first (a host's `registry.put`, a
//! CLI's flags), then the user's Docker config file (`docker login`), else
//! anonymous. A credential's `Debug` never shows its secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

/// How to authenticate to one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// HTTP basic authentication (exchanged for a token when the registry wants one).
    Basic {
        /// The user name.
        username: String,
        /// The password or access token.
        password: String,
    },
    /// A bearer token sent as is.
    Bearer(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::Bearer(_) => f.debug_tuple("Bearer").field(&"<redacted>").finish(),
        }
    }
}

impl Credential {
    pub(crate) fn to_auth(&self) -> RegistryAuth {
        match self {
            Self::Basic { username, password } => RegistryAuth::Basic(username.clone(), password.clone()),
            Self::Bearer(token) => RegistryAuth::Bearer(token.clone()),
        }
    }
}

/// The registry part of a credential key: `https://index.docker.io/v1/` →
/// `index.docker.io`, `ghcr.io` → `ghcr.io`.
pub(crate) fn registry_key(key: &str) -> &str {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

/// Docker Hub goes by several names.
fn same_registry(a: &str, b: &str) -> bool {
    const HUB: [&str; 3] = ["docker.io", "index.docker.io", "registry-1.docker.io"];
    a.eq_ignore_ascii_case(b) || HUB.contains(&a) && HUB.contains(&b)
}

/// The credential in `map` for `registry`, under any spelling of its key.
pub(crate) fn lookup<'a>(map: &'a BTreeMap<String, Credential>, registry: &str) -> Option<&'a Credential> {
    map.iter()
        .find(|(key, _)| same_registry(registry_key(key), registry))
        .map(|(_, credential)| credential)
}

/// The Docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub(crate) fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// The largest Docker config file read.
const MAX_DOCKER_CONFIG: u64 = 1 << 20;

/// The credential for `registry` in the Docker config file at `path`, if any.
/// An unreadable or malformed file is reported and skipped: it must not stop
/// pulls that need no credentials.
pub(crate) fn from_docker_config(path: &Path, registry: &str) -> Option<Credential> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).ok()?;
    let mut text = Vec::new();
    if let Err(e) = file.take(MAX_DOCKER_CONFIG).read_to_end(&mut text) {
        tracing::warn!(path = %path.display(), error = %e, "cannot read the Docker config file; ignoring it");
        return None;
    }
    let config: DockerConfig = match serde_json::from_slice(&text) {
        Ok(config) => config,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the Docker config file is not valid JSON; ignoring it");
            return None;
        }
    };
    let entry = config
        .auths
        .iter()
        .find(|(key, _)| same_registry(registry_key(key), registry))
        .map(|(_, entry)| entry)?;
    entry.credential()
}

#[derive(serde::Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
}

#[derive(serde::Deserialize, Default)]
struct DockerAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    registrytoken: Option<String>,
}

impl DockerAuth {
    fn credential(&self) -> Option<Credential> {
        if let Some(token) = &self.registrytoken {
            return Some(Credential::Bearer(token.clone()));
        }
        if let (Some(username), Some(password)) = (&self.username, &self.password) {
            return Some(Credential::Basic {
                username: username.clone(),
                password: password.clone(),
            });
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(self.auth.as_deref()?.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (username, password) = text.split_once(':')?;
        Some(Credential::Basic {
            username: username.to_owned(),
            password: password.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_registries_by_host() {
        assert_eq!(registry_key("https://index.docker.io/v1/"), "index.docker.io");
        assert_eq!(registry_key("ghcr.io"), "ghcr.io");
        assert_eq!(registry_key("http://127.0.0.1:5000"), "127.0.0.1:5000");
        let mut map = BTreeMap::new();
        map.insert("docker.io".to_owned(), Credential::Bearer("t".into()));
        assert!(lookup(&map, "index.docker.io").is_some());
        assert!(lookup(&map, "ghcr.io").is_none());
    }

    #[test]
    fn docker_config_entries_are_read_in_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"ghcr.io":{{"username":"bob","password":"pw"}},"quay.io":{{"registrytoken":"tok"}}}}}}"#
            ),
        )
        .unwrap();
        assert_eq!(
            from_docker_config(&path, "index.docker.io"),
            Some(Credential::Basic {
                username: "alice".into(),
                password: "s3cret".into()
            })
        );
        assert_eq!(
            from_docker_config(&path, "ghcr.io"),
            Some(Credential::Basic {
                username: "bob".into(),
                password: "pw".into()
            })
        );
        assert_eq!(
            from_docker_config(&path, "quay.io"),
            Some(Credential::Bearer("tok".into()))
        );
        assert_eq!(from_docker_config(&path, "example.com"), None);
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(from_docker_config(&path, "ghcr.io"), None);
    }

    #[test]
    fn debug_never_shows_secrets() {
        let shown = format!(
            "{:?} {:?}",
            Credential::Basic {
                username: "u".into(),
                password: "hunter2".into()
            },
            Credential::Bearer("tok3n".into())
        );
        assert!(!shown.contains("hunter2") && !shown.contains("tok3n"), "{shown}");
    }
}
