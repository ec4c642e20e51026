//! `wasi:config/store` values (named config maps merged in order) and guest
//! logging through `wasi:logging` and stdout.

use std::time::Duration;

use lattice_test_support::guests::HTTP_CONFIG;

use crate::{body_text, captured_logs, get, guest, logs_until, runtime};

#[tokio::test]
async fn later_config_maps_win() {
    let runtime = runtime();
    let component = runtime.load("config", &guest(HTTP_CONFIG)).unwrap();
    component.set_config([
        vec![("first", "1"), ("shared", "from-first")],
        vec![("shared", "from-second"), ("second", "2")],
    ]);
    let response = component.handle_http(get("/")).await.unwrap();
    assert_eq!(
        body_text(response).await,
        "first=1\nsecond=2\nshared=from-second\nget(shared)=from-second\n"
    );
}

#[tokio::test]
async fn config_updates_apply_to_the_next_request() {
    let runtime = runtime();
    let component = runtime.load("config", &guest(HTTP_CONFIG)).unwrap();
    let response = component.handle_http(get("/")).await.unwrap();
    assert_eq!(body_text(response).await, "get(shared)=<none>\n");
    component.set_config([[("shared", "now")]]);
    let response = component.handle_http(get("/")).await.unwrap();
    assert_eq!(body_text(response).await, "shared=now\nget(shared)=now\n");
}

#[tokio::test]
async fn guest_logs_become_tagged_tracing_events() {
    let captured = captured_logs();
    let runtime = runtime();
    let component = runtime.load("config-logger", &guest(HTTP_CONFIG)).unwrap();
    let response = component.handle_http(get("/logged")).await.unwrap();
    body_text(response).await;

    // Guest lines reach `tracing` from the runtime's log writer thread.
    let logs = logs_until(captured, Duration::from_secs(5), |logs| {
        logs.contains("serving /logged") && logs.contains("http-config stdout line for /logged")
    });
    let logging_line = logs
        .lines()
        .find(|l| l.contains("serving /logged"))
        .unwrap_or_else(|| panic!("no wasi:logging line in {logs}"));
    assert!(
        logging_line.contains("component_id=\"config-logger\""),
        "{logging_line}"
    );
    assert!(logging_line.contains("INFO"), "{logging_line}");
    let stdout_line = logs
        .lines()
        .find(|l| l.contains("http-config stdout line for /logged"))
        .unwrap_or_else(|| panic!("no stdout line in {logs}"));
    assert!(stdout_line.contains("component_id=\"config-logger\""), "{stdout_line}");
}
