//! Serving `wasi:http/incoming-handler`: responses, per-request isolation
//! after a trap, and imports no link provides.

use lattice_runtime::ErrorKind;
use lattice_test_support::guests::{HELLO_HTTP, HTTP_COUNTER, HTTP_TRAP, HTTP_UNLINKED};

use crate::{body_text, get, guest, runtime};

#[tokio::test]
async fn hello_serves_200_with_body() {
    let runtime = runtime();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    assert!(hello.exports_http());
    assert!(hello.claims().is_none());
    let response = hello.handle_http(get("/greet?x=1")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(response).await, "hello from /greet?x=1\n");
}

#[tokio::test]
async fn load_async_compiles_off_the_async_workers() {
    let runtime = runtime();
    let hello = runtime.load_async("hello", guest(HELLO_HTTP)).await.unwrap();
    let response = hello.handle_http(get("/async")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /async\n");
}

#[tokio::test]
async fn each_request_gets_a_fresh_instance() {
    let runtime = runtime();
    let counter = runtime.load("counter", &guest(HTTP_COUNTER)).unwrap();
    for _ in 0..3 {
        let response = counter.handle_http(get("/")).await.unwrap();
        // The guest's static counter starts over: no state leaks between requests.
        assert_eq!(body_text(response).await, "1");
    }
}

#[tokio::test]
async fn trap_fails_that_request_only() {
    let runtime = runtime();
    let trap = runtime.load("trap", &guest(HTTP_TRAP)).unwrap();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();

    let err = trap.handle_http(get("/")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Trap, "{err:?}");

    // The healthy component, and the trapping one's next request, still run.
    let response = hello.handle_http(get("/after")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /after\n");
    let err = trap.handle_http(get("/")).await.unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Trap);
}

#[tokio::test]
async fn unlinked_import_fails_naming_the_interface() {
    let runtime = runtime();
    let unlinked = runtime.load("unlinked", &guest(HTTP_UNLINKED)).unwrap();
    assert_eq!(unlinked.linked_imports(), ["test:unlinked/greeter@0.1.0"]);
    let err = unlinked.handle_http(get("/")).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::MissingLink {
            link_name: "default".into(),
            interface: "test:unlinked/greeter".into(),
            function: "greet".into(),
        }
    );
    assert!(
        err.to_string()
            .contains("no link named `default` provides `test:unlinked/greeter`"),
        "{err}"
    );
}

#[tokio::test]
async fn core_modules_are_rejected() {
    let runtime = runtime();
    // The smallest core module: the preamble alone.
    let err = runtime.load("core", b"\0asm\x01\0\0\0").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::CoreModule);
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
}

/// What an observer saw, in order; `count` follows its length.
struct Seen {
    events: std::sync::Mutex<Vec<(String, Option<bool>)>>,
    count: tokio::sync::watch::Sender<usize>,
}

impl Seen {
    fn push(&self, event: (String, Option<bool>)) {
        let mut events = self.events.lock().unwrap();
        events.push(event);
        self.count.send_replace(events.len());
    }
}

impl lattice_runtime::InvocationObserver for Seen {
    fn started(&self, operation: &str) {
        self.push((operation.to_owned(), None));
    }

    fn ended(&self, operation: &str, elapsed: std::time::Duration, failed: bool) {
        assert!(elapsed > std::time::Duration::ZERO);
        self.push((operation.to_owned(), Some(failed)));
    }
}

#[tokio::test]
async fn an_observer_sees_each_invocation_start_and_end_with_its_outcome() {
    let runtime = runtime();
    let hello = runtime.load("hello", &guest(HELLO_HTTP)).unwrap();
    let trap = runtime.load("trap", &guest(HTTP_TRAP)).unwrap();
    let (count, mut counted) = tokio::sync::watch::channel(0);
    let seen = std::sync::Arc::new(Seen {
        events: std::sync::Mutex::default(),
        count,
    });
    hello.set_observer(Some(seen.clone()));
    trap.set_observer(Some(seen.clone()));

    let response = hello.handle_http(get("/")).await.unwrap();
    assert_eq!(body_text(response).await, "hello from /\n");
    trap.handle_http(get("/")).await.unwrap_err();
    // The guest's task reports its end once it has dropped its store.
    let op = "wasi:http/incoming-handler/handle".to_owned();
    let expected = vec![
        (op.clone(), None),
        (op.clone(), Some(false)),
        (op.clone(), None),
        (op.clone(), Some(true)),
    ];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        counted.wait_for(|n| *n == expected.len()),
    )
    .await
    .expect("both invocations reported their end")
    .unwrap();
    assert_eq!(*seen.events.lock().unwrap(), expected);
    assert_eq!(hello.active_instances(), 0);

    // Without an observer nothing is reported.
    hello.set_observer(None);
    hello.handle_http(get("/")).await.unwrap();
    assert_eq!(seen.events.lock().unwrap().len(), expected.len());
}
