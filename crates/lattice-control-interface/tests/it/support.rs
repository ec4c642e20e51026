//! Shared harness: a NATS server, a client for it, and fake hosts that answer on real subjects.

use std::time::Duration;

use async_nats::Message;
use futures::StreamExt;
use lattice_control_interface::Client;
use lattice_test_support::nats::NatsServer;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The lattice every test uses, so a wrong lattice in a subject shows up.
pub const LATTICE: &str = "it-lattice";

/// Long enough for a loaded CI machine, short enough to keep the suite quick.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// The scatter-gather window in tests.
pub const AUCTION_TIMEOUT: Duration = Duration::from_secs(1);

/// A running server plus a control client on it.
pub struct Lattice {
    pub server: NatsServer,
    pub client: Client,
}

impl Lattice {
    pub async fn start() -> Self {
        let server = NatsServer::start();
        let nats = connect(&server).await;
        let client = Client::builder(nats)
            .lattice(LATTICE)
            .timeout(TIMEOUT)
            .auction_timeout(AUCTION_TIMEOUT)
            .build();
        Self { server, client }
    }

    /// A fresh connection, as a separate lattice peer would have.
    pub async fn peer(&self) -> async_nats::Client {
        connect(&self.server).await
    }

    /// Starts a fake host answering on `subject`; see [`FakeHost`].
    pub async fn fake_host(
        &self,
        subject: &str,
        queue_group: Option<&str>,
        answer: impl Fn(&Message) -> Option<Value> + Send + 'static,
    ) -> FakeHost {
        FakeHost::start(self.peer().await, subject, queue_group, answer).await
    }
}

pub async fn connect(server: &NatsServer) -> async_nats::Client {
    async_nats::connect(server.url())
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", server.url()))
}

/// `P = wasmbus.ctl.v1.it-lattice`, written out by hand on purpose: the tests
/// must not build subjects with the code under test.
pub fn ctl(rest: &str) -> String {
    format!("wasmbus.ctl.v1.{LATTICE}.{rest}")
}

/// One request a fake host received.
#[derive(Debug)]
pub struct Received {
    pub subject: String,
    pub body: Value,
}

/// A peer on the lattice that answers requests on one subscription with
/// whatever `answer` returns (`None` = stay silent), and records each request.
pub struct FakeHost {
    received: mpsc::UnboundedReceiver<Received>,
    task: JoinHandle<()>,
}

impl FakeHost {
    async fn start(
        nats: async_nats::Client,
        subject: &str,
        queue_group: Option<&str>,
        answer: impl Fn(&Message) -> Option<Value> + Send + 'static,
    ) -> Self {
        let mut subscriber = match queue_group {
            Some(group) => nats
                .queue_subscribe(subject.to_owned(), group.to_owned())
                .await
                .unwrap(),
            None => nats.subscribe(subject.to_owned()).await.unwrap(),
        };
        // The subscription must be known to the server before the client
        // sends. `flush` does not wait for the server; a request nobody
        // answers does: the server's "no responders" reply comes only after it
        // has read the SUB sent before it.
        let probe = nats.new_inbox();
        let err = nats.request(probe, "".into()).await.unwrap_err();
        assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
        let (tx, received) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                let body = if message.payload.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&message.payload)
                        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&message.payload).into_owned()))
                };
                if let (Some(reply), Some(answer)) = (message.reply.clone(), answer(&message)) {
                    let bytes = match answer {
                        // A string answer is sent raw, to test replies that are not JSON.
                        Value::String(raw) => raw.into_bytes(),
                        other => serde_json::to_vec(&other).unwrap(),
                    };
                    nats.publish(reply, bytes.into()).await.unwrap();
                    nats.flush().await.unwrap();
                }
                let _ = tx.send(Received {
                    subject: message.subject.to_string(),
                    body,
                });
            }
        });
        Self { received, task }
    }

    /// The next request this host received (waits up to 5 s).
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("fake host received nothing within 5s")
            .expect("fake host stopped")
    }

    /// Every request received so far, without waiting.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut all = Vec::new();
        while let Ok(r) = self.received.try_recv() {
            all.push(r);
        }
        all
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `{"success":true,"message":"","response":…}`
pub fn ok(response: Value) -> Option<Value> {
    let mut reply = serde_json::json!({"success": true, "message": ""});
    reply["response"] = response;
    Some(reply)
}

/// `{"success":true,"message":…}` without a response.
pub fn ack(message: &str) -> Option<Value> {
    Some(serde_json::json!({"success": true, "message": message}))
}
