//! End to end: the built-in http-server provider, a link, and a GET served
//! by the hello component; stopping the provider stops serving.

use std::time::Duration;

use lattice_control_interface::{
    ComponentId, ConfigName, ConfigValues, LatticeEvent, Link, ProviderId, ScaleComponentCommand, StartProviderCommand,
};
use lattice_test_support::guests;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{Lattice, WAIT, data, file_ref, wait_event, wait_until};

/// A plain HTTP/1.1 GET; returns the raw response.
pub(crate) async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    get_with(addr, path, &[]).await
}

/// A plain HTTP/1.1 GET with extra header lines (`name: value`); returns the raw response.
pub(crate) async fn get_with(addr: std::net::SocketAddr, path: &str, headers: &[&str]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connecting to the ingress");
    let extra: String = headers.iter().map(|line| format!("{line}\r\n")).collect();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n{extra}connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .unwrap();
    response
}

#[tokio::test(flavor = "multi_thread")]
async fn builtin_http_server_serves_a_linked_component() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;

    let scale = ScaleComponentCommand {
        component_ref: file_ref(guests::HELLO_HTTP),
        component_id: ComponentId::new("hello"),
        max_instances: 4,
        host_id: host.id().clone(),
        ..ScaleComponentCommand::default()
    };
    client.scale_component(&scale).await.unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;

    let start = StartProviderCommand {
        provider_id: ProviderId::new("http-server"),
        provider_ref: "wasmcloud+builtin://http-server".into(),
        host_id: host.id().clone(),
        ..StartProviderCommand::default()
    };
    client.start_provider(&start).await.unwrap();
    let started = wait_event(&mut events, "provider_started", |e| match data(e) {
        LatticeEvent::ProviderStarted(p) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(started.provider_id, "http-server");
    assert_eq!(
        started.image_ref, "http-server",
        "spelled without the scheme, as upstream hosts do"
    );
    let err = client.start_provider(&start).await.unwrap_err();
    assert_eq!(err.refusal(), Some("provider with that ID is already running"));
    let inventory = client.get_host_inventory(host.id()).await.unwrap();
    assert_eq!(inventory.providers.len(), 1);
    // As upstream writes them: empty annotations are `{}`, not left out.
    let raw = crate::support::raw_request(&lattice, client.subjects().host_get(host.id()), b"").await;
    assert_eq!(raw["response"]["providers"][0]["annotations"], serde_json::json!({}));
    assert_eq!(raw["response"]["components"][0]["annotations"], serde_json::json!({}));

    let listen = ConfigValues::from([("address".to_owned(), "127.0.0.1:0".to_owned())]);
    client.put_config(&ConfigName::new("listen"), &listen).await.unwrap();
    let link = Link {
        source_id: ComponentId::new("http-server"),
        target: ComponentId::new("hello"),
        wit_namespace: "wasi".into(),
        wit_package: "http".into(),
        interfaces: vec!["incoming-handler".into()],
        source_config: vec![ConfigName::new("listen")],
        ..Link::default()
    };
    client.put_link(&link).await.unwrap();
    wait_until("the link being routed", || !host.http_routes().is_empty()).await;
    let addr = host.http_routes()[0].address;

    let response = get(addr, "/greet?x=1").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("hello from /greet?x=1\n"), "{response}");

    client
        .stop_provider(host.id(), &ProviderId::new("http-server"))
        .await
        .unwrap();
    let stopped = wait_event(&mut events, "provider_stopped", |e| match data(e) {
        LatticeEvent::ProviderStopped(p) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(stopped.reason, "stop");
    assert!(host.http_routes().is_empty());
    let err = client
        .stop_provider(host.id(), &ProviderId::new("http-server"))
        .await
        .unwrap_err();
    assert_eq!(err.refusal(), Some("provider with that ID is not running"));

    // A registry reference whose registry cannot be reached (`.invalid` never resolves): the
    // start is accepted, then fails naming the reference and the registry.
    let external = StartProviderCommand {
        provider_id: ProviderId::new("kv"),
        provider_ref: "registry.invalid/wasmcloud/keyvalue-redis:0.28.1".into(),
        ..start
    };
    client.start_provider(&external).await.unwrap();
    let failed = wait_event(&mut events, "provider_start_failed", |e| match data(e) {
        LatticeEvent::ProviderStartFailed(p) if p.provider_id == "kv" => Some(p.clone()),
        _ => None,
    })
    .await;
    assert!(
        failed.error.contains(
            "cannot pull provider `registry.invalid/wasmcloud/keyvalue-redis:0.28.1`: registry registry.invalid"
        ),
        "{}",
        failed.error
    );
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}

/// Serves `component` on `host` over HTTP the way `wash` would: the builtin
/// http-server provider, a named config with a free loopback address, and a
/// link. Returns the address once it is routed.
pub(crate) async fn expose_over_http(
    lattice: &Lattice,
    host: &lattice_host::Host,
    component: &str,
) -> std::net::SocketAddr {
    let client = &lattice.client;
    let start = StartProviderCommand {
        provider_id: ProviderId::new("http-server"),
        provider_ref: "wasmcloud+builtin://http-server".into(),
        host_id: host.id().clone(),
        ..StartProviderCommand::default()
    };
    client.start_provider(&start).await.unwrap();
    let listen = ConfigValues::from([("address".to_owned(), "127.0.0.1:0".to_owned())]);
    client.put_config(&ConfigName::new("listen"), &listen).await.unwrap();
    client
        .put_link(&crate::support::http_link("http-server", component, "listen"))
        .await
        .unwrap();
    wait_until("the link being routed", || {
        host.http_routes().iter().any(|r| r.component_id == component)
    })
    .await;
    host.http_routes()
        .into_iter()
        .find(|r| r.component_id == component)
        .map(|r| r.address)
        .expect("routed")
}

/// `component_limits` in a scale request narrow the host's limits for that
/// component: the looping guest is stopped after its own 150 ms, far below
/// the host's 10-minute default, and a limit that does not parse is named in
/// the reply and ignored, as upstream ignores it.
#[tokio::test(flavor = "multi_thread")]
async fn component_limits_of_a_scale_request_apply_to_that_component() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;

    let scale = ScaleComponentCommand {
        component_ref: file_ref(guests::HTTP_LOOP),
        component_id: ComponentId::new("spin"),
        max_instances: 1,
        host_id: host.id().clone(),
        component_limits: Some(
            [("max_execution_time", "150"), ("max_memory_limit", "lots")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
        ),
        ..ScaleComponentCommand::default()
    };
    let message = client.scale_component(&scale).await.unwrap();
    assert!(
        message.contains("component_limits.max_memory_limit `lots` ignored"),
        "{message}"
    );
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    let address = expose_over_http(&lattice, &host, "spin").await;

    let response = get(address, "/").await;
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    assert!(response.contains("deadline"), "{response}");
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}

/// The inventory counts a component's invocations running right now: one while a request
/// spins in the looping guest, none once it is stopped at its deadline.
#[tokio::test(flavor = "multi_thread")]
async fn the_inventory_counts_running_invocations() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;
    let scale = ScaleComponentCommand {
        component_ref: file_ref(guests::HTTP_LOOP),
        component_id: ComponentId::new("spin"),
        max_instances: 2,
        host_id: host.id().clone(),
        component_limits: Some(
            [("max_execution_time", "3000")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
        ),
        ..ScaleComponentCommand::default()
    };
    client.scale_component(&scale).await.unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    let address = expose_over_http(&lattice, &host, "spin").await;
    let active = || async {
        let inventory = client.get_host_inventory(host.id()).await.unwrap();
        inventory.components[0].active_instances
    };
    assert_eq!(active().await, Some(0));

    let request = tokio::spawn(get(address, "/"));
    let deadline = tokio::time::Instant::now() + WAIT;
    while active().await != Some(1) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the running request was never counted"
        );
        assert!(!request.is_finished(), "the request ended before it was counted");
    }
    let response = request.await.unwrap();
    assert!(response.contains("deadline"), "{response}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while active().await != Some(0) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ended request is still counted"
        );
    }
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}
