//! The suite's view of a lattice: control requests (single answer, scatter-
//! gather, or no reply subject at all), every event the hosts publish, and
//! the JetStream buckets, all through plain NATS so nothing here assumes
//! which implementation answers.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use bytes::Bytes;
use futures::StreamExt as _;
use serde_json::Value;
use tokio::sync::Notify;

/// A connection to one lattice's control interface.
pub(crate) struct Lattice {
    client: async_nats::Client,
    /// `{topic_prefix}.v1.{lattice}`.
    prefix: String,
    /// The lattice's name.
    pub(crate) name: String,
    /// How long a single-answer request waits.
    pub(crate) timeout: Duration,
    /// Every event seen since the suite connected.
    pub(crate) events: EventLog,
    /// JetStream domain of the lattice's buckets, if any.
    js_domain: Option<String>,
}

/// An answer off the wire: the envelope as JSON.
pub(crate) type Reply = Value;

impl Lattice {
    /// Connects and starts recording events.
    pub(crate) async fn connect(
        url: &str,
        name: &str,
        topic_prefix: &str,
        timeout: Duration,
        js_domain: Option<String>,
    ) -> Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .request_timeout(Some(timeout))
            .connection_timeout(timeout)
            .connect(url)
            .await
            .with_context(|| format!("cannot connect to NATS at {url}: is a server running there?"))?;
        let events = EventLog::start(&client, &format!("wasmbus.evt.{name}.>")).await?;
        Ok(Self {
            client,
            prefix: format!("{topic_prefix}.v1.{name}"),
            name: name.to_owned(),
            timeout,
            events,
            js_domain,
        })
    }

    /// The plain client, for subjects outside the control interface.
    pub(crate) fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// `{prefix}.{operation}`.
    pub(crate) fn subject(&self, operation: &str) -> String {
        format!("{}.{operation}", self.prefix)
    }

    /// One request, one answer (queue-grouped and host-targeted subjects).
    pub(crate) async fn request(&self, operation: &str, payload: impl Into<Bytes>) -> Result<Reply> {
        let subject = self.subject(operation);
        let message = self
            .client
            .request(subject.clone(), payload.into())
            .await
            .with_context(|| format!("no answer on {subject} within {:?}", self.timeout))?;
        parse(&message.payload).with_context(|| format!("the answer on {subject}"))
    }

    /// Publishes with a fresh inbox as reply subject and collects every answer
    /// that arrives within `window` (scatter-gather, and counting how many
    /// hosts answer a queue-grouped subject).
    pub(crate) async fn gather(
        &self,
        operation: &str,
        payload: impl Into<Bytes>,
        window: Duration,
    ) -> Result<Vec<Reply>> {
        let subject = self.subject(operation);
        let inbox = self.client.new_inbox();
        let mut answers = self.client.subscribe(inbox.clone()).await?;
        self.client
            .publish_with_reply(subject.clone(), inbox, payload.into())
            .await?;
        self.client.flush().await?;
        let mut replies = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, answers.next()).await {
            // A status message (503 "no responders" while no host has
            // subscribed yet) is the server speaking, not a host answering.
            if message.status.is_some() {
                continue;
            }
            replies.push(parse(&message.payload).with_context(|| format!("an answer on {subject}"))?);
        }
        Ok(replies)
    }

    /// Publishes without a reply subject (fire-and-forget, as upstream tools send some).
    pub(crate) async fn publish(&self, operation: &str, payload: impl Into<Bytes>) -> Result<()> {
        self.client.publish(self.subject(operation), payload.into()).await?;
        self.client.flush().await?;
        Ok(())
    }

    /// The value under `key` in bucket `bucket`, parsed as JSON; `None` when absent.
    pub(crate) async fn bucket_entry(&self, bucket: &str, key: &str) -> Result<Option<Value>> {
        let js = match &self.js_domain {
            Some(domain) => async_nats::jetstream::with_domain(self.client.clone(), domain),
            None => async_nats::jetstream::new(self.client.clone()),
        };
        let store = js
            .get_key_value(bucket)
            .await
            .with_context(|| format!("bucket {bucket} cannot be opened"))?;
        match store
            .get(key)
            .await
            .with_context(|| format!("reading {key} in {bucket}"))?
        {
            Some(bytes) => Ok(Some(parse(&bytes).with_context(|| format!("{key} in {bucket}"))?)),
            None => Ok(None),
        }
    }
}

/// Parses a JSON payload, naming what it was.
pub(crate) fn parse(payload: &[u8]) -> Result<Value> {
    match serde_json::from_slice(payload) {
        Ok(value) => Ok(value),
        Err(error) => bail!(
            "not JSON ({error}): {:?}",
            String::from_utf8_lossy(&payload[..payload.len().min(200)])
        ),
    }
}

/// One event as it arrived: its subject's last token and the whole CloudEvent.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) name: String,
    pub(crate) body: Result<Value, String>,
}

impl Event {
    /// The event's `data`, when the body parsed.
    pub(crate) fn data(&self) -> Option<&Value> {
        self.body.as_ref().ok()?.get("data")
    }
}

/// Every event of the lattice, in arrival order, with a way to wait for one.
#[derive(Clone)]
pub(crate) struct EventLog {
    seen: Arc<Mutex<Vec<Event>>>,
    arrived: Arc<Notify>,
}

impl EventLog {
    async fn start(client: &async_nats::Client, subject: &str) -> Result<Self> {
        let mut subscription = client.subscribe(subject.to_owned()).await?;
        client.flush().await?;
        let log = Self {
            seen: Arc::default(),
            arrived: Arc::new(Notify::new()),
        };
        let writer = log.clone();
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                let name = message.subject.rsplit('.').next().unwrap_or_default().to_owned();
                let body = parse(&message.payload).map_err(|e| e.to_string());
                writer
                    .seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(Event { name, body });
                writer.arrived.notify_waiters();
            }
        });
        Ok(log)
    }

    /// A position: events after it are "new".
    pub(crate) fn mark(&self) -> usize {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Every event seen so far.
    pub(crate) fn all(&self) -> Vec<Event> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The first event named `name` after `from` whose data satisfies
    /// `matches`, waiting up to `within`; with its position.
    pub(crate) async fn wait(
        &self,
        from: usize,
        name: &str,
        matches: impl Fn(&Value) -> bool,
        within: Duration,
    ) -> Option<(usize, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.arrived.notified();
            let found = {
                let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
                seen.iter()
                    .enumerate()
                    .skip(from)
                    .filter(|(_, e)| e.name == name)
                    .find_map(|(i, e)| e.data().filter(|d| matches(d)).map(|d| (i, d.clone())))
            };
            if found.is_some() {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}
