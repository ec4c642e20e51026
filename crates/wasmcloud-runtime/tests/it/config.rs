//! `wasi:config/store` values (named config maps merged in order) and guest
//! logging through `wasi:logging` and stdout.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use test_support::guests::HTTP_CONFIG;

use crate::{body_text, get, guest, runtime};

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

/// Log output of the whole test binary, formatted. A global subscriber
/// rather than a scoped one: tracing caches per call site whether anyone is
/// interested, and tests running in parallel without a subscriber would
/// switch the guest-log call sites off for a scoped one.
fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs: &'static Mutex<Vec<u8>> = Box::leak(Box::default());
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Captured(logs))
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        logs
    })
}

struct Captured(&'static Mutex<Vec<u8>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn guest_logs_become_tagged_tracing_events() {
    let captured = captured_logs();
    let runtime = runtime();
    let component = runtime.load("config-logger", &guest(HTTP_CONFIG)).unwrap();
    let response = component.handle_http(get("/logged")).await.unwrap();
    body_text(response).await;

    let logs = String::from_utf8(captured.lock().unwrap().clone()).unwrap();
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
