//! Log export, as a collector receives it: the `wasmcloud` binary with `--enable-logs` (and
//! traces) sends its own lines and its guests' to a real OTLP/HTTP receiver; a guest's line
//! names its component and arrives in the trace and span of the request that wrote it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lattice_control_interface::{
    ComponentId, ConfigName, ConfigValues, HostId, LatticeEvent, ProviderId, ScaleComponentCommand,
    StartProviderCommand,
};
use lattice_test_support::guests;
use lattice_test_support::otlp::{ReceivedLog, Receiver, attribute};

use crate::http_e2e::get_with;
use crate::support::{Lattice, WAIT, data, file_ref, free_address, http_link, wait_event};

const BIN: &str = env!("CARGO_BIN_EXE_wasmcloud");

/// A host process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn guest_and_host_lines_are_exported_in_the_requests_trace() {
    let receiver = Receiver::start();
    let lattice = Lattice::start().await;
    let mut events = lattice.events().await;
    let seed = nkeys::KeyPair::new_server();
    let _host = Running(
        Command::new(BIN)
            .args(["--nats-port", &lattice.nats.port().to_string(), "--allow-file-load"])
            .args(["--no-compile-cache", "--enable-logs", "--enable-traces"])
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
            .env("WASMCLOUD_HOST_SEED", seed.seed().unwrap())
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the host binary starts"),
    );
    wait_event(&mut events, "host_started", |e| match data(e) {
        LatticeEvent::HostStarted(_) => Some(()),
        _ => None,
    })
    .await;

    // http-config logs each request through `wasi:logging` and stdout.
    let host_id = HostId::new(seed.public_key());
    let client = &lattice.client;
    client
        .scale_component(&ScaleComponentCommand {
            component_ref: file_ref(guests::HTTP_CONFIG),
            component_id: ComponentId::new("logger"),
            max_instances: 1,
            host_id: host_id.clone(),
            ..ScaleComponentCommand::default()
        })
        .await
        .unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id == "logger" => Some(()),
        _ => None,
    })
    .await;
    let addr = free_address();
    client
        .start_provider(&StartProviderCommand {
            provider_id: ProviderId::new("http-server"),
            provider_ref: "wasmcloud+builtin://http-server".into(),
            host_id,
            ..StartProviderCommand::default()
        })
        .await
        .unwrap();
    let listen = ConfigValues::from([("address".to_owned(), addr.to_string())]);
    client.put_config(&ConfigName::new("listen"), &listen).await.unwrap();
    client
        .put_link(&http_link("http-server", "logger", "listen"))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the route on {addr} never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("traceparent: 00-{trace_id}-00f067aa0ba902b7-01");
    let response = get_with(addr, "/exported", &[&traceparent]).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let guest_line = |r: &ReceivedLog| r.body() == Some("serving /exported");
    let stdout_line = |r: &ReceivedLog| r.body() == Some("http-config stdout line for /exported");
    receiver
        .wait_until("the guest's lines exported", WAIT, |r| {
            let records = r.log_records();
            records.iter().any(guest_line) && records.iter().any(stdout_line)
        })
        .await;
    let records = receiver.received().log_records();
    for line in [guest_line, stdout_line] {
        let record = records.iter().find(|r| line(r)).unwrap();
        let attributes = &record.record.attributes;
        assert_eq!(attribute(attributes, "component_id"), Some("logger"), "{record:?}");
        assert_eq!(record.trace_id(), trace_id, "{record:?}");
        // The span of the request's invocation (the ingress's), not the client's.
        assert_eq!(record.span_id().len(), 16, "{record:?}");
        assert_ne!(record.span_id(), "00f067aa0ba902b7", "{record:?}");
        assert_eq!(attribute(&record.resource, "service.name"), Some("wasmcloud-host"));
        assert_eq!(attribute(&record.resource, "host.id"), Some(seed.public_key().as_str()));
    }
    let guest = records.iter().find(|r| guest_line(r)).unwrap();
    assert_eq!(attribute(&guest.record.attributes, "context"), Some("http-config"));
    assert_eq!(guest.record.severity_text, "INFO");
    let stdout = records.iter().find(|r| stdout_line(r)).unwrap();
    assert_eq!(attribute(&stdout.record.attributes, "stream"), Some("stdout"));

    // The host's own lines go the same way, outside any trace.
    let own = records
        .iter()
        .find(|r| r.body() == Some("exporting logs over OTLP"))
        .unwrap_or_else(|| panic!("the host's own line is not among {records:?}"));
    assert!(own.trace_id().is_empty(), "{own:?}");
}
