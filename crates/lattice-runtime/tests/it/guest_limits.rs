//! Guest limits past memory and time: no network, a cap on host resources
//! and on table elements, and a rate limit on log lines. Each abuse fails
//! (or is throttled) for the guest alone; other components keep serving.

use std::time::{Duration, Instant};

use lattice_runtime::{ErrorKind, Limits, Runtime};
use lattice_test_support::guests::{HELLO_HTTP, HTTP_HOSTILE};

use crate::{body_text, captured_logs, get, guest, logs_until, runtime, shared_cache_dir, test_limits};

/// Sockets are off: the guest's `create-tcp-socket` and `create-udp-socket`
/// fail at once with `access-denied` (no socket, so no file descriptor, is
/// created), name lookup too, and the host keeps serving.
#[tokio::test]
async fn sockets_are_refused_before_any_is_created() {
    let runtime = runtime();
    let hostile = runtime.load("sockets", &guest(HTTP_HOSTILE)).unwrap();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    let fds_before = open_fds();
    for proto in ["tcp", "udp"] {
        let response = hostile.handle_http(get(&format!("/{proto}"))).await.unwrap();
        let text = body_text(response).await;
        assert!(
            text.starts_with(&format!("opened 0 {proto} sockets, then: Some(")),
            "{text}"
        );
        assert!(text.contains("\"access-denied\""), "{text}");
    }
    let response = hostile.handle_http(get("/lookup")).await.unwrap();
    let text = body_text(response).await;
    assert!(text.starts_with("lookup refused:"), "{text}");
    // The guest asked for 64 of each; none may have been opened (other
    // tests in this binary open a few descriptors meanwhile, not 64).
    assert!(open_fds() < fds_before + 32, "{fds_before} → {}", open_fds());
    let response = hello.handle_http(get("/after-sockets")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /after-sockets\n");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count)
}

/// A guest holding ever more host resources traps once the store's
/// resource table is full, with its own error kind; others keep serving.
#[tokio::test]
async fn resource_hog_fails_alone() {
    let runtime = Runtime::builder()
        .limits(Limits {
            max_resource_entries: 1000,
            ..test_limits()
        })
        .cache_dir(shared_cache_dir())
        .build()
        .unwrap();
    let hostile = runtime.load("pollables", &guest(HTTP_HOSTILE)).unwrap();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    // A clock pollable takes two entries (the deadline and its pollable);
    // the request and its response a few more. 400 fit under the cap, 600
    // do not.
    let response = hostile.handle_http(get("/pollables?400")).await.unwrap();
    assert_eq!(body_text(response).await, "held 400 pollables\n");
    let err = hostile.handle_http(get("/pollables?600")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::ResourceLimitExceeded, "{err:?}");
    assert!(err.to_string().contains("host resources"), "{err}");
    let response = hello.handle_http(get("/after-pollables")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /after-pollables\n");
}

/// A `wasi:http` handler whose core module grows its function table 1000
/// elements at a time until `table.grow` fails, then traps. Rust guests
/// cannot emit `table.grow`, hence text.
const TABLE_GROWER: &str = r#"(component
  (import "wasi:http/types@0.2.12" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))
  ))
  (alias export $types "incoming-request" (type $request))
  (alias export $types "response-outparam" (type $outparam))
  (core module $m
    (table $t 1 funcref)
    (func (export "handle") (param i32 i32)
      (loop $grow
        (br_if $grow
          (i32.ne (table.grow $t (ref.null func) (i32.const 1000)) (i32.const -1))))
      unreachable)
  )
  (core instance $i (instantiate $m))
  (func $handle (param "request" (own $request)) (param "response-out" (own $outparam))
    (canon lift (core func $i "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.12" (instance $handler))
)"#;

/// Growing a table past `max_table_elements` fails the guest with its own
/// error kind, with the pooling allocator and with on-demand allocation
/// (where nothing else bounds a table), and others keep serving.
#[tokio::test]
async fn table_growth_past_the_cap_fails_alone() {
    let wasm = wat::parse_str(TABLE_GROWER).unwrap();
    for pooling in [true, false] {
        let runtime = Runtime::builder()
            .limits(Limits {
                max_execution_time: Duration::from_secs(10),
                ..test_limits()
            })
            .pooling(pooling)
            .build()
            .unwrap();
        let grower = runtime.load("grower", &wasm).unwrap();
        let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
        let err = grower.handle_http(get("/")).await.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::TableLimitExceeded, "pooling {pooling}: {err:?}");
        assert!(err.to_string().contains("table"), "{err}");
        let response = hello.handle_http(get("/after-tables")).await.unwrap();
        assert_eq!(body_text(response).await, "hello from /after-tables\n");
    }
}

/// A guest writing 10 000 lines (stdout and `wasi:logging`) under a budget
/// of 50 a second finishes without waiting for the log sink; the lines past
/// the budget are dropped, and their count is logged as a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_flood_is_throttled_and_counted() {
    const LINES: u64 = 5000;
    let captured = captured_logs();
    let runtime = Runtime::builder()
        .limits(Limits {
            max_log_lines_per_second: 50,
            ..test_limits()
        })
        .cache_dir(shared_cache_dir())
        .build()
        .unwrap();
    let flooder = runtime.load("flooder", &guest(HTTP_HOSTILE)).unwrap();
    let hello = runtime.load("hello-beside-flood", &guest(HELLO_HTTP)).unwrap();
    let started = Instant::now();
    let flood = tokio::spawn(async move {
        let response = flooder.handle_http(get(&format!("/flood?{LINES}"))).await.unwrap();
        body_text(response).await
    });
    let response = hello.handle_http(get("/beside-flood")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /beside-flood\n");
    assert_eq!(flood.await.unwrap(), format!("wrote {LINES}\n"));
    let elapsed = started.elapsed();

    // Every line is accounted for: emitted, or dropped and counted.
    let logs = logs_until(captured, Duration::from_secs(10), |logs| {
        let (emitted, dropped) = flood_lines(logs);
        emitted + dropped >= 2 * LINES
    });
    let (emitted, dropped) = flood_lines(&logs);
    assert_eq!(emitted + dropped, 2 * LINES, "emitted {emitted}, dropped {dropped}");
    // The burst of 50, plus 50 a second while the guest ran.
    let allowed = 50 + 50 * (elapsed.as_secs() + 1);
    assert!(emitted <= allowed, "{emitted} lines emitted in {elapsed:?}");
    assert!(emitted >= 1, "no line at all");
}

/// Lines of the `flooder` component that reached the log, and the sum of
/// its dropped-line warnings.
fn flood_lines(logs: &str) -> (u64, u64) {
    let mine = logs.lines().filter(|l| l.contains("component_id=\"flooder\""));
    let mut emitted = 0;
    let mut dropped = 0;
    for line in mine {
        if line.contains("flood stdout line") || line.contains("flood logging line") {
            emitted += 1;
        } else if let Some(rest) = line.split("dropped=").nth(1) {
            dropped += rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    (emitted, dropped)
}
