//! The async control-interface client: one method per operation, over a caller's NATS connection.
//!
//! Single-answer operations are plain NATS requests with [`Client::timeout`];
//! `host.ping` and the auctions are scatter-gather: publish with a fresh
//! inbox as reply subject and collect every reply until
//! [`Client::auction_timeout`]. See [`crate::subject`] for which subjects are
//! queue-grouped, targeted or broadcast.

mod events;
mod ops;

use std::time::Duration;

use async_nats::{RequestErrorKind, StatusCode};
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};

pub use events::EventStream;

use crate::error::Error;
use crate::subject::{self, CtlSubjects, DEFAULT_LATTICE, DEFAULT_TOPIC_PREFIX};
use crate::types::response::CtlResponse;

/// How long a single-answer request waits unless configured (as wash's `--timeout-ms`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long scatter-gather collects replies unless configured.
pub const DEFAULT_AUCTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Configures a [`Client`]; start with [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    nats: async_nats::Client,
    lattice: String,
    topic_prefix: String,
    timeout: Duration,
    auction_timeout: Duration,
    js_domain: Option<String>,
}

impl ClientBuilder {
    /// The lattice to address; `default` unless set.
    #[must_use]
    pub fn lattice(mut self, lattice: impl Into<String>) -> Self {
        self.lattice = lattice.into();
        self
    }

    /// The control topic prefix; `wasmbus.ctl` unless set (host flag `--ctl-topic-prefix`).
    #[must_use]
    pub fn topic_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.topic_prefix = prefix.into();
        self
    }

    /// How long single-answer requests wait for their reply.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long `get_hosts` and the auctions collect replies.
    #[must_use]
    pub fn auction_timeout(mut self, timeout: Duration) -> Self {
        self.auction_timeout = timeout;
        self
    }

    /// The JetStream domain of the lattice's NATS servers, for [`Client::jetstream`].
    #[must_use]
    pub fn js_domain(mut self, domain: impl Into<String>) -> Self {
        self.js_domain = Some(domain.into());
        self
    }

    /// Builds the client. Nothing is sent until an operation is called.
    pub fn build(self) -> Client {
        Client {
            subjects: CtlSubjects::with_topic_prefix(&self.topic_prefix, &self.lattice),
            nats: self.nats,
            lattice: self.lattice,
            timeout: self.timeout,
            auction_timeout: self.auction_timeout,
            js_domain: self.js_domain,
        }
    }
}

/// A control-interface client for one lattice. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    nats: async_nats::Client,
    lattice: String,
    subjects: CtlSubjects,
    timeout: Duration,
    auction_timeout: Duration,
    js_domain: Option<String>,
}

impl Client {
    /// A client over `nats` with the defaults: lattice `default`, topic
    /// prefix `wasmbus.ctl`, 2 s timeout, 5 s auction timeout, no JetStream domain.
    pub fn new(nats: async_nats::Client) -> Self {
        Self::builder(nats).build()
    }

    /// Starts configuring a client over `nats`.
    pub fn builder(nats: async_nats::Client) -> ClientBuilder {
        ClientBuilder {
            nats,
            lattice: DEFAULT_LATTICE.to_owned(),
            topic_prefix: DEFAULT_TOPIC_PREFIX.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            auction_timeout: DEFAULT_AUCTION_TIMEOUT,
            js_domain: None,
        }
    }

    /// The lattice this client addresses.
    pub fn lattice(&self) -> &str {
        &self.lattice
    }

    /// The subjects this client sends on.
    pub fn subjects(&self) -> &CtlSubjects {
        &self.subjects
    }

    /// The single-answer request timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The scatter-gather collection window.
    pub fn auction_timeout(&self) -> Duration {
        self.auction_timeout
    }

    /// The configured JetStream domain, if any.
    pub fn js_domain(&self) -> Option<&str> {
        self.js_domain.as_deref()
    }

    /// The underlying NATS connection.
    pub fn nats(&self) -> &async_nats::Client {
        &self.nats
    }

