//! The data plane: linked calls between components on two hosts over wRPC, and a provider's
//! `wrpc:http` call into a component's HTTP handler, all on a real `nats-server`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use lattice_control_interface::{ComponentId, LatticeEvent, Link, LinkName, ScaleComponentCommand};
use lattice_host::Host;
use lattice_interfaces::bindings::wrpc::http::incoming_handler;
use lattice_interfaces::http as wrpc_http;
use lattice_test_support::guests;

use crate::http_e2e::{expose_over_http, get};
use crate::support::{Lattice, WAIT, data, file_ref, wait_event};

/// Starts `guest` as `id` on `host` and waits until it runs.
pub(crate) async fn run(lattice: &Lattice, host: &Host, guest: &str, id: &str) {
    let mut events = lattice.events().await;
    let scale = ScaleComponentCommand {
        component_ref: file_ref(guest),
        component_id: ComponentId::new(id),
        max_instances: 4,
        host_id: host.id().clone(),
        ..ScaleComponentCommand::default()
    };
    lattice.client.scale_component(&scale).await.unwrap();
    wait_event(&mut events, "component_scaled", |e| match data(e) {
        LatticeEvent::ComponentScaled(s) if s.component_id == id && s.max_instances > 0 => Some(()),
        _ => None,
    })
    .await;
}

pub(crate) fn greeter_link() -> Link {
    Link {
        source_id: ComponentId::new("caller"),
        target: ComponentId::new("greeter"),
        wit_namespace: "test".into(),
        wit_package: "unlinked".into(),
        interfaces: vec!["greeter".into()],
        ..Link::default()
    }
}

