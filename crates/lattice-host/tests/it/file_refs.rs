//! `file://` references are hostile input: devices, FIFOs, directories and
//! oversized files are refused without blocking or reading past the cap, an
//! allowed root cannot be escaped through `..` or a symbolic link, and the
//! host keeps serving its other components throughout.

use std::collections::BTreeMap;

use lattice_control_interface::{ComponentId, LatticeEvent, ScaleComponentCommand};
use lattice_host::Host;
use lattice_test_support::guests;

use crate::http_e2e::{expose_over_http, get};
use crate::support::{Lattice, data, file_ref, wait_event};

fn scale(host: &Host, id: &str, reference: &str) -> ScaleComponentCommand {
    ScaleComponentCommand {
        component_ref: reference.to_owned(),
        component_id: ComponentId::new(id),
        max_instances: 1,
        host_id: host.id().clone(),
        annotations: Some(BTreeMap::new()),
        ..ScaleComponentCommand::default()
    }
}

/// Scales `reference` as `broken` and returns the failure message.
async fn scale_fails(lattice: &Lattice, host: &Host, reference: &str) -> String {
    let mut events = lattice.events().await;
    lattice
        .client
        .scale_component(&scale(host, "broken", reference))
        .await
        .unwrap();
    wait_event(&mut events, "component_scale_failed", |e| match data(e) {
        LatticeEvent::ComponentScaleFailed(f) if f.image_ref == reference => Some(f.error.clone()),
        LatticeEvent::ComponentScaled(s) if s.component_id == "broken" => panic!("{reference} scaled: {s:?}"),
        _ => None,
    })
    .await
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn hostile_file_references_are_refused_while_the_host_keeps_serving() {
    let lattice = Lattice::start().await;
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("components");
    std::fs::create_dir(&root).unwrap();
    let hello = root.join("hello.wasm");
    std::fs::copy(guests::HELLO_HTTP, &hello).unwrap();

    let mut config = lattice.host_config(&[]);
    config.limits.max_component_size = 20 << 20;
    let open = Host::start(config).await.unwrap();
    let mut config = lattice.host_config(&[]);
    config.allowed_file_root = Some(root.clone());
    let confined = Host::start(config).await.unwrap();

    let mut events = lattice.events().await;
    lattice
        .client
        .scale_component(&scale(&open, "hello", &file_ref(&hello.display().to_string())))
        .await
        .unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id == "hello" => Some(()),
        _ => None,
    })
    .await;
    let address = expose_over_http(&lattice, &open, "hello").await;
    let serves = || async {
        let response = get(address, "/still").await;
        assert!(response.contains("hello from /still\n"), "{response}");
    };
    serves().await;

    let fifo = top.path().join("pipe.wasm");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let oversized = top.path().join("big.wasm");
    std::fs::File::create(&oversized)
        .unwrap()
        .set_len((20 << 20) + 1)
        .unwrap();
    let at = |p: &std::path::Path| file_ref(&p.display().to_string());
    let cases = [
        (
            "file:///dev/zero".to_owned(),
            "/dev/zero is a character device, not a regular file",
        ),
        (at(&fifo), "is a FIFO (named pipe), not a regular file"),
        (at(top.path()), "is a directory, not a regular file"),
        (at(&oversized), "is larger than the maximum of 20971520 bytes"),
    ];
    for (reference, expected) in cases {
        let error = scale_fails(&lattice, &open, &reference).await;
        assert!(error.contains(expected), "{expected:?} not in {error:?}");
        serves().await;
    }

    // With a root: inside is fine, nothing outside is reachable.
    let secret = top.path().join("secret.wasm");
    std::fs::copy(guests::HELLO_HTTP, &secret).unwrap();
    std::os::unix::fs::symlink(&secret, root.join("link.wasm")).unwrap();
    let mut events = lattice.events().await;
    lattice
        .client
        .scale_component(&scale(&confined, "inside", &at(&hello)))
        .await
        .unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id == "inside" => Some(()),
        _ => None,
    })
    .await;
    for escape in [root.join("../secret.wasm"), root.join("link.wasm"), secret.clone()] {
        let reference = at(&escape);
        let error = scale_fails(&lattice, &confined, &reference).await;
        assert!(
            error.contains("is outside the directory this host loads files from"),
            "{error}"
        );
        // Only the path given is named: not the root, not the link's target.
        let rest = error.replace(&escape.display().to_string(), "");
        assert!(!rest.contains(&*top.path().to_string_lossy()), "{error}");
        serves().await;
    }
    open.stop(None).await;
    confined.stop(None).await;
}
