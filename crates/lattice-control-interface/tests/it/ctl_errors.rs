//! Every error kind a caller can branch on, produced by real lattice behaviour.

use std::time::{Duration, Instant};

use lattice_control_interface::{Client, ComponentId, ConfigName, ErrorKind, HostId, ScaleComponentCommand};
use serde_json::{Value, json};

use crate::support::{LATTICE, Lattice, ctl};

fn scale(host: &str) -> ScaleComponentCommand {
    ScaleComponentCommand {
        component_ref: "file:///hello.wasm".into(),
        component_id: ComponentId::new("hello"),
        max_instances: 1,
        host_id: HostId::new(host),
        ..ScaleComponentCommand::default()
    }
}

#[tokio::test]
async fn no_host_listening_is_no_responders() {
    let lattice = Lattice::start().await;
    let started = Instant::now();
    let err = lattice
        .client
        .get_host_inventory(&HostId::new("NNOBODY"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoResponders);
    assert_eq!(err.subject(), "wasmbus.ctl.v1.it-lattice.host.get.NNOBODY");
    assert!(err.to_string().contains("start a host"), "{err}");
    // NATS says so at once; the client does not wait for its timeout.
    assert!(started.elapsed() < lattice.client.timeout(), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_silent_host_is_a_timeout() {
    let lattice = Lattice::start().await;
    let _silent = lattice.fake_host(&ctl("component.*.NSILENT"), None, |_| None).await;
    let client = Client::builder(lattice.peer().await)
        .lattice(LATTICE)
        .timeout(Duration::from_millis(300))
        .build();
    let started = Instant::now();
    let err = client.scale_component(&scale("NSILENT")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(err.to_string().contains("within 300ms"), "{err}");
}

#[tokio::test]
async fn success_false_is_a_refusal_with_the_hosts_message() {
    let lattice = Lattice::start().await;
    let _host = lattice
        .fake_host(&ctl("component.*.NHOST"), None, |_| {
            Some(json!({"success": false, "message": "component hello not found"}))
        })
        .await;
    let err = lattice.client.scale_component(&scale("NHOST")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert_eq!(err.refusal(), Some("component hello not found"));
    assert_eq!(
        err.to_string(),
        "host refused `wasmbus.ctl.v1.it-lattice.component.scale.NHOST`: component hello not found"
    );
}

#[tokio::test]
async fn the_error_key_fallback_is_a_refusal_too() {
    let lattice = Lattice::start().await;
    let _host = lattice
        .fake_host(&ctl("link.*"), Some("wasmbus.ctl.v1.it-lattice.link"), |_| {
            Some(json!({"success": false, "error": "failed to serialize response"}))
        })
        .await;
    let err = lattice.client.get_links().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert_eq!(err.refusal(), Some("failed to serialize response"));
}

#[tokio::test]
async fn a_reply_that_is_not_the_promised_json_is_a_decode_error() {
    let lattice = Lattice::start().await;
    let _host = lattice
        .fake_host(&ctl("host.*.NHOST"), None, |_| {
            Some(Value::String("<html>not json</html>".into()))
        })
        .await;
    let err = lattice
        .client
        .get_host_inventory(&HostId::new("NHOST"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    let text = err.to_string();
    assert!(text.contains("wasmbus.ctl.v1.it-lattice.host.get.NHOST"), "{text}");
    assert!(text.contains("expected value"), "names the serde message: {text}");
}

#[tokio::test]
async fn a_wrongly_shaped_or_missing_response_is_a_decode_error() {
    let lattice = Lattice::start().await;
    let _host = lattice
        .fake_host(&ctl("host.*.NHOST"), None, |m| {
            if m.subject.ends_with("get.NHOST") {
                Some(json!({"success": true, "message": ""}))
            } else {
                Some(json!({"success": "yes"}))
            }
        })
        .await;
    let err = lattice
        .client
        .get_host_inventory(&HostId::new("NHOST"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.to_string().contains("without a `response`"), "{err}");

    let err = lattice.client.stop_host(&HostId::new("NHOST"), None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.to_string().contains("invalid type"), "{err}");
}

#[tokio::test]
async fn ids_that_would_break_the_subject_are_rejected_before_sending() {
    let lattice = Lattice::start().await;
    let mut everything = lattice.fake_host("wasmbus.ctl.>", None, |_| None).await;
    let err = lattice
        .client
        .get_host_inventory(&HostId::new("N.*"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = lattice
        .client
        .put_config(&ConfigName::new("a b"), &Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("`a b`"), "{err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(everything.drain().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn a_payload_over_the_servers_limit_is_rejected_before_sending() {
    let lattice = Lattice::start().await;
    let _host = lattice
        .fake_host(&ctl("config.>"), Some("wasmbus.ctl.v1.it-lattice.config"), |_| {
            Some(json!({"success": true, "message": "successfully put config"}))
        })
        .await;
    // nats-server's default max_payload is 1 MiB.
    let huge = [("blob".to_owned(), "x".repeat(2 << 20))].into();
    let err = lattice
        .client
        .put_config(&ConfigName::new("huge"), &huge)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(err.subject(), "wasmbus.ctl.v1.it-lattice.config.put.huge");
}