/// GETs `path` until the response satisfies `done`; returns that response.
async fn get_until(addr: std::net::SocketAddr, path: &str, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let response = get(addr, path).await;
        if done(&response) {
            return response;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not happen: last response {response}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_linked_interface_is_called_on_another_host() {
    let lattice = Lattice::start().await;
    let (host_a, host_b) = tokio::join!(lattice.host(&[]), lattice.host(&[]));
    run(&lattice, &host_a, guests::HTTP_UNLINKED, "caller").await;
    run(&lattice, &host_b, guests::GREETER, "greeter").await;
    let addr = expose_over_http(&lattice, &host_a, "caller").await;

    // No link yet: the call fails at once, naming the link it needs.
    let response = get(addr, "/").await;
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    assert!(
        response.contains("no link named `default` provides `test:unlinked/greeter`"),
        "{response}"
    );

    lattice.client.put_link(&greeter_link()).await.unwrap();
    let response = get_until(addr, "/?name=lattice", "the link taking effect", |r| {
        r.starts_with("HTTP/1.1 200")
    })
    .await;
    assert!(response.contains("\r\nhello, lattice\r\n"), "{response}");

    // A guest that fails on the other host fails this call alone, quickly.
    let started = tokio::time::Instant::now();
    let response = get(addr, "/?name=trap").await;
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    assert!(response.contains("a call over a link failed"), "{response}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(get(addr, "/").await.contains("\r\nhello, runtime\r\n"));

    // The link goes: the caller's error names it again.
    lattice
        .client
        .delete_link(
            &ComponentId::new("caller"),
            &LinkName::default_name(),
            "test",
            "unlinked",
        )
        .await
        .unwrap();
    let response = get_until(addr, "/", "the link deletion taking effect", |r| {
        r.starts_with("HTTP/1.1 500")
    })
    .await;
    assert!(response.contains("no link named `default`"), "{response}");

    // A link to a target that does not run: the error says nothing answers for it.
    lattice
        .client
        .scale_component(&ScaleComponentCommand {
            component_id: ComponentId::new("greeter"),
            max_instances: 0,
            host_id: host_b.id().clone(),
            ..ScaleComponentCommand::default()
        })
        .await
        .unwrap();
    lattice.client.put_link(&greeter_link()).await.unwrap();
    let response = get_until(addr, "/", "the call to a stopped target failing", |r| {
        r.contains("answers for `greeter`")
    })
    .await;
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
    assert!(
        response.contains("nothing on lattice `default` answers for `greeter`"),
        "{response}"
    );

    let deadline = Some(tokio::time::Instant::now() + Duration::from_secs(5));
    tokio::join!(host_a.stop(deadline), host_b.stop(deadline));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrpc_http_call_reaches_the_component_handler() {
    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    run(&lattice, &host, guests::HELLO_HTTP, "hello").await;

    // What an http-server provider does: call the component's handler over wRPC.
    let nats = async_nats::connect(lattice.nats.url()).await.unwrap();
    let wrpc = wrpc_transport_nats::Client::new(nats, "default.hello", None)
        .await
        .unwrap();
    let request = http::Request::builder()
        .uri("http://example.com/over/wrpc?x=1")
        .body(http_body_util::Full::new(Bytes::new()))
        .unwrap();
    let (response, io) = tokio::time::timeout(
        WAIT,
        incoming_handler::handle(&wrpc, None, wrpc_http::request_from_http(request)),
    )
    .await
    .expect("answer in time")
    .expect("the call goes through");
    let response = wrpc_http::response_into_http(response.expect("the component answers")).unwrap();
    assert_eq!(response.status(), 200);
    let (body, io) = tokio::join!(response.into_body().collect(), async {
        if let Some(io) = io {
            io.await.expect("streams finish");
        }
    });
    let () = io;
    assert_eq!(body.unwrap().to_bytes(), "hello from /over/wrpc?x=1\n");
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}

/// Plays an http-client provider: answers every outgoing request with 200 and the path.
#[derive(Clone)]
struct UpstreamSays;

impl<Ctx: Send> lattice_interfaces::bindings::exports::wrpc::http::outgoing_handler::Handler<Ctx> for UpstreamSays {
    async fn handle(
        &self,
        _cx: Ctx,
        request: wrpc_http::Request,
        _options: Option<wrpc_http::RequestOptions>,
    ) -> anyhow::Result<Result<wrpc_http::Response, wrpc_http::ErrorCode>> {
        let path = request.path_with_query.unwrap_or_default();
        let response = http::Response::new(http_body_util::Full::new(Bytes::from(format!("upstream says {path}"))));
        Ok(Ok(wrpc_http::response_from_http(response)))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn outgoing_http_goes_over_a_link() {
    use futures::StreamExt as _;
    use lattice_interfaces::bindings::exports::wrpc::http::outgoing_handler;

    let lattice = Lattice::start().await;
    let host = lattice.host(&[]).await;
    run(&lattice, &host, guests::HTTP_FETCH, "fetcher").await;
    let addr = expose_over_http(&lattice, &host, "fetcher").await;

    // No link: the guest gets an error naming the link it needs; nothing reaches the network.
    let response = get(addr, "/x").await;
    assert!(response.starts_with("HTTP/1.1 502"), "{response}");
    assert!(response.contains("provides `wasi:http/outgoing-handler`"), "{response}");

    let nats = async_nats::connect(lattice.nats.url()).await.unwrap();
    let wrpc = wrpc_transport_nats::Client::new(nats, "default.http-client", Some("default.http-client".into()))
        .await
        .unwrap();
    let [(_, _, mut calls)] = outgoing_handler::serve_interface(&wrpc, UpstreamSays).await.unwrap();
    tokio::spawn(async move {
        while let Some(call) = calls.next().await {
            if let Ok(call) = call {
                tokio::spawn(call);
            }
        }
    });
    lattice
        .client
        .put_link(&Link {
            source_id: ComponentId::new("fetcher"),
            target: ComponentId::new("http-client"),
            wit_namespace: "wasi".into(),
            wit_package: "http".into(),
            interfaces: vec!["outgoing-handler".into()],
            ..Link::default()
        })
        .await
        .unwrap();
    let response = get_until(addr, "/x?y=1", "the outgoing link taking effect", |r| {
        r.starts_with("HTTP/1.1 200")
    })
    .await;
    assert!(response.contains("upstream says /x?y=1"), "{response}");
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(5)))
        .await;
}
