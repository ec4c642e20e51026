//! The built-in HTTP ingress on its own (no NATS): address, path and host
//! routing into real guest components, per-request failures (trap, deadline,
//! memory cap → 500; no route → 404; not running → 503), route conflicts,
//! and graceful shutdown. Requests are written by hand over TCP so each test
//! controls exactly what is on the wire.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use lattice_host::ingress::{HttpIngress, IngressError, IngressSettings, RouteKey, RoutingMode};
use lattice_runtime::{Component, Limits, Runtime};
use lattice_test_support::guests;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// One runtime for every test here: a small pool, a short deadline for the
/// looping guest and a low memory cap for the hog, both far above what the
/// other guests need. A compile cache keeps repeated loads cheap.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<(Runtime, tempfile::TempDir)> = OnceLock::new();
    &RUNTIME
        .get_or_init(|| {
            let cache = tempfile::tempdir().unwrap();
            let runtime = Runtime::builder()
                .limits(Limits {
                    max_execution_time: Duration::from_secs(2),
                    max_linear_memory: 32 << 20,
                    max_components: 64,
                    ..Limits::default()
                })
                .cache_dir(cache.path())
                .build()
                .unwrap();
            (runtime, cache)
        })
        .0
}

fn load(id: &str, guest: &str) -> Component {
    runtime().load(id, &guests::bytes(guest)).unwrap()
}

/// The host's side of the hot path, as a test double: a table of running
/// components the test fills and empties.
#[derive(Clone, Default)]
struct Running(Arc<RwLock<HashMap<String, Component>>>);

impl Running {
    fn with(self, id: &str, guest: &str) -> Self {
        self.put(id, load(id, guest));
        self
    }

    fn put(&self, id: &str, component: Component) {
        self.0.write().unwrap().insert(id.to_string(), component);
    }

    fn ingress(&self, settings: IngressSettings) -> HttpIngress {
        let table = Arc::clone(&self.0);
        HttpIngress::new(settings, move |id: &str| table.read().unwrap().get(id).cloned()).unwrap()
    }
}

