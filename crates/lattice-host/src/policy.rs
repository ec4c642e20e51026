//! The policy service hook, as wasmCloud v1 hosts have it: with a policy topic
//! configured, the host asks a policy service over NATS before it starts a
//! component or a provider, and before a component runs an invocation, and
//! goes ahead only when the answer permits it. No answer within the timeout,
//! or an answer that does not decode, is a denial: a host that cannot ask does
//! not guess. Without a topic everything is permitted.
//!
//! Decisions are cached under what they are about (component or provider id
//! and reference, plus interface and function for an invocation), as upstream
//! caches them, so an invocation asks once, not per call. A policy service
//! changes its mind by publishing `{"requestId", "permitted", "message"?}` on
//! the policy-changes topic: the decision that request produced is replaced.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::labels::Labels;

/// The policy service of one host: where to ask, how long to wait, and what it
/// decided so far.
#[derive(Debug)]
pub(crate) struct Policy {
    nats: async_nats::Client,
    topic: Option<String>,
    timeout: Duration,
    host: Host,
    decisions: Arc<Mutex<Decisions>>,
    /// Applies the policy service's changes of mind; stopped when the policy is dropped.
    changes: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Policy {
    fn drop(&mut self) {
        if let Some(changes) = &self.changes {
            changes.abort();
        }
    }
}

/// The host as the policy request describes it.
#[derive(Debug)]
pub(crate) struct Host {
    pub(crate) public_key: String,
    pub(crate) lattice: String,
    pub(crate) labels: Arc<Labels>,
}

/// What the policy service decided, by subject, and which request produced each.
#[derive(Debug, Default)]
struct Decisions {
    by_subject: HashMap<String, Decision>,
    /// Request id → subject, so a change naming a request finds its decision.
    subject_of: HashMap<String, String>,
}

/// What is to be done, as the policy request's `kind` and `request` say it.
#[derive(Debug)]
pub(crate) enum Request<'a> {
    StartComponent {
        id: &'a str,
        image_ref: &'a str,
        max_instances: u32,
        annotations: &'a BTreeMap<String, String>,
        claims: Option<Claims>,
    },
    StartProvider {
        id: &'a str,
        image_ref: &'a str,
        annotations: &'a BTreeMap<String, String>,
        claims: Option<Claims>,
    },
    /// A call of `function` of `interface` on a running component.
    Invocation {
        interface: &'a str,
        function: &'a str,
        target: &'a Target,
    },
}

/// A running component as an invocation request names it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) id: String,
    pub(crate) image_ref: String,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) claims: Option<Claims>,
}

/// The claims of what is to be started or invoked, as the policy request carries them.
#[derive(Debug, Clone)]
pub(crate) struct Claims {
    public_key: String,
    issuer: String,
    issued_at: u64,
    expires_at: Option<u64>,
}

impl<T> From<&lattice_claims::jwt::Claims<T>> for Claims {
    fn from(claims: &lattice_claims::jwt::Claims<T>) -> Self {
        Self {
            public_key: claims.subject.clone(),
            issuer: claims.issuer.clone(),
            issued_at: claims.issued_at,
            expires_at: claims.expires,
        }
    }
}

