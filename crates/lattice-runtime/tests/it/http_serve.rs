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
