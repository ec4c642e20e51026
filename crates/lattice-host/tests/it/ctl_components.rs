//! Component placement and lifecycle over the control interface: auctions
//! by label, scale, update, stop, and failures that stay contained.

use std::collections::BTreeMap;

use lattice_control_interface::{ComponentId, ErrorKind, LatticeEvent, ScaleComponentCommand, UpdateComponentCommand};
use lattice_test_support::guests;

use crate::http_e2e::{expose_over_http, get};
use crate::support::{Lattice, data, file_ref, wait_event};

fn scale(host: &lattice_host::Host, id: &str, reference: &str, count: u32) -> ScaleComponentCommand {
    ScaleComponentCommand {
        component_ref: reference.to_owned(),
        component_id: ComponentId::new(id),
        max_instances: count,
        host_id: host.id().clone(),
        annotations: Some(BTreeMap::from([("owner".to_owned(), "tests".to_owned())])),
        ..ScaleComponentCommand::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn auction_places_by_label_then_scale_update_and_stop() {
    let lattice = Lattice::start().await;
    let eu = lattice.host(&[("zone", "eu")]).await;
    let us = lattice.host(&[("zone", "us")]).await;
    let client = &lattice.client;
    let hello = file_ref(guests::HELLO_HTTP);
    let id = ComponentId::new("hello");
    let zone_us = BTreeMap::from([("zone".to_owned(), "us".to_owned())]);

    let acks = client.perform_component_auction(&hello, &id, &zone_us).await.unwrap();
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(acks[0].host_id, *us.id());
    assert_eq!(acks[0].constraints, zone_us);
    let nobody = BTreeMap::from([("zone".to_owned(), "mars".to_owned())]);
    assert!(
        client
            .perform_component_auction(&hello, &id, &nobody)
            .await
            .unwrap()
            .is_empty()
    );
    let anywhere = client
        .perform_component_auction(&hello, &id, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(anywhere.len(), 2);

    let mut events = lattice.events().await;
    let message = client.scale_component(&scale(&us, "hello", &hello, 2)).await.unwrap();
    assert_eq!(message, "");
    let scaled = wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some((e.source.clone(), s.clone())),
        _ => None,
    })
    .await;
    assert_eq!(scaled.0, *us.id());
    assert_eq!(scaled.1.component_id, id);
    assert_eq!(scaled.1.host_id, *us.id());
    assert_eq!(scaled.1.image_ref, hello);
    assert_eq!(scaled.1.max_instances, 2);
    assert_eq!(scaled.1.annotations["owner"], "tests");

    let inventory = client.get_host_inventory(us.id()).await.unwrap();
    assert_eq!(inventory.components.len(), 1);
    assert_eq!(inventory.components[0].id, id);
    assert_eq!(inventory.components[0].max_instances, 2);
    assert!(client.get_host_inventory(eu.id()).await.unwrap().components.is_empty());

    // Running on `us` now: only `eu` bids for the same id.
    let acks = client
        .perform_component_auction(&hello, &id, &BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(
        acks.iter().map(|a| a.host_id.clone()).collect::<Vec<_>>(),
        [eu.id().clone()]
    );

    // Scaling to another reference without allow_update keeps the old one.
    let config_guest = file_ref(guests::HTTP_CONFIG);
    let message = client
        .scale_component(&scale(&us, "hello", &config_guest, 3))
        .await
        .unwrap();
    assert!(message.contains("allow_update"), "{message}");
    let rescaled = wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(
        (rescaled.image_ref.as_str(), rescaled.max_instances),
        (hello.as_str(), 3)
    );

    let update = UpdateComponentCommand {
        component_id: id.clone(),
        new_component_ref: config_guest.clone(),
        host_id: us.id().clone(),
        annotations: None,
    };
    let message = client.update_component(&update).await.unwrap();
    assert_eq!(
        message,
        format!("component hello updating from {hello} to {config_guest}")
    );
    let updated = wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(updated.image_ref, config_guest);
    assert_eq!(updated.max_instances, 3);
    // Then, as upstream hosts announce it, the reference it replaced at 0.
    let retired = wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!((retired.image_ref.as_str(), retired.max_instances), (hello.as_str(), 0));
    let message = client.update_component(&update).await.unwrap();
    assert_eq!(
        message,
        format!("component hello reloading {config_guest} if its content changed")
    );
    let missing = UpdateComponentCommand {
        component_id: ComponentId::new("ghost"),
        ..update.clone()
    };
    let err = client.update_component(&missing).await.unwrap_err();
    assert_eq!(err.refusal(), Some("component ghost not found"));

    client.scale_component(&scale(&us, "hello", "", 0)).await.unwrap();
    let stopped = wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!(stopped.max_instances, 0);
    assert_eq!(stopped.image_ref, config_guest);
    assert!(client.get_host_inventory(us.id()).await.unwrap().components.is_empty());

    // Stopping what does not run still reports a scale to zero.
    client.scale_component(&scale(&eu, "nothing", "", 0)).await.unwrap();
    let noop = wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    })
    .await;
    assert_eq!((noop.component_id.as_str(), noop.max_instances), ("nothing", 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_component_fails_only_its_own_scale() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;

    client
        .scale_component(&scale(&host, "hello", &file_ref(guests::HELLO_HTTP), 1))
        .await
        .unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id == "hello" => Some(()),
        _ => None,
    })
    .await;

    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"\0asm\x0d\0\x01\0this is not a component").unwrap();
    let cases = [
        (file_ref(&garbage.display().to_string()), "malformed"),
        (file_ref("/nonexistent/x.wasm"), "cannot read component file"),
        (
            "registry.invalid/example/hello:0.1.0".to_owned(),
            "cannot pull component `registry.invalid/example/hello:0.1.0`: registry registry.invalid",
        ),
    ];
    for (reference, expected) in cases {
        client
            .scale_component(&scale(&host, "broken", &reference, 1))
            .await
            .unwrap();
        let failed = wait_event(&mut events, "component_scale_failed", |e| match data(e) {
            LatticeEvent::ComponentScaleFailed(f) => Some(f.clone()),
            LatticeEvent::ComponentScaled(s) if s.component_id == "broken" => panic!("broken component scaled: {s:?}"),
            _ => None,
        })
        .await;
        assert_eq!(failed.component_id, "broken");
        assert_eq!(failed.image_ref, reference);
        assert_eq!(failed.max_instances, 1);
        assert!(
            failed.error.contains(expected),
            "{expected:?} not in {:?}",
            failed.error
        );
    }

    let inventory = client.get_host_inventory(host.id()).await.unwrap();
    let ids: Vec<_> = inventory.components.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["hello"]);

    let bad_id = scale(&host, "a.b", &file_ref(guests::HELLO_HTTP), 1);
    let err = client.scale_component(&bad_id).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Refused | ErrorKind::InvalidArgument),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn file_loads_need_the_flag() {
    let lattice = Lattice::start().await;
    let mut config = lattice.host_config(&[]);
    config.allow_file_load = false;
    let host = lattice_host::Host::start(config).await.unwrap();
    let mut events = lattice.events().await;
    lattice
        .client
        .scale_component(&scale(&host, "hello", &file_ref(guests::HELLO_HTTP), 1))
        .await
        .unwrap();
    let failed = wait_event(&mut events, "component_scale_failed", |e| match data(e) {
        LatticeEvent::ComponentScaleFailed(f) => Some(f.clone()),
        _ => None,
    })
    .await;
    assert!(failed.error.contains("--allow-file-load"), "{}", failed.error);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_is_its_content_not_its_reference() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    let client = &lattice.client;
    let mut events = lattice.events().await;
    let scaled = |e: &lattice_control_interface::Event| match data(e) {
        LatticeEvent::ComponentScaled(s) => Some(s.clone()),
        _ => None,
    };
    // One path, rebuilt in place as `wash build` would.
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.wasm");
    std::fs::copy(guests::HELLO_HTTP, &app).unwrap();
    let reference = file_ref(app.to_str().unwrap());

    client
        .scale_component(&scale(&host, "app", &reference, 4))
        .await
        .unwrap();
    wait_event(&mut events, "component_scaled", scaled).await;
    let addr = expose_over_http(&lattice, &host, "app").await;
    assert!(get(addr, "/v").await.contains("hello from /v"));

    // New bytes, same reference: update reloads.
    std::fs::copy(guests::HTTP_CONFIG, &app).unwrap();
    let update = UpdateComponentCommand {
        component_id: ComponentId::new("app"),
        new_component_ref: reference.clone(),
        host_id: host.id().clone(),
        annotations: None,
    };
    let message = client.update_component(&update).await.unwrap();
    assert_eq!(
        message,
        format!("component app reloading {reference} if its content changed")
    );
    let reloaded = wait_event(&mut events, "component_scaled", scaled).await;
    assert_eq!(
        (reloaded.image_ref.as_str(), reloaded.max_instances),
        (reference.as_str(), 4)
    );
    let served = get(addr, "/v").await;
    assert!(
        served.starts_with("HTTP/1.1 200") && !served.contains("hello from"),
        "{served}"
    );

    // New bytes again, and a scale to the same reference picks them up too.
    std::fs::copy(guests::HELLO_HTTP, &app).unwrap();
    client
        .scale_component(&scale(&host, "app", &reference, 2))
        .await
        .unwrap();
    let rescaled = wait_event(&mut events, "component_scaled", scaled).await;
    assert_eq!(rescaled.max_instances, 2);
    assert!(get(addr, "/w").await.contains("hello from /w"));

    // The same bytes: an update changes nothing, so the next event is the stop.
    client.update_component(&update).await.unwrap();
    client.scale_component(&scale(&host, "app", "", 0)).await.unwrap();
    let next = wait_event(&mut events, "component_scaled", scaled).await;
    assert_eq!(next.max_instances, 0, "an update to the same bytes published {next:?}");
}
