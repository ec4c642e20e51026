//! Which components a host trusts: with `allowed_issuers`, only components
//! signed by a listed account run (unsigned ones are refused); claims of a
//! revision without a module hash are refused unless allowed; the host keeps
//! serving what it trusts meanwhile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lattice_claims::jwt::{Claims, Component as ComponentMeta};
use lattice_claims::wasm::{SignOptions, embed_claims, sign_component};
use lattice_control_interface::{ComponentId, LatticeEvent, ScaleComponentCommand};
use lattice_host::{ErrorKind, Host};
use lattice_test_support::guests;

use crate::support::{Lattice, data, file_ref, wait_event};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path: PathBuf = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    file_ref(&path.display().to_string())
}

/// Scales `reference` as `id`; `Ok` once scaled, `Err(message)` on failure.
async fn scale(lattice: &Lattice, host: &Host, id: &str, reference: &str) -> Result<(), String> {
    let mut events = lattice.events().await;
    let command = ScaleComponentCommand {
        component_ref: reference.to_owned(),
        component_id: ComponentId::new(id),
        max_instances: 1,
        host_id: host.id().clone(),
        annotations: Some(BTreeMap::new()),
        ..ScaleComponentCommand::default()
    };
    lattice.client.scale_component(&command).await.unwrap();
    wait_event(
        &mut events,
        "component_scaled or component_scale_failed",
        |e| match data(e) {
            LatticeEvent::ComponentScaled(s) if s.component_id == id => Some(Ok(())),
            LatticeEvent::ComponentScaleFailed(f) if f.component_id == id => Some(Err(f.error.clone())),
            _ => None,
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn only_listed_issuers_and_hashed_claims_run() {
    let lattice = Lattice::start().await;
    let dir = tempfile::tempdir().unwrap();
    let trusted = nkeys::KeyPair::new_account();
    let stranger = nkeys::KeyPair::new_account();
    let hello = std::fs::read(guests::HELLO_HTTP).unwrap();
    let sign = |account: &nkeys::KeyPair| {
        sign_component(&hello, account, &nkeys::KeyPair::new_module(), &SignOptions::default()).unwrap()
    };
    let trusted_ref = write(dir.path(), "trusted.wasm", &sign(&trusted));
    let stranger_ref = write(dir.path(), "stranger.wasm", &sign(&stranger));
    let unsigned_ref = write(dir.path(), "unsigned.wasm", &hello);
    let mut legacy = Claims::new(
        trusted.public_key(),
        nkeys::KeyPair::new_module().public_key(),
        ComponentMeta::default(),
    );
    legacy.wascap_revision = Some(2);
    let legacy_ref = write(
        dir.path(),
        "legacy.wasm",
        &embed_claims(&hello, &legacy, &trusted).unwrap(),
    );

    let mut config = lattice.host_config(&[]);
    config.allowed_issuers = vec![trusted.public_key()];
    let host = Host::start(config).await.unwrap();

    scale(&lattice, &host, "trusted", &trusted_ref).await.unwrap();
    let error = scale(&lattice, &host, "stranger", &stranger_ref).await.unwrap_err();
    assert!(error.contains(&stranger.public_key()), "{error}");
    assert!(error.contains("does not trust"), "{error}");
    let error = scale(&lattice, &host, "unsigned", &unsigned_ref).await.unwrap_err();
    assert!(error.contains("not signed"), "{error}");
    let error = scale(&lattice, &host, "legacy", &legacy_ref).await.unwrap_err();
    assert!(error.contains("wascap revision 2"), "{error}");
    assert!(error.contains("wash claims sign"), "{error}");

    let inventory = lattice.client.get_host_inventory(host.id()).await.unwrap();
    let ids: Vec<_> = inventory.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["trusted"]);
    host.stop(None).await;

    // Legacy claims run where explicitly allowed.
    let mut config = lattice.host_config(&[]);
    config.allow_legacy_claims = true;
    let lenient = Host::start(config).await.unwrap();
    scale(&lattice, &lenient, "legacy", &legacy_ref).await.unwrap();
    lenient.stop(None).await;
}

#[tokio::test]
async fn an_allowed_issuer_that_is_not_an_account_key_stops_the_start() {
    let mut config = lattice_host::HostConfig::new("nats://127.0.0.1:1");
    config.allowed_issuers = vec![nkeys::KeyPair::new_module().public_key()];
    let err = Host::start(config).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidConfig(_)), "{err:?}");
    assert!(err.to_string().contains("not an account public key"), "{err}");
}

/// Permits the component `allowed` and denies everything else.
fn only_allowed(request: &serde_json::Value) -> bool {
    request["request"]["componentId"] == "allowed"
}

