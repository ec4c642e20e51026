//! A lattice with the provider in it, and calls made as a host makes them for a component.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use async_nats::HeaderMap;
use lattice_control_interface::provider::{HostData, InterfaceLinkDefinition, subject};
use lattice_control_interface::{ComponentId, LinkName};
use lattice_interfaces::bindings::wrpc::keyvalue::store;
use lattice_test_support::nats::NatsServer;
use tokio::process::Child;

/// How long anything that should happen may take.
pub const WAIT: Duration = Duration::from_secs(10);
pub const LATTICE: &str = "test";
pub const PROVIDER: &str = "kv-redis";

/// The provider process on a fresh NATS server, killed on drop.
pub struct Lattice {
    /// Held for its `Drop`: the server lives as long as the lattice.
    _nats: NatsServer,
    pub client: async_nats::Client,
    /// Calls to the provider, as a host sends them.
    pub wrpc: wrpc_transport_nats::Client,
    pub provider: Child,
}

impl Lattice {
    /// Starts NATS and the provider (with `config` as its own config), and waits until the
    /// provider serves its exports.
    pub async fn start(config: &[(&str, &str)]) -> Self {
        let lattice = Self::spawn(config).await;
        // The exports are served once a call gets an answer (any answer) rather than "no
        // responders", which comes back at once.
        lattice
            .until("the provider serves its exports", async || lattice.serves().await)
            .await;
        lattice
    }

    /// Starts NATS and the provider, without waiting for anything.
    pub async fn spawn(config: &[(&str, &str)]) -> Self {
        let nats = NatsServer::start();
        let host_data = HostData {
            host_id: "NHOST".into(),
            lattice_rpc_prefix: LATTICE.into(),
            link_name: "default".into(),
            lattice_rpc_url: nats.url(),
            provider_key: PROVIDER.into(),
            config: config.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            log_level: Some("info".into()),
            ..HostData::default()
        };
        let mut provider = tokio::process::Command::new(env!("CARGO_BIN_EXE_keyvalue-redis-provider"))
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("starting keyvalue-redis-provider");
        let mut stdin = provider.stdin.take().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stdin, host_data.to_stdin_line().as_bytes())
            .await
            .unwrap();
        drop(stdin);
        let client = async_nats::connect(nats.url()).await.unwrap();
        let wrpc = wrpc_transport_nats::Client::new(client.clone(), format!("{LATTICE}.{PROVIDER}"), None)
            .await
            .unwrap();
        Self {
            _nats: nats,
            client,
            wrpc,
            provider,
        }
    }

    /// Whether a call to the provider's exports gets an answer (any answer, even an error for
    /// want of a link) rather than "no responders".
    pub async fn serves(&self) -> bool {
        store::exists(&self.wrpc, Some(headers("probe", "default")), "", "k")
            .await
            .is_ok()
    }

    /// Whether the provider answers a health check (a host's sign that it is ready).
    pub async fn answers_health(&self) -> bool {
        self.client
            .request(subject::health(LATTICE, PROVIDER), "".into())
            .await
            .is_ok()
    }

    /// Puts a link from `component` to the provider, named `name`, with this target config,
    /// and waits until calls over it stop failing for want of a link.
    pub async fn put_link(&self, component: &str, name: &str, config: &[(&str, &str)]) {
        let link = link(component, name, config);
        self.client
            .publish(
                subject::link_put(LATTICE, PROVIDER),
                serde_json::to_vec(&link).unwrap().into(),
            )
            .await
            .unwrap();
        self.until("the link taking effect", async || {
            !matches!(
                store::exists(&self.wrpc, Some(headers(component, name)), "", "k").await,
                Ok(Err(store::Error::Other(message))) if message.starts_with("no key-value link")
            )
        })
        .await;
    }

    /// Deletes that link and waits until calls over it fail for want of one.
    pub async fn delete_link(&self, component: &str, name: &str) {
        self.client
            .publish(
                subject::link_del(LATTICE, PROVIDER),
                serde_json::to_vec(&link(component, name, &[])).unwrap().into(),
            )
            .await
            .unwrap();
        self.until("the link deletion taking effect", async || {
            matches!(
                store::exists(&self.wrpc, Some(headers(component, name)), "", "k").await,
                Ok(Err(store::Error::Other(message))) if message.starts_with("no key-value link")
            )
        })
        .await;
    }

    /// Polls `done` until it holds, for at most [`WAIT`].
    pub async fn until(&self, what: &str, mut done: impl AsyncFnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !done().await {
            assert!(tokio::time::Instant::now() < deadline, "{what} did not happen in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asks the provider whether it is healthy.
    pub async fn healthy(&self) -> bool {
        let reply = tokio::time::timeout(WAIT, self.client.request(subject::health(LATTICE, PROVIDER), "".into()))
            .await
            .expect("health answered in time")
            .expect("health answered");
        let health: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        health["healthy"] == true
    }
}

/// The headers a host sends with `component`'s call over link `name`.
pub fn headers(component: &str, name: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("source-id", component);
    headers.insert("link-name", name);
    headers
}

fn link(component: &str, name: &str, config: &[(&str, &str)]) -> InterfaceLinkDefinition {
    InterfaceLinkDefinition {
        source_id: ComponentId::new(component),
        target: ComponentId::new(PROVIDER),
        name: LinkName::new(name),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        interfaces: vec!["store".into(), "atomics".into(), "batch".into()],
        target_config: config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<HashMap<_, _>>(),
        ..InterfaceLinkDefinition::default()
    }
}

/// A connection to Redis, to read back what the provider wrote.
pub async fn redis(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
