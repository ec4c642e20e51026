//! The provider, a component played by the test, links, and wRPC calls as a host makes them.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use async_nats::HeaderMap;
use futures::StreamExt as _;
use lattice_control_interface::provider::{HostData, InterfaceLinkDefinition, subject};
use lattice_control_interface::{ComponentId, LinkName};
use lattice_interfaces::bindings::exports::wasmcloud::messaging::handler;
use lattice_interfaces::bindings::wasmcloud::messaging::types::BrokerMessage;
use lattice_test_support::nats::NatsServer;
use tokio::process::Child;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wrpc_transport_nats::NatsContext;

/// How long anything that should happen may take.
pub const WAIT: Duration = Duration::from_secs(10);
pub const LATTICE: &str = "test";
pub const PROVIDER: &str = "messaging";

/// The provider on a fresh NATS server, killed on drop.
pub struct Lattice {
    /// Held for its `Drop`: the server lives as long as the lattice.
    _nats: NatsServer,
    pub client: async_nats::Client,
    /// Calls to the provider's exports, as a host sends them.
    pub wrpc: wrpc_transport_nats::Client,
    /// Held for its `Drop` (`kill_on_drop`).
    _provider: Child,
}

impl Lattice {
    /// Starts NATS and the provider, and waits until it answers health checks (its link
    /// subscriptions exist from then on).
    pub async fn start() -> Self {
        let nats = NatsServer::start();
        let host_data = HostData {
            host_id: "NHOST".into(),
            lattice_rpc_prefix: LATTICE.into(),
            link_name: "default".into(),
            lattice_rpc_url: nats.url(),
            provider_key: PROVIDER.into(),
            log_level: Some("info".into()),
            ..HostData::default()
        };
        let mut provider = tokio::process::Command::new(env!("CARGO_BIN_EXE_messaging-nats-provider"))
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting messaging-nats-provider");
        let mut stdin = provider.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stdin, host_data.to_stdin_line().as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let client = async_nats::connect(nats.url()).await.unwrap();
        let health = subject::health(LATTICE, PROVIDER);
        until("the provider answering health checks", async || {
            client.request(health.clone(), "".into()).await.is_ok()
        })
        .await;
        let wrpc = wrpc_transport_nats::Client::new(client.clone(), format!("{LATTICE}.{PROVIDER}"), None)
            .await
            .unwrap();
        Self {
            _nats: nats,
            client,
            wrpc,
            _provider: provider,
        }
    }

    /// Puts `link` on the provider's link subject.
    pub async fn put(&self, link: &InterfaceLinkDefinition) {
        self.client
            .publish(
                subject::link_put(LATTICE, PROVIDER),
                serde_json::to_vec(link).unwrap().into(),
            )
            .await
            .unwrap();
    }

    /// Deletes `link`.
    pub async fn delete(&self, link: &InterfaceLinkDefinition) {
        self.client
            .publish(
                subject::link_del(LATTICE, PROVIDER),
                serde_json::to_vec(link).unwrap().into(),
            )
            .await
            .unwrap();
    }

    /// Plays component `id`, exporting `wasmcloud:messaging/handler`: every message it is
    /// handed comes out of the receiver, with the `source-id` of the call.
    pub async fn component(&self, id: &str) -> (mpsc::UnboundedReceiver<(BrokerMessage, String)>, JoinHandle<()>) {
        let prefix = format!("{LATTICE}.{id}");
        let wrpc = wrpc_transport_nats::Client::new(self.client.clone(), prefix.as_str(), Some(prefix.as_str().into()))
            .await
            .unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let [(_, _, mut calls)] = handler::serve_interface(&wrpc, Recorder { tx }).await.unwrap();
        let task = tokio::spawn(async move {
            let _wrpc = wrpc;
            while let Some(call) = calls.next().await {
                if let Ok(call) = call {
                    tokio::spawn(call);
                }
            }
        });
        (rx, task)
    }
}

#[derive(Clone)]
struct Recorder {
    tx: mpsc::UnboundedSender<(BrokerMessage, String)>,
}

impl handler::Handler<NatsContext> for Recorder {
    async fn handle_message(&self, cx: NatsContext, msg: BrokerMessage) -> anyhow::Result<Result<(), String>> {
        let source = cx
            .headers
            .as_ref()
            .and_then(|h| h.get("source-id"))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let _ = self.tx.send((msg, source));
        Ok(Ok(()))
    }
}

/// A link from `source` to `target` for `wasmcloud:messaging`, with `config` on the
/// provider's end.
pub fn link(source: &str, target: &str, config: &[(&str, &str)]) -> InterfaceLinkDefinition {
    let config: HashMap<String, String> = config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let provider_is_source = source == PROVIDER;
    InterfaceLinkDefinition {
        source_id: ComponentId::new(source),
        target: ComponentId::new(target),
        name: LinkName::default(),
        wit_namespace: "wasmcloud".into(),
        wit_package: "messaging".into(),
        interfaces: vec![if provider_is_source { "handler" } else { "consumer" }.into()],
        source_config: if provider_is_source {
            config.clone()
        } else {
            HashMap::new()
        },
        target_config: if provider_is_source { HashMap::new() } else { config },
        ..InterfaceLinkDefinition::default()
    }
}

/// The headers a host sends with `component`'s call.
pub fn headers(component: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("source-id", component);
    headers.insert("link-name", "default");
    headers
}

/// Polls `done` until it holds, for at most [`WAIT`].
pub async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next message the component got, within [`WAIT`].
pub async fn next(rx: &mut mpsc::UnboundedReceiver<(BrokerMessage, String)>) -> (BrokerMessage, String) {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("a message in time")
        .expect("the component is served")
}
