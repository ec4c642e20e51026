//! A link's NATS settings, read from its config as wasmCloud v1's messaging provider reads
//! them (keys matched without regard to case): `subscriptions` (comma-separated, `subject` or
//! `subject|queue`), `cluster_uris` (comma-separated; the first is used), `client_jwt` and
//! `client_seed`.

use std::collections::HashMap;

use lattice_provider_sdk::{HostData, config_value};

/// Where and as whom a link's connection connects.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ConnectionSettings {
    pub(crate) url: String,
    pub(crate) jwt: Option<String>,
    pub(crate) seed: Option<String>,
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the seed.
        f.debug_struct("ConnectionSettings")
            .field("url", &self.url)
            .field("jwt", &self.jwt.as_ref().map(|_| "…"))
            .field("seed", &self.seed.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl ConnectionSettings {
    /// The lattice's own NATS, as the host data gives it.
    pub(crate) fn lattice(host_data: &HostData) -> Self {
        let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Self {
            url: host_data.nats_url().to_owned(),
            jwt: non_empty(&host_data.lattice_rpc_user_jwt),
            seed: non_empty(&host_data.lattice_rpc_user_seed),
        }
    }

    /// The settings a link's config asks for, or `None` when it names no server and no
    /// credentials (the lattice's connection then serves).
    pub(crate) fn from_link(config: &HashMap<String, String>, lattice: &Self) -> Option<Self> {
        let value = |key| config_value(config, key).map(str::trim).filter(|v| !v.is_empty());
        let url = value("cluster_uris").and_then(|uris| uris.split(',').map(str::trim).find(|u| !u.is_empty()));
        let (jwt, seed) = (value("client_jwt"), value("client_seed"));
        if url.is_none() && jwt.is_none() && seed.is_none() {
            return None;
        }
        Some(match url {
            Some(url) => Self {
                url: url.to_owned(),
                jwt: jwt.map(str::to_owned),
                seed: seed.map(str::to_owned),
            },
            // Credentials of its own on the lattice's server.
            None => Self {
                url: lattice.url.clone(),
                jwt: jwt.map(str::to_owned),
                seed: seed.map(str::to_owned),
            },
        })
    }

    /// Connects, authenticating with the JWT and seed (or the seed alone, as an nkey user).
    pub(crate) async fn connect(&self, name: &str) -> Result<async_nats::Client, String> {
        let mut options = async_nats::ConnectOptions::new().name(name);
        match (&self.jwt, &self.seed) {
            (Some(jwt), Some(seed)) => {
                let key = std::sync::Arc::new(
                    nkeys::KeyPair::from_seed(seed)
                        .map_err(|e| format!("client_seed is not an nkey seed: {e}; give the user's `SU…` seed"))?,
                );
                options = options.jwt(jwt.clone(), move |nonce| {
                    let key = std::sync::Arc::clone(&key);
                    async move { key.sign(&nonce).map_err(async_nats::AuthError::new) }
                });
            }
            (None, Some(seed)) => options = options.nkey(seed.clone()),
            (Some(_), None) => return Err("client_jwt needs client_seed to sign the server's nonce: give both".into()),
            (None, None) => {}
        }
        options
            .connect(self.url.as_str())
            .await
            .map_err(|e| format!("cannot connect to NATS at {}: {e}", self.url))
    }
}

/// One subscription of a link: a subject, in a queue group or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub(crate) subject: String,
    pub(crate) queue: Option<String>,
}

/// The link's `subscriptions`: `a.b, c.>|workers` → `a.b`, and `c.>` in queue group `workers`.
pub(crate) fn subscriptions(config: &HashMap<String, String>) -> Vec<Subscription> {
    config_value(config, "subscriptions")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| match entry.split_once('|') {
            Some((subject, queue)) if !queue.trim().is_empty() => Subscription {
                subject: subject.trim().to_owned(),
                queue: Some(queue.trim().to_owned()),
            },
            Some((subject, _)) => Subscription {
                subject: subject.trim().to_owned(),
                queue: None,
            },
            None => Subscription {
                subject: entry.to_owned(),
                queue: None,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn subscriptions_are_a_comma_list_with_optional_queues() {
        let subs = subscriptions(&map(&[("SUBSCRIPTIONS", " a.b , c.>|workers,, d| ")]));
        assert_eq!(
            subs,
            [
                Subscription {
                    subject: "a.b".into(),
                    queue: None
                },
                Subscription {
                    subject: "c.>".into(),
                    queue: Some("workers".into())
                },
                Subscription {
                    subject: "d".into(),
                    queue: None
                },
            ]
        );
        assert!(subscriptions(&map(&[])).is_empty());
    }

    #[test]
    fn a_link_without_server_or_credentials_uses_the_lattice() {
        let lattice = ConnectionSettings {
            url: "nats://127.0.0.1:4222".into(),
            jwt: None,
            seed: None,
        };
        assert_eq!(
            ConnectionSettings::from_link(&map(&[("subscriptions", "a")]), &lattice),
            None
        );
        let own = ConnectionSettings::from_link(
            &map(&[("cluster_uris", " nats://10.0.0.1:4222 , nats://10.0.0.2:4222")]),
            &lattice,
        )
        .unwrap();
        assert_eq!(own.url, "nats://10.0.0.1:4222");
        let creds = ConnectionSettings::from_link(&map(&[("client_seed", "SUABC")]), &lattice).unwrap();
        assert_eq!(creds.url, lattice.url);
        assert_eq!(creds.seed.as_deref(), Some("SUABC"));
        assert!(!format!("{creds:?}").contains("SUABC"));
    }
}
