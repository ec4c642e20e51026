//! Shared test scaffolding: a lattice (NATS server + client), hosts with
//! test-friendly configs, and bounded waits on events and conditions.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt as _;
use lattice_control_interface::{
    Client, ComponentId, ConfigName, Event, EventStream, LatticeEvent, Link, ProviderId, ScaleComponentCommand,
    StartProviderCommand,
};
use lattice_host::{Host, HostConfig};
use lattice_test_support::nats::NatsServer;

/// How long any one wait may take before the test fails. Generous: the
/// first component compile on a loaded CI machine is slow.
pub const WAIT: Duration = Duration::from_secs(60);

/// The link that has `source` (an HTTP server provider) send the requests its listener named
/// by `source_config` takes to `target`'s `wasi:http/incoming-handler`.
pub fn http_link(source: &str, target: &str, source_config: &str) -> Link {
    Link {
        source_id: ComponentId::new(source),
        target: ComponentId::new(target),
        wit_namespace: "wasi".into(),
        wit_package: "http".into(),
        interfaces: vec!["incoming-handler".into()],
        source_config: vec![ConfigName::new(source_config)],
        ..Link::default()
    }
}

/// A loopback address nobody listens on now.
pub fn free_address() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}

/// The link that sends `source`'s `wasi:keyvalue` calls (store, atomics, batch) to `target`,
/// with the named config given to the target.
pub fn keyvalue_link(source: &str, target: &str, target_config: &str) -> Link {
    Link {
        source_id: ComponentId::new(source),
        target: ComponentId::new(target),
        wit_namespace: "wasi".into(),
        wit_package: "keyvalue".into(),
        interfaces: vec!["store".into(), "atomics".into(), "batch".into()],
        target_config: vec![ConfigName::new(target_config)],
        ..Link::default()
    }
}

/// A NATS server and a control client on it.
pub struct Lattice {
    pub nats: NatsServer,
    pub client: Client,
}

impl Lattice {
    pub async fn start() -> Self {
        let nats = NatsServer::start();
        let connection = async_nats::connect(nats.url()).await.expect("connecting to nats");
        let client = Client::builder(connection)
            .timeout(Duration::from_secs(10))
            .auction_timeout(Duration::from_secs(1))
            .build();
        Self { nats, client }
    }

    /// A config for a host on this lattice: file loads allowed, a small
    /// instance pool.
    pub fn host_config(&self, labels: &[(&str, &str)]) -> HostConfig {
        let mut config = HostConfig::new(self.nats.url());
        config.allow_file_load = true;
        config.limits.max_components = 20;
        config.labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>();
        config
    }

    pub async fn host(&self, labels: &[(&str, &str)]) -> Host {
        Host::start(self.host_config(labels)).await.expect("host starts")
    }

    pub async fn events(&self) -> EventStream {
        self.client.events(None).await.expect("subscribing to events")
    }

    /// Scales `guest` (a path) to `max_instances` as `id` on `host` and waits for its
    /// `component_scaled` event.
    pub async fn scale(&self, host: &Host, id: &str, guest: &str, max_instances: u32) {
        let mut events = self.events().await;
        self.client
            .scale_component(&ScaleComponentCommand {
                component_ref: file_ref(guest),
                component_id: ComponentId::new(id),
                max_instances,
                host_id: host.id().clone(),
                ..ScaleComponentCommand::default()
            })
            .await
            .expect("scale request answered");
        wait_event(&mut events, "component_scaled", |e| match data(e) {
            LatticeEvent::ComponentScaled(s) if s.component_id == id => Some(()),
            _ => None,
        })
        .await;
    }

    /// Starts a provider binary of this workspace as `id` on `host` and waits for its
    /// `provider_started` event.
    pub async fn start_provider(&self, host: &Host, id: &str, binary: (&str, &str)) {
        let mut events = self.events().await;
        let path = lattice_test_support::providers::binary(binary);
        self.client
            .start_provider(&StartProviderCommand {
                provider_id: ProviderId::new(id),
                provider_ref: file_ref(&path.to_string_lossy()),
                host_id: host.id().clone(),
                ..StartProviderCommand::default()
            })
            .await
            .expect("provider start answered");
        wait_event(&mut events, "provider_started", |e| match data(e) {
            LatticeEvent::ProviderStarted(p) if p.provider_id == id => Some(()),
            LatticeEvent::ProviderStartFailed(p) if p.provider_id == id => panic!("{id} failed to start: {}", p.error),
            _ => None,
        })
        .await;
    }
}

/// Waits for the first event for which `pick` returns `Some`.
pub async fn wait_event<T>(events: &mut EventStream, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let event = events.next().await.expect("event stream ended").expect("event decodes");
            if let Some(found) = pick(&event) {
                return found;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {what} event within {WAIT:?}"))
}

/// Polls `condition` until it holds.
pub async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let held = tokio::time::timeout(WAIT, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    held.unwrap_or_else(|_| panic!("{what} did not happen within {WAIT:?}"));
}

/// A `file://` reference to a guest component.
pub fn file_ref(path: &str) -> String {
    format!("file://{path}")
}

/// The event's data, if it is of the kind `pick` extracts.
pub fn data(event: &Event) -> &LatticeEvent {
    &event.event
}

/// Sends a raw request and decodes the JSON reply.
pub async fn raw_request(lattice: &Lattice, subject: String, payload: &'static [u8]) -> serde_json::Value {
    let reply = tokio::time::timeout(WAIT, lattice.client.nats().request(subject, payload.into()))
        .await
        .expect("reply in time")
        .expect("request answered");
    serde_json::from_slice(&reply.payload).expect("reply is JSON")
}