    /// A JetStream context in the configured domain, for reading the
    /// lattice's key-value buckets directly.
    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        match &self.js_domain {
            Some(domain) => async_nats::jetstream::with_domain(self.nats.clone(), domain),
            None => async_nats::jetstream::new(self.nats.clone()),
        }
    }

    /// The subject of one event type on this client's lattice.
    fn event_subject(&self, name: &str) -> String {
        subject::event(&self.lattice, name)
    }

    /// Waits until the server has processed everything this connection sent
    /// so far (see [`sync_with_server`]).
    async fn sync_with_server(&self, subject: &str) -> Result<(), Error> {
        sync_with_server(&self.nats, self.timeout)
            .await
            .map_err(|e| match e.kind() {
                RequestErrorKind::TimedOut => Error::timeout(subject, self.timeout),
                _ => Error::transport(subject, "server round trip", e),
            })
    }

    /// Sends one request and returns the raw reply.
    async fn raw_request(&self, subject: &str, payload: Bytes) -> Result<async_nats::Message, Error> {
        let request = async_nats::Request::new().payload(payload).timeout(Some(self.timeout));
        self.nats
            .send_request(subject.to_owned(), request)
            .await
            .map_err(|e| match e.kind() {
                RequestErrorKind::TimedOut => Error::timeout(subject, self.timeout),
                RequestErrorKind::NoResponders => Error::no_responders(subject),
                // Nothing was sent: the request itself is unsendable, not the connection broken.
                RequestErrorKind::InvalidSubject | RequestErrorKind::MaxPayloadExceeded => {
                    Error::unsendable(subject, e)
                }
                _ => Error::transport(subject, "request", e),
            })
    }

    /// Sends a request and returns the decoded envelope if the host accepted it.
    async fn request<T: DeserializeOwned>(&self, subject: &str, payload: Bytes) -> Result<CtlResponse<T>, Error> {
        let reply = self.raw_request(subject, payload).await?;
        let reply: CtlResponse<T> = decode_reply(subject, &reply.payload)?;
        if reply.success {
            Ok(reply)
        } else {
            Err(Error::refused(subject, reply.message))
        }
    }

    /// A request whose reply carries a payload that must be there.
    async fn request_response<T: DeserializeOwned>(&self, subject: &str, payload: Bytes) -> Result<T, Error> {
        self.request(subject, payload)
            .await?
            .response
            .ok_or_else(|| Error::decode(subject, "the host replied success without a `response`"))
    }

    /// A request whose reply is an acknowledgement: returns the host's message.
    async fn request_ack(&self, subject: &str, payload: Bytes) -> Result<String, Error> {
        // Some acks carry payloads older clients ignored; ignore them too.
        let reply: CtlResponse<IgnoredAny> = self.request(subject, payload).await?;
        Ok(reply.message)
    }

    /// Publishes to a broadcast subject with a fresh inbox as the reply
    /// subject and collects every accepted reply until the auction timeout.
    ///
    /// One host's bad reply must not hide the others', so refusals and
    /// replies that do not decode are logged and skipped. When NATS reports
    /// that nobody listens, the (empty) result is returned at once instead of
    /// waiting out the window.
    async fn scatter_gather<T: DeserializeOwned>(&self, subject: &str, payload: Bytes) -> Result<Vec<T>, Error> {
        let inbox = self.nats.new_inbox();
        let mut replies = self
            .nats
            .subscribe(inbox.clone())
            .await
            .map_err(|e| Error::transport(subject, "subscribing to the reply inbox", e))?;
        self.nats
            .publish_with_reply(subject.to_owned(), inbox, payload)
            .await
            .map_err(|e| Error::transport(subject, "publish", e))?;
        // Send now, so the window measures the hosts and not our write buffer.
        self.nats
            .flush()
            .await
            .map_err(|e| Error::transport(subject, "flush", e))?;

        let deadline = tokio::time::Instant::now() + self.auction_timeout;
        let mut collected = Vec::new();
        while let Ok(Some(message)) = tokio::time::timeout_at(deadline, replies.next()).await {
            if message.status == Some(StatusCode::NO_RESPONDERS) {
                break;
            }
            match decode_reply::<T>(subject, &message.payload) {
                Ok(CtlResponse {
                    success: true,
                    response: Some(response),
                    ..
                }) => collected.push(response),
                Ok(reply) => tracing::warn!(
                    subject,
                    success = reply.success,
                    message = %reply.message,
                    "skipping a scatter-gather reply without a payload"
                ),
                Err(error) => tracing::warn!(%error, "skipping a scatter-gather reply"),
            }
        }
        // Best effort: the subscription also ends when `replies` is dropped.
        let _ = replies.unsubscribe().await;
        Ok(collected)
    }
}

fn encode<T: Serialize>(subject: &str, body: &T) -> Result<Bytes, Error> {
    serde_json::to_vec(body)
        .map(Bytes::from)
        .map_err(|e| Error::encode(subject, e))
}

fn decode_reply<T: DeserializeOwned>(subject: &str, payload: &[u8]) -> Result<CtlResponse<T>, Error> {
    serde_json::from_slice(payload).map_err(|e| Error::decode(subject, e))
}

/// Checks that `value` can be one subject token, naming `what` it is otherwise.
fn token<'a>(operation: &str, what: &str, value: &'a str) -> Result<&'a str, Error> {
    if subject::is_valid_token(value) {
        Ok(value)
    } else {
        Err(Error::invalid_token(operation, what, value))
    }
}

/// Waits until the NATS server has processed everything `nats` sent so far,
/// e.g. its subscriptions, so that another connection can now reach them.
/// `flush` only empties the socket buffer; this needs a server round trip
/// that works even with echo off, so it requests a fresh inbox nobody
/// listens on and waits for the server's "no responders" answer, which the
/// server sends only after reading every earlier operation of the
/// connection.
///
/// # Errors
///
/// The request's error when the server does not answer within `timeout` or
/// the connection fails.
pub async fn sync_with_server(nats: &async_nats::Client, timeout: Duration) -> Result<(), async_nats::RequestError> {
    let probe = nats.new_inbox();
    let request = async_nats::Request::new().timeout(Some(timeout));
    match nats.send_request(probe, request).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == RequestErrorKind::NoResponders => Ok(()),
        Err(e) => Err(e),
    }
}
