//! Traces across the lattice, as a collector receives them: an HTTP request that carries a
//! `traceparent` enters host A's ingress, runs kvcounter there, whose key-value calls go over
//! a link to the Redis provider that host B runs. Both hosts and the provider export spans to
//! one real OTLP/HTTP receiver; the spans arrive as one trace, each parent link intact:
//! client → ingress (host A) → linked call (host A) → provider call (provider process).
//! With logs on as well, the provider exports its log lines to the same receiver.

use std::time::Duration;

use lattice_control_interface::{ConfigName, ConfigValues};
use lattice_test_support::otlp::{ReceivedSpan, Receiver, attribute, span};
use lattice_test_support::redis::RedisServer;
use lattice_test_support::{guests, providers};

use crate::http_e2e::{expose_over_http, get_with};
use crate::support::{Lattice, WAIT, keyvalue_link};

/// The Redis provider's `service.name`: the name it runs under.
const KV_REDIS: &str = "keyvalue-redis-provider";

/// The client's span, as a W3C `traceparent` names it.
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn kind(span: &ReceivedSpan) -> span::SpanKind {
    span::SpanKind::try_from(span.span.kind).unwrap_or(span::SpanKind::Unspecified)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_trace_spans_the_ingress_a_linked_call_and_a_provider_on_another_host() {
    let receiver = Receiver::start();
    let lattice = Lattice::start().await;
    let redis = RedisServer::start();
    let traced = || {
        let mut config = lattice.host_config(&[]);
        config.observability.enable_traces = Some(true);
        // Passed on to the provider; a host in this test process installs no subscriber.
        config.observability.enable_logs = Some(true);
        config.observability.observability_endpoint = Some(receiver.endpoint());
        lattice_host::Host::start(config)
    };
    let (host_a, host_b) = tokio::join!(traced(), traced());
    let (host_a, host_b) = (host_a.expect("host A starts"), host_b.expect("host B starts"));
    let client = &lattice.client;

    lattice.scale(&host_a, "kvcounter", guests::HTTP_KVCOUNTER, 4).await;
    lattice
        .start_provider(&host_b, "kv-redis", providers::KEYVALUE_REDIS)
        .await;
    let url = ConfigValues::from([("URL".to_owned(), redis.url())]);
    client.put_config(&ConfigName::new("redis"), &url).await.unwrap();
    client
        .put_link(&keyvalue_link("kvcounter", "kv-redis", "redis"))
        .await
        .unwrap();
    let addr = expose_over_http(&lattice, &host_a, "kvcounter").await;

    // Until the link reaches host A and the provider, requests fail; each gets a trace of its
    // own, and the first answered one is followed.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut attempt = 0_u32;
    let trace_id = loop {
        attempt += 1;
        let trace_id = format!("4bf92f3577b34da6a3ce929d{attempt:08x}");
        let traceparent = format!("traceparent: 00-{trace_id}-{CLIENT_SPAN}-01");
        let response = get_with(addr, "/traced", &[&traceparent]).await;
        if response.starts_with("HTTP/1.1 200") {
            break trace_id;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "kvcounter never answered: {response}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Each host and the provider export in batches of their own: wait until the ingress span,
    // a linked call's span and a span under each linked call's have all arrived.
    let in_trace = |received: &lattice_test_support::otlp::Received| -> Vec<ReceivedSpan> {
        received
            .spans()
            .into_iter()
            .filter(|s| s.trace_id() == trace_id)
            .collect()
    };
    let complete = |spans: &[ReceivedSpan]| {
        let calls: Vec<&ReceivedSpan> = spans.iter().filter(|s| kind(s) == span::SpanKind::Client).collect();
        spans.iter().any(|s| s.span.name == "GET")
            && !calls.is_empty()
            && calls
                .iter()
                .all(|call| spans.iter().any(|s| s.parent_span_id() == call.span_id()))
    };
    receiver
        .wait_until("every span of the traced request", WAIT, |received| {
            complete(&in_trace(received))
        })
        .await;
    let spans = in_trace(&receiver.received());
    let names: Vec<String> = spans.iter().map(|s| format!("{} {}", s.service, s.span.name)).collect();

    // The ingress's server span, child of the client's.
    let ingress = spans
        .iter()
        .find(|s| s.service == "wasmcloud-host" && s.span.name == "GET")
        .unwrap_or_else(|| panic!("no ingress span in {names:?}"));
    assert_eq!(kind(ingress), span::SpanKind::Server);
    assert_eq!(ingress.parent_span_id(), CLIENT_SPAN);
    assert_eq!(attribute(&ingress.span.attributes, "component.id"), Some("kvcounter"));
    assert_eq!(attribute(&ingress.span.attributes, "url.path"), Some("/traced"));
    // Who sent it is said by the resource.
    assert_eq!(attribute(&ingress.resource, "host.id"), Some(host_a.id().as_str()));

    // kvcounter's linked calls: client spans under the ingress span, each with the provider's
    // server span under it.
    let calls: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.service == "wasmcloud-host" && kind(s) == span::SpanKind::Client)
        .collect();
    assert!(!calls.is_empty(), "no linked-call span in {names:?}");
    for call in &calls {
        assert!(call.span.name.starts_with("wrpc:keyvalue/"), "{}", call.span.name);
        assert_eq!(
            call.parent_span_id(),
            ingress.span_id(),
            "{} is not under the ingress span",
            call.span.name
        );
        assert_eq!(attribute(&call.span.attributes, "component.id"), Some("kvcounter"));
        assert_eq!(attribute(&call.span.attributes, "link.target"), Some("kv-redis"));
        let served = spans
            .iter()
            .find(|s| s.parent_span_id() == call.span_id())
            .unwrap_or_else(|| panic!("no span under {} in {names:?}", call.span.name));
        assert_eq!(served.service, KV_REDIS);
        assert_eq!(kind(served), span::SpanKind::Server);
        assert_eq!(served.span.name, call.span.name);
        assert_eq!(attribute(&served.span.attributes, "caller.id"), Some("kvcounter"));
        assert_eq!(attribute(&served.resource, "host.id"), Some(host_b.id().as_str()));
        assert!(
            attribute(&served.resource, "provider.id").is_some_and(|id| !id.is_empty()),
            "the provider's resource names it: {:?}",
            served.resource
        );
    }

    // Control requests are traced too: the scale request, and the start it led to.
    let all = receiver.received().spans();
    let scale_request = all
        .iter()
        .find(|s| s.span.name == "ctl.component.scale")
        .expect("a span of the scale request");
    let start = all
        .iter()
        .find(|s| s.span.name == "component.scale")
        .expect("a span of the component's start");
    assert_eq!(start.parent_span_id(), scale_request.span_id());
    assert_eq!(attribute(&start.span.attributes, "component.id"), Some("kvcounter"));

    // The provider, told by host B's host data that logs are on, exports its own lines.
    let from_provider = |r: &lattice_test_support::otlp::ReceivedLog| {
        attribute(&r.resource, "service.name") == Some(KV_REDIS) && r.body() == Some("exporting logs over OTLP")
    };
    receiver
        .wait_until("the provider's log line", WAIT, |r| {
            r.log_records().iter().any(from_provider)
        })
        .await;
    let logs = receiver.received().log_records();
    let line = logs.iter().find(|r| from_provider(r)).unwrap();
    assert_eq!(attribute(&line.resource, "host.id"), Some(host_b.id().as_str()));

    host_a.stop(None).await;
    host_b.stop(None).await;
}
