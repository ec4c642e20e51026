//! A host restarted against the same NATS rebuilds links, config and claims
//! from the lattice buckets, and finds its compiled components in the compile
//! cache.

use std::time::Duration;

use lattice_control_interface::{
    ComponentId, ConfigName, ConfigValues, LatticeEvent, Link, ProviderId, ScaleComponentCommand, StartProviderCommand,
};
use lattice_test_support::guests;

use lattice_host::Host;

use crate::support::{Lattice, data, file_ref, wait_event, wait_until};

/// Signs the hello guest so its claims land in the bucket.
fn signed_hello(dir: &std::path::Path) -> (String, String) {
    let account = nkeys::KeyPair::new_account();
    let module = nkeys::KeyPair::new_module();
    let options = lattice_claims::wasm::SignOptions {
        name: Some("hello".into()),
        rev: Some(4),
        ver: Some("0.1.0".into()),
        ..lattice_claims::wasm::SignOptions::default()
    };
    let signed = lattice_claims::wasm::sign_component(&guests::bytes(guests::HELLO_HTTP), &account, &module, &options)
        .expect("signing the guest");
    let path = dir.join("hello_s.wasm");
    std::fs::write(&path, signed).unwrap();
    (file_ref(&path.display().to_string()), module.public_key())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_host_rebuilds_its_state_from_the_buckets() {
    let lattice = Lattice::start().await;
    let client = &lattice.client;
    let dir = tempfile::tempdir().unwrap();
    let (hello, subject) = signed_hello(dir.path());

    let first = lattice.host(&[]).await;
    let mut events = lattice.events().await;
    let address = ConfigValues::from([("address".to_owned(), "127.0.0.1:0".to_owned())]);
    client.put_config(&ConfigName::new("listen"), &address).await.unwrap();
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
    let scale = ScaleComponentCommand {
        component_ref: hello.clone(),
        component_id: ComponentId::new("hello"),
        max_instances: 1,
        host_id: first.id().clone(),
        ..ScaleComponentCommand::default()
    };
    client.scale_component(&scale).await.unwrap();
    let scaled = wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(scaled.public_key.as_deref(), Some(subject.as_str()));
    let claims = scaled.claims.expect("signed component has claims");
    assert_eq!(claims.name.as_deref(), Some("hello"));
    assert_eq!(claims.expires_human, "never");
    first
        .stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;

    let second = lattice.host(&[]).await;
    assert_eq!(client.get_links().await.unwrap(), [link]);
    assert_eq!(
        client.get_config(&ConfigName::new("listen")).await.unwrap(),
        Some(address)
    );
    let all_claims = client.get_claims().await.unwrap();
    let entry = all_claims
        .iter()
        .find(|c| c.subject() == Some(subject.as_str()))
        .expect("claims kept");
    assert_eq!(entry.name(), Some("hello"));
    assert_eq!(entry.revision(), Some(4));
    assert_eq!(entry.get("call_alias"), Some(""));

    // The link stored before the restart is routed once the provider runs.
    let start = StartProviderCommand {
        provider_id: ProviderId::new("http-server"),
        provider_ref: "wasmcloud+builtin://http-server".into(),
        host_id: second.id().clone(),
        ..StartProviderCommand::default()
    };
    assert_eq!(
        client.start_provider(&start).await.unwrap(),
        "successfully started provider"
    );
    wait_until("the stored link being routed", || {
        second
            .http_routes()
            .iter()
            .any(|r| r.component_id == "hello" && r.address.port() != 0)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_with_a_compile_cache_stores_compiled_components_for_the_next_start() {
    let lattice = Lattice::start().await;
    let cache = tempfile::tempdir().unwrap();
    let mut config = lattice.host_config(&[]);
    config.compile_cache_dir = Some(cache.path().to_path_buf());
    let host = Host::start(config).await.expect("host starts");
    let mut events = lattice.events().await;
    let hello = file_ref(guests::HELLO_HTTP);
    lattice
        .client
        .scale_component(&ScaleComponentCommand {
            component_ref: hello,
            component_id: ComponentId::new("hello"),
            max_instances: 1,
            host_id: host.id().clone(),
            ..ScaleComponentCommand::default()
        })
        .await
        .unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id.as_str() == "hello" => Some(()),
        _ => None,
    })
    .await;

    // The runtime keeps one compiled artifact per component and engine, under
    // a folder named after the engine's compatibility hash.
    let compiled: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .filter_map(Result::ok)
        .flat_map(|engine_dir| std::fs::read_dir(engine_dir.path()).into_iter().flatten())
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "cwasm"))
        .collect();
    assert_eq!(
        compiled.len(),
        1,
        "expected one compiled component in {}",
        cache.path().display()
    );
}
