//! The policy service hook, as wasmCloud v1 hosts have it: with a policy topic
//! configured, the host asks a policy service over NATS before it starts a
//! component or a provider, and starts it only when the answer permits it. No
//! answer within the timeout, or an answer that does not decode, is a denial:
//! a host that cannot ask does not guess. Without a topic every start is
//! permitted. Decisions are cached per request, as upstream caches them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The policy service of one host: where to ask, how long to wait, and what it
/// decided so far.
#[derive(Debug)]
pub(crate) struct Policy {
    nats: async_nats::Client,
    topic: Option<String>,
    timeout: Duration,
    /// Decisions by request (kind and body, as sent).
    decided: Mutex<HashMap<String, Decision>>,
}

/// What is to be started, as the policy request's `kind` and `request` say it.
#[derive(Debug)]
pub(crate) enum Start<'a> {
    Component {
        id: &'a str,
        image_ref: &'a str,
        max_instances: u32,
        annotations: &'a BTreeMap<String, String>,
        claims: Option<Claims<'a>>,
    },
    Provider {
        id: &'a str,
        image_ref: &'a str,
        annotations: &'a BTreeMap<String, String>,
        claims: Option<Claims<'a>>,
    },
}

/// The claims of what is to be started, as the policy request carries them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Claims<'a> {
    public_key: &'a str,
    issuer: &'a str,
    issued_at: u64,
    expires_at: Option<u64>,
}

impl<'a, T> From<&'a wascap::jwt::Claims<T>> for Claims<'a> {
    fn from(claims: &'a wascap::jwt::Claims<T>) -> Self {
        Self {
            public_key: &claims.subject,
            issuer: &claims.issuer,
            issued_at: claims.issued_at,
            expires_at: claims.expires,
        }
    }
}

impl Claims<'_> {
    fn to_json(self) -> Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        json!({
            "publicKey": self.public_key,
            "issuer": self.issuer,
            "issuedAt": self.issued_at.to_string(),
            "expiresAt": self.expires_at,
            "expired": self.expires_at.is_some_and(|at| at <= now),
        })
    }
}

/// The host as the policy request describes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HostInfo<'a> {
    pub(crate) public_key: &'a str,
    pub(crate) lattice: &'a str,
    pub(crate) labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Decision {
    permitted: bool,
    #[serde(default)]
    message: Option<String>,
}

impl Policy {
    pub(crate) fn new(nats: async_nats::Client, topic: Option<String>, timeout: Duration) -> Self {
        Self {
            nats,
            topic: topic.filter(|t| !t.trim().is_empty()),
            timeout,
            decided: Mutex::default(),
        }
    }

    /// Whether a policy service is asked at all.
    pub(crate) fn is_active(&self) -> bool {
        self.topic.is_some()
    }

    /// Asks whether `start` may happen; `Err` says why not, in the words an
    /// operator sees in the failure event.
    pub(crate) async fn check(&self, host: &HostInfo<'_>, start: &Start<'_>) -> Result<(), String> {
        let Some(topic) = &self.topic else {
            return Ok(());
        };
        let (kind, body, what) = start.describe();
        let key = format!("{kind} {body}");
        let cached = self
            .decided
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let decision = match cached {
            Some(decision) => decision,
            None => {
                let decision = self
                    .ask(topic, kind, body, host)
                    .await
                    .map_err(|why| format!("Policy denied request to {what}: the policy service on `{topic}` {why}"))?;
                self.decided
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key, decision.clone());
                decision
            }
        };
        if decision.permitted {
            Ok(())
        } else {
            let message = decision.message.unwrap_or_else(|| "no reason given".to_owned());
            Err(format!("Policy denied request to {what}: {message}"))
        }
    }

    async fn ask(&self, topic: &str, kind: &str, body: Value, host: &HostInfo<'_>) -> Result<Decision, String> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let request = json!({
            "requestId": request_id,
            "kind": kind,
            "version": "v1",
            "request": body,
            "host": host,
        });
        let payload = serde_json::to_vec(&request).map_err(|e| format!("could not be asked: {e}"))?;
        let answer = tokio::time::timeout(self.timeout, self.nats.request(topic.to_owned(), payload.into()))
            .await
            .map_err(|_| format!("did not answer within {:?}", self.timeout))?
            .map_err(|e| format!("could not be reached: {e}"))?;
        serde_json::from_slice::<Decision>(&answer.payload).map_err(|e| {
            format!("answered something that is not a decision ({e}): answer with {{\"permitted\": bool}}")
        })
    }
}

impl Start<'_> {
    /// The request's `kind`, its body, and what is being done, for messages.
    fn describe(&self) -> (&'static str, Value, String) {
        match self {
            Self::Component {
                id,
                image_ref,
                max_instances,
                annotations,
                claims,
            } => (
                "startComponent",
                json!({
                    "componentId": id,
                    "imageRef": image_ref,
                    "maxInstances": max_instances,
                    "annotations": annotations,
                    "claims": claims.map(Claims::to_json),
                }),
                format!("scale component `{id}`"),
            ),
            Self::Provider {
                id,
                image_ref,
                annotations,
                claims,
            } => (
                "startProvider",
                json!({
                    "providerId": id,
                    "imageRef": image_ref,
                    "annotations": annotations,
                    "claims": claims.map(Claims::to_json),
                }),
                format!("start provider `{id}`"),
            ),
        }
    }
}