impl Claims {
    fn to_json(&self) -> Value {
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

/// A decision, as the policy service answers and as it later changes it.
#[derive(Debug, Clone, Deserialize)]
struct Decision {
    permitted: bool,
    #[serde(default)]
    message: Option<String>,
}

/// A change of mind published on the policy-changes topic.
#[derive(Debug, Deserialize)]
struct Change {
    #[serde(rename = "requestId")]
    request_id: String,
    #[serde(flatten)]
    decision: Decision,
}

impl Policy {
    /// A policy that asks on `topic` (none: permit everything) and, with
    /// `changes_topic`, listens there for changed decisions.
    ///
    /// # Errors
    ///
    /// When NATS refuses the subscription to `changes_topic`.
    pub(crate) async fn start(
        nats: async_nats::Client,
        topic: Option<String>,
        changes_topic: Option<String>,
        timeout: Duration,
        host: Host,
    ) -> Result<Self, async_nats::SubscribeError> {
        let topic = topic.filter(|t| !t.trim().is_empty());
        let decisions = Arc::new(Mutex::new(Decisions::default()));
        let changes = match changes_topic.filter(|t| !t.trim().is_empty() && topic.is_some()) {
            Some(changes_topic) => {
                let subscription = nats.subscribe(changes_topic.clone()).await?;
                Some(tokio::spawn(apply_changes(
                    subscription,
                    changes_topic,
                    Arc::clone(&decisions),
                )))
            }
            None => None,
        };
        Ok(Self {
            nats,
            topic,
            timeout,
            host,
            decisions,
            changes,
        })
    }

    /// Whether a policy service is asked at all.
    pub(crate) fn is_active(&self) -> bool {
        self.topic.is_some()
    }

    /// Asks whether `request` may happen; `Err` says why not, in the words an
    /// operator (or the caller of a denied invocation) sees.
    pub(crate) async fn check(&self, request: &Request<'_>) -> Result<(), String> {
        let Some(topic) = &self.topic else {
            return Ok(());
        };
        let (kind, body, subject, what) = request.describe();
        let cached = self.decisions().by_subject.get(&subject).cloned();
        let decision = match cached {
            Some(decision) => decision,
            None => {
                let request_id = uuid::Uuid::new_v4().to_string();
                let decision = self
                    .ask(topic, &request_id, kind, body)
                    .await
                    .map_err(|why| format!("Policy denied request to {what}: the policy service on `{topic}` {why}"))?;
                let mut decisions = self.decisions();
                decisions.by_subject.insert(subject.clone(), decision.clone());
                decisions.subject_of.insert(request_id, subject);
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

    fn decisions(&self) -> std::sync::MutexGuard<'_, Decisions> {
        self.decisions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn ask(&self, topic: &str, request_id: &str, kind: &str, body: Value) -> Result<Decision, String> {
        let request = json!({
            "requestId": request_id,
            "kind": kind,
            "version": "v1",
            "request": body,
            "host": {
                "publicKey": self.host.public_key,
                "lattice": self.host.lattice,
                "labels": self.host.labels.snapshot(),
            },
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

/// Replaces cached decisions as the policy service publishes changes. A change
/// that does not decode, or names a request this host never made, is logged
/// and skipped.
async fn apply_changes(mut changes: async_nats::Subscriber, topic: String, decisions: Arc<Mutex<Decisions>>) {
    while let Some(message) = changes.next().await {
        let change = match serde_json::from_slice::<Change>(&message.payload) {
            Ok(change) => change,
            Err(error) => {
                tracing::warn!(
                    %topic,
                    %error,
                    "ignoring a policy change that is not {{\"requestId\": string, \"permitted\": bool, \"message\"?: string}}"
                );
                continue;
            }
        };
        let mut decisions = decisions.lock().unwrap_or_else(PoisonError::into_inner);
        match decisions.subject_of.get(&change.request_id).cloned() {
            Some(subject) => {
                tracing::info!(request_id = %change.request_id, permitted = change.decision.permitted, "policy decision changed");
                decisions.by_subject.insert(subject, change.decision);
            }
            None => {
                tracing::debug!(request_id = %change.request_id, "policy change for a request this host did not make");
            }
        }
    }
}

impl Request<'_> {
    /// The request's `kind`, its body, the subject its decision is cached
    /// under, and what is being done, for messages.
    fn describe(&self) -> (&'static str, Value, String, String) {
        match self {
            Self::StartComponent {
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
                    "claims": claims.as_ref().map(Claims::to_json),
                }),
                format!("startComponent {id} {image_ref}"),
                format!("scale component `{id}`"),
            ),
            Self::StartProvider {
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
                    "claims": claims.as_ref().map(Claims::to_json),
                }),
                format!("startProvider {id} {image_ref}"),
                format!("start provider `{id}`"),
            ),
            Self::Invocation {
                interface,
                function,
                target,
            } => (
                "performInvocation",
                json!({
                    "interface": interface,
                    "function": function,
                    "target": {
                        "componentId": target.id,
                        "imageRef": target.image_ref,
                        "maxInstances": 0,
                        "annotations": target.annotations,
                        "claims": target.claims.as_ref().map(Claims::to_json),
                    },
                }),
                format!(
                    "performInvocation {} {} {interface} {function}",
                    target.id, target.image_ref
                ),
                format!("invoke `{interface}.{function}` of component `{}`", target.id),
            ),
        }
    }
}

/// The policy asked before each invocation of one running component.
pub(crate) struct Admission {
    pub(crate) policy: Arc<Policy>,
    pub(crate) target: Target,
}

impl lattice_runtime::Admission for Admission {
    fn admit<'a>(&'a self, interface: &'a str, function: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let request = Request::Invocation {
                interface,
                function,
                target: &self.target,
            };
            self.policy.check(&request).await
        })
    }
}