/// A policy service on NATS, as an operator would run one: it permits what `permits`
/// says (denying the rest "not on the list"), and records what it was asked.
fn policy_service(
    lattice: &Lattice,
    topic: &str,
    permits: fn(&serde_json::Value) -> bool,
) -> tokio::sync::mpsc::UnboundedReceiver<serde_json::Value> {
    let (asked, requests) = tokio::sync::mpsc::unbounded_channel();
    let nats = lattice.client.nats().clone();
    let topic = topic.to_owned();
    let (subscribed, ready) = std::sync::mpsc::channel();
    tokio::spawn(async move {
        use futures::StreamExt as _;
        let mut requests = nats.subscribe(topic).await.unwrap();
        nats.flush().await.unwrap();
        subscribed.send(()).unwrap();
        while let Some(message) = requests.next().await {
            let request: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
            let permitted = permits(&request);
            let answer = serde_json::json!({
                "requestId": request["requestId"],
                "permitted": permitted,
                "message": (!permitted).then_some("not on the list"),
            });
            nats.publish(message.reply.unwrap(), serde_json::to_vec(&answer).unwrap().into())
                .await
                .unwrap();
            asked.send(request).unwrap();
        }
    });
    ready.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    requests
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_service_decides_what_starts() {
    let lattice = Lattice::start().await;
    let mut asked = policy_service(&lattice, "policy.decide", only_allowed);
    let mut config = lattice.host_config(&[("zone", "eu")]);
    config.policy_topic = Some("policy.decide".to_owned());
    let host = Host::start(config).await.unwrap();
    let hello = file_ref(guests::HELLO_HTTP);

    scale(&lattice, &host, "allowed", &hello).await.unwrap();
    let request = asked.recv().await.unwrap();
    assert_eq!(request["kind"], "startComponent", "{request}");
    assert_eq!(request["version"], "v1", "{request}");
    assert_eq!(request["request"]["imageRef"], hello.as_str(), "{request}");
    assert_eq!(request["request"]["maxInstances"], 1, "{request}");
    assert_eq!(request["host"]["publicKey"], host.id().as_str(), "{request}");
    assert_eq!(request["host"]["labels"]["zone"], "eu", "{request}");

    let denied = scale(&lattice, &host, "denied", &hello).await.unwrap_err();
    assert_eq!(
        denied,
        "Policy denied request to scale component `denied`: not on the list"
    );

    // A provider is asked about too.
    let mut events = lattice.events().await;
    lattice
        .client
        .start_provider(&lattice_control_interface::StartProviderCommand {
            provider_id: lattice_control_interface::ProviderId::new("http-server"),
            provider_ref: "wasmcloud+builtin://http-server".into(),
            host_id: host.id().clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let failed = wait_event(&mut events, "provider_start_failed", |e| match data(e) {
        LatticeEvent::ProviderStartFailed(f) => Some(f.error.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        failed,
        "Policy denied request to start provider `http-server`: not on the list"
    );

    // A policy topic nobody answers denies: the host does not guess.
    let mut silent = lattice.host_config(&[]);
    silent.policy_topic = Some("policy.nobody".to_owned());
    let silent = Host::start(silent).await.unwrap();
    let refused = scale(&lattice, &silent, "allowed", &hello).await.unwrap_err();
    assert!(
        refused
            .starts_with("Policy denied request to scale component `allowed`: the policy service on `policy.nobody`"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_service_decides_what_is_invoked_and_can_change_its_mind() {
    let lattice = Lattice::start().await;
    // Starts are permitted; invocations are not, until the service says otherwise.
    let mut asked = policy_service(&lattice, "policy.decide", |request| {
        request["kind"] != "performInvocation"
    });
    let mut config = lattice.host_config(&[]);
    config.policy_topic = Some("policy.decide".to_owned());
    config.policy_changes_topic = Some("policy.changes".to_owned());
    let host = Host::start(config).await.unwrap();
    let hello = file_ref(guests::HELLO_HTTP);
    scale(&lattice, &host, "hello", &hello).await.unwrap();
    let addr = crate::http_e2e::expose_over_http(&lattice, &host, "hello").await;

    let denied = crate::http_e2e::get(addr, "/first").await;
    assert!(denied.starts_with("HTTP/1.1 403"), "{denied}");
    assert!(
        denied.contains(
            "Policy denied request to invoke `wasi:http/incoming-handler.handle` of component `hello`: not on the list"
        ),
        "{denied}"
    );
    let invocation = loop {
        let request = asked.recv().await.unwrap();
        if request["kind"] == "performInvocation" {
            break request;
        }
    };
    assert_eq!(
        invocation["request"]["interface"], "wasi:http/incoming-handler",
        "{invocation}"
    );
    assert_eq!(invocation["request"]["function"], "handle", "{invocation}");
    assert_eq!(invocation["request"]["target"]["componentId"], "hello", "{invocation}");
    assert_eq!(
        invocation["request"]["target"]["imageRef"],
        hello.as_str(),
        "{invocation}"
    );
    assert_eq!(invocation["host"]["publicKey"], host.id().as_str(), "{invocation}");

    // The decision is cached: a second request is refused without asking again.
    let again = crate::http_e2e::get(addr, "/second").await;
    assert!(again.starts_with("HTTP/1.1 403"), "{again}");
    assert!(
        asked.try_recv().is_err(),
        "the policy service was asked twice about one invocation"
    );

    // A change that does not decode, or names a request never made, changes nothing.
    let nats = lattice.client.nats();
    nats.publish("policy.changes", "not json".into()).await.unwrap();
    let stranger = serde_json::json!({"requestId": "never-asked", "permitted": true});
    nats.publish("policy.changes", serde_json::to_vec(&stranger).unwrap().into())
        .await
        .unwrap();
    // The service changes its mind about that request: the component now answers.
    let change = serde_json::json!({"requestId": invocation["requestId"], "permitted": true});
    nats.publish("policy.changes", serde_json::to_vec(&change).unwrap().into())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + crate::support::WAIT;
    loop {
        let response = crate::http_e2e::get(addr, "/third").await;
        if response.starts_with("HTTP/1.1 200") {
            assert!(response.contains("hello from /third\n"), "{response}");
            break;
        }
        assert!(response.starts_with("HTTP/1.1 403"), "{response}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the changed decision was not applied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        asked.try_recv().is_err(),
        "a changed decision is used without asking again"
    );
}