fn config(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn shared_mode(mode: RoutingMode) -> IngressSettings {
    IngressSettings {
        routing_mode: mode,
        default_address: "127.0.0.1:0".parse().unwrap(),
        ..IngressSettings::default()
    }
}

/// Adds an address-mode route on a fresh loopback port.
fn route(ingress: &HttpIngress, id: &str) -> SocketAddr {
    ingress
        .add_route(RouteKey::new(id, "default"), &config(&[("address", "127.0.0.1:0")]))
        .unwrap()
}

/// A response as read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

/// Sends `request` (a complete HTTP/1.x request, `Connection: close`) and
/// reads the whole response.
async fn send(addr: SocketAddr, request: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    parse(&raw)
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
    .await
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        head: head.to_string(),
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if size == 0 {
            break;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn address_mode_serves_each_link_on_its_own_listener() {
    let running = Running::default().with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(IngressSettings::default());
    let first = route(&ingress, "hello");
    let second = ingress
        .add_route(RouteKey::new("hello", "second"), &config(&[("ADDRESS", "127.0.0.1:0")]))
        .unwrap();
    assert_ne!(first, second);
    for addr in [first, second] {
        let reply = get(addr, "/hi?x=1").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.body, "hello from /hi?x=1\n");
    }
    // An HTTP/1.0 request without a Host header still has an authority.
    let reply = send(first, "GET /old HTTP/1.0\r\n\r\n").await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "hello from /old\n"),
        "{reply:?}"
    );
    assert_eq!(ingress.routes().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_mode_routes_by_longest_prefix_and_keeps_the_path() {
    let running = Running::default()
        .with("root", guests::HELLO_HTTP)
        .with("api", guests::HTTP_CONFIG)
        .with("users", guests::HTTP_CONFIG);
    for id in ["api", "users"] {
        let handle = running.0.read().unwrap()[id].clone();
        handle.set_config([[("name", id)]]);
    }
    let ingress = running.ingress(shared_mode(RoutingMode::Path));
    let addr = ingress.shared_addr().unwrap();
    for (id, path) in [("root", "/"), ("api", "/api"), ("users", "/api/users/")] {
        let bound = ingress
            .add_route(RouteKey::new(id, "default"), &config(&[("path", path)]))
            .unwrap();
        assert_eq!(bound, addr);
    }
    assert!(get(addr, "/api/orders/1").await.body.contains("name=api\n"));
    assert!(get(addr, "/api").await.body.contains("name=api\n"));
    assert!(get(addr, "/api/users/7").await.body.contains("name=users\n"));
    // Not stripped: the component sees the full path.
    assert_eq!(get(addr, "/apis/x").await.body, "hello from /apis/x\n");

    assert!(ingress.remove_route(&RouteKey::new("root", "default")));
    assert!(!ingress.remove_route(&RouteKey::new("root", "default")));
    let reply = get(addr, "/apis/x").await;
    assert_eq!(reply.status, 404, "{reply:?}");
    assert!(get(addr, "/api/users").await.body.contains("name=users\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_mode_routes_by_host_name() {
    let running = Running::default().with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(shared_mode(RoutingMode::Host));
    let addr = ingress.shared_addr().unwrap();
    ingress
        .add_route(
            RouteKey::new("hello", "default"),
            &config(&[("host", "api.example.com")]),
        )
        .unwrap();
    let hit = send(
        addr,
        "GET /h HTTP/1.1\r\nHost: API.example.com:80\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((hit.status, hit.body.as_str()), (200, "hello from /h\n"), "{hit:?}");
    let miss = send(
        addr,
        "GET /h HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(miss.status, 404, "{miss:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_mode_reads_the_host_from_the_configured_header() {
    let running = Running::default().with("hello", guests::HELLO_HTTP);
    let settings = limited(&[
        ("routing_mode", "host"),
        ("default_address", "127.0.0.1:0"),
        ("header", "X-Tenant-Host"),
    ]);
    let ingress = running.ingress(settings);
    let addr = ingress.shared_addr().unwrap();
    ingress
        .add_route(RouteKey::new("hello", "default"), &config(&[("host", "tenant-a")]))
        .unwrap();
    // The Host header names another host: the configured header decides.
    let hit = send(
        addr,
        "GET /t HTTP/1.1\r\nHost: www.example.com\r\nX-Tenant-Host: tenant-a\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((hit.status, hit.body.as_str()), (200, "hello from /t\n"), "{hit:?}");
    let without = send(addr, "GET /t HTTP/1.1\r\nHost: tenant-a\r\nConnection: close\r\n\r\n").await;
    assert_eq!(without.status, 404, "{without:?}");

    let err = IngressSettings::from_provider_config(&config(&[("header", "not a header")])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "config `header` is `not a header`, not an HTTP header name: use e.g. `x-forwarded-host`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trapping_guest_fails_its_request_alone() {
    let running = Running::default()
        .with("hello", guests::HELLO_HTTP)
        .with("trap", guests::HTTP_TRAP);
    let ingress = running.ingress(IngressSettings::default());
    let trap = route(&ingress, "trap");
    let hello = route(&ingress, "hello");
    for _ in 0..2 {
        let reply = get(trap, "/").await;
        assert_eq!(reply.status, 500, "{reply:?}");
        assert!(reply.body.contains("trapped"), "{reply:?}");
        assert_eq!(get(hello, "/still").await.body, "hello from /still\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_guest_is_stopped_by_the_deadline() {
    let running = Running::default()
        .with("loop", guests::HTTP_LOOP)
        .with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(IngressSettings::default());
    let spin = route(&ingress, "loop");
    let hello = route(&ingress, "hello");
    let (spun, greeted) = tokio::join!(get(spin, "/"), get(hello, "/meanwhile"));
    assert_eq!(spun.status, 500, "{spun:?}");
    assert!(spun.body.contains("deadline"), "{spun:?}");
    assert_eq!(greeted.status, 200, "{greeted:?}");
    assert_eq!(get(spin, "/").await.status, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_hog_hits_its_cap_alone() {
    let running = Running::default()
        .with("hog", guests::HTTP_MEMHOG)
        .with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(IngressSettings::default());
    let hog = route(&ingress, "hog");
    let hello = route(&ingress, "hello");
    let reply = get(hog, "/").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.body.contains("memory"), "{reply:?}");
    assert_eq!(get(hello, "/after").await.body, "hello from /after\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_are_404_and_stopped_components_503() {
    let running = Running::default().with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(shared_mode(RoutingMode::Path));
    let addr = ingress.shared_addr().unwrap();
    ingress
        .add_route(RouteKey::new("hello", "default"), &config(&[("path", "/hello")]))
        .unwrap();
    ingress
        .add_route(RouteKey::new("gone", "default"), &config(&[("path", "/gone")]))
        .unwrap();
    let reply = get(addr, "/nowhere").await;
    assert_eq!(reply.status, 404, "{reply:?}");
    let reply = get(addr, "/gone/x").await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("`gone` is not running"), "{reply:?}");

    // A closed permit semaphore means the host is stopping the component.
    let permits = Arc::new(Semaphore::new(1));
    let hello = load("hello", guests::HELLO_HTTP);
    hello.set_instance_permits(Some(Arc::clone(&permits)));
    running.put("hello", hello);
    assert_eq!(get(addr, "/hello").await.status, 200);
    permits.close();
    assert_eq!(get(addr, "/hello").await.status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicting_routes_are_refused_with_the_conflict_named() {
    let running = Running::default();
    let address = running.ingress(IngressSettings::default());
    let first = route(&address, "a");
    let taken = config(&[("address", &first.to_string())]);
    let err = address.add_route(RouteKey::new("b", "default"), &taken).unwrap_err();
    assert!(matches!(err, IngressError::AddressInUse { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("{first} is already routed to component `a`")),
        "{err}"
    );
    // The same link again: same route is a no-op, another route is refused.
    assert_eq!(address.add_route(RouteKey::new("a", "default"), &taken).unwrap(), first);
    let same = config(&[("address", "127.0.0.1:0")]);
    assert_eq!(address.add_route(RouteKey::new("a", "default"), &same).unwrap(), first);
    let err = address
        .add_route(RouteKey::new("a", "default"), &config(&[("address", "127.0.0.2:0")]))
        .unwrap_err();
    assert!(matches!(err, IngressError::RouteExists { .. }), "{err}");
    let err = address
        .add_route(RouteKey::new("c", "default"), &config(&[("address", "nowhere")]))
        .unwrap_err();
    assert!(matches!(err, IngressError::InvalidAddress { .. }), "{err}");

    let path = running.ingress(shared_mode(RoutingMode::Path));
    path.add_route(RouteKey::new("a", "default"), &config(&[("path", "/api")]))
        .unwrap();
    let err = path
        .add_route(RouteKey::new("b", "default"), &config(&[("path", "/api/")]))
        .unwrap_err();
    assert!(matches!(err, IngressError::PathInUse { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("path `/api` is already routed to component `a`"),
        "{err}"
    );
    let err = path.add_route(RouteKey::new("b", "default"), &config(&[])).unwrap_err();
    assert!(matches!(err, IngressError::MissingPath { .. }), "{err}");

    // The shared listener's address cannot be bound twice.
    let settings = IngressSettings {
        default_address: path.shared_addr().unwrap(),
        ..shared_mode(RoutingMode::Path)
    };
    let lookup = |_: &str| -> Option<Component> { None };
    let err = HttpIngress::new(settings, lookup).unwrap_err();
    assert!(matches!(err, IngressError::Bind { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_the_request_in_flight_finish() {
    let running = Running::default().with("echo", guests::HTTP_ECHO);
    let ingress = Arc::new(running.ingress(IngressSettings::default()));
    let addr = route(&ingress, "echo");

    // Send the head and half the body; the guest answers the head at once.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nfirst")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0_u8; 1024];
    while !String::from_utf8_lossy(&raw).contains("echo:") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "connection closed early: {:?}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"));

    let shutdown = tokio::spawn({
        let ingress = Arc::clone(&ingress);
        async move { ingress.shutdown(Duration::from_secs(60)).await }
    });
    // New connections are refused once the listener has stopped accepting.
    while TcpStream::connect(addr).await.is_ok() {
        tokio::task::yield_now().await;
    }
    assert!(!shutdown.is_finished());

    // The request in flight still completes.
    stream.write_all(b"-last").await.unwrap();
    stream.read_to_end(&mut raw).await.unwrap();
    let reply = parse(&raw);
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, "echo:first-last", "{}", reply.head);
    shutdown.await.unwrap();
    let err = route_after_shutdown(&ingress);
    assert!(matches!(err, IngressError::ShutDown), "{err}");
}

fn route_after_shutdown(ingress: &HttpIngress) -> IngressError {
    ingress
        .add_route(RouteKey::new("echo", "again"), &config(&[("address", "127.0.0.1:0")]))
        .unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_route_closes_its_listener() {
    let running = Running::default().with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(IngressSettings::default());
    let addr = route(&ingress, "hello");
    assert_eq!(get(addr, "/").await.status, 200);
    assert!(ingress.remove_route(&RouteKey::new("hello", "default")));
    while TcpStream::connect(addr).await.is_ok() {
        tokio::task::yield_now().await;
    }
    assert!(ingress.routes().is_empty());
}

/// Settings with client limits read from provider config, as an operator sets them.
fn limited(pairs: &[(&str, &str)]) -> IngressSettings {
    IngressSettings::from_provider_config(&config(pairs)).unwrap()
}

/// Reads until the server closes the connection; `None` if it stays open past `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    match tokio::time::timeout(bound, stream.read_to_end(&mut raw)).await {
        Ok(_) => Some(raw),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_complete_request_head_is_closed() {
    let running = Running::default().with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(limited(&[("request_head_timeout_ms", "300")]));
    let addr = route(&ingress, "hello");
    // Silent, half a head, and an HTTP/2 preface with no SETTINGS: each is closed
    // at the deadline, whatever protocol it was heading for.
    for sent in ["", "GET / HTTP/1.1\r\nHost: x\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(sent.as_bytes()).await.unwrap();
        assert!(
            closed_within(&mut stream, Duration::from_secs(5)).await.is_some(),
            "a connection that sent {sent:?} was still open after 5 s"
        );
    }
    let reply = get(addr, "/after").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "hello from /after\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_whatever_the_protocol() {
    let running = Running::default().with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(limited(&[
        ("request_head_timeout_ms", "300"),
        ("idle_timeout_ms", "500"),
    ]));
    let addr = route(&ingress, "hello");

    // HTTP/1 keep-alive: after its response, the wait for the next head is bounded.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /once HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let raw = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("an idle HTTP/1 connection was still open after 5 s");
    assert_eq!(parse(&raw).body, "hello from /once\n");

    // HTTP/2: a client that answers pings but sends nothing more gets a GOAWAY.
    let io = hyper_util::rt::TokioIo::new(TcpStream::connect(addr).await.unwrap());
    let (mut sender, connection) = hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    for path in ["/first", "/second"] {
        let request = http::Request::get(format!("http://localhost{path}"))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap();
        assert_eq!(body.to_bytes(), format!("hello from {path}\n"));
    }
    let closed = tokio::time::timeout(Duration::from_secs(5), connection).await;
    assert!(closed.is_ok(), "an idle HTTP/2 connection was still open after 5 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let running = Running::default().with("hello", guests::HELLO_HTTP);
    let ingress = running.ingress(limited(&[("max_connections", "2")]));
    let addr = route(&ingress, "hello");
    // Two keep-alive connections hold both slots.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /held HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0_u8; 12];
        stream.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        held.push(stream);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /third HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut third, Duration::from_millis(500)).await.is_none(),
        "a third connection was served while two held every slot"
    );
    drop(held.pop());
    let raw = closed_within(&mut third, Duration::from_secs(10))
        .await
        .expect("served once a slot was free");
    let reply = parse(&raw);
    assert_eq!((reply.status, reply.body.as_str()), (200, "hello from /third\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_bodies_are_bounded_in_size_and_time() {
    let running = Running::default().with("echo", guests::HTTP_ECHO);
    let ingress = running.ingress(limited(&[
        ("max_request_body_bytes", "16"),
        ("body_idle_timeout_ms", "300"),
    ]));
    let addr = route(&ingress, "echo");
    let big = "x".repeat(100);

    // Declared too large: 413 before the component runs.
    let reply = send(
        addr,
        &format!("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{big}"),
    )
    .await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert!(reply.body.contains("16 bytes"), "{reply:?}");

    // Streamed past the limit: the guest's read fails there; it never sees the rest.
    let reply = send(
        addr,
        &format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             a\r\n{}\r\n64\r\n{big}\r\n0\r\n\r\n",
            &big[..10]
        ),
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.starts_with(&format!("echo:{}", &big[..10])), "{reply:?}");
    assert!(
        reply.body.len() <= "echo:".len() + 16,
        "the guest read past the limit: {reply:?}"
    );

    // A body that stalls: the guest's read times out and the response ends, long before
    // the 2 s execution deadline would have stopped the guest.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc")
        .await
        .unwrap();
    let raw = closed_within(&mut stream, Duration::from_millis(1500))
        .await
        .expect("the stalled request ended at the body idle timeout");
    let reply = parse(&raw);
    assert_eq!((reply.status, reply.body.as_str()), (200, "echo:abc"), "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_requests_hold_their_instance_until_the_guest_ends_then_give_it_back() {
    let running = Running::default()
        .with("sleep", guests::HTTP_LOOP)
        .with("hello", guests::HELLO_HTTP);
    let permits = Arc::new(Semaphore::new(2));
    running.0.read().unwrap()["sleep"].set_instance_permits(Some(Arc::clone(&permits)));
    let ingress = running.ingress(IngressSettings::default());
    let sleep = route(&ingress, "sleep");
    let hello = route(&ingress, "hello");

    // Clients that send a request, wait until the guests run, then go away. (Leaving
    // before hyper has polled the request at all is a race the server may win: then
    // no guest ever starts, which is fine but not what this test is about.)
    let mut clients = Vec::new();
    for _ in 0..10 {
        let mut stream = TcpStream::connect(sleep).await.unwrap();
        stream
            .write_all(b"GET /sleep HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        clients.push(stream);
    }
    let running_guests = tokio::time::timeout(Duration::from_secs(10), async {
        while permits.available_permits() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(running_guests.is_ok(), "the requests never took the instances");
    // Each client half-closes; the server sees the end of its input and drops the
    // request, which the closed connection shows.
    for mut stream in clients {
        stream.shutdown().await.unwrap();
        assert!(
            closed_within(&mut stream, Duration::from_secs(5)).await.is_some(),
            "the server kept an abandoned connection open"
        );
    }
    // The guests they started still run, each holding its instance (the deadline
    // is 2 s away)...
    assert_eq!(
        permits.available_permits(),
        0,
        "an abandoned request gave back an instance its guest still uses"
    );
    // ...while every other component keeps serving.
    assert_eq!(get(hello, "/meanwhile").await.body, "hello from /meanwhile\n");
    // At the deadline the guests end and the capacity is back.
    let returned = tokio::time::timeout(Duration::from_secs(20), async {
        while permits.available_permits() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(returned.is_ok(), "the instances never came back");
    let reply = get(sleep, "/").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(reply.body.contains("deadline"), "{reply:?}");
}
