//! Metrics (RFC 0001) as a collector receives them: a host with metrics on exports to a real
//! OTLP/HTTP receiver on a free port, which decodes the protocol's own messages. After a known
//! number of good and failing requests, and of linked calls, the names, types, units,
//! attributes and values are what upstream hosts send.

use std::time::Duration;

use lattice_test_support::guests;
use lattice_test_support::otlp::proto::common::v1 as otlp_kv;
use lattice_test_support::otlp::proto::metrics::v1 as otlp_points;
use lattice_test_support::otlp::{Metric, Receiver, attribute, attribute_keys, metric};

use crate::http_e2e::{expose_over_http, get};
use crate::support::{Lattice, WAIT};
use crate::wrpc::{greeter_link, run};

const HTTP_HANDLE: &str = "wasi:http/incoming-handler/handle";
const GREET: &str = "test:unlinked/greeter@0.1.0/greet";

/// The data points of a sum (counter or up-down counter) whose attributes satisfy `pick`,
/// added up.
fn sum_where(metric: &Metric, pick: impl Fn(&[otlp_kv::KeyValue]) -> bool) -> i64 {
    let Some(metric::Data::Sum(sum)) = &metric.data else {
        panic!("{} is not a sum: {:?}", metric.name, metric.data);
    };
    sum.data_points
        .iter()
        .filter(|p| pick(&p.attributes))
        .map(|p| match p.value {
            Some(otlp_points::number_data_point::Value::AsInt(v)) => v,
            other => panic!("{}: not an integer: {other:?}", metric.name),
        })
        .sum()
}

fn of(component_ref: &str, operation: &str) -> impl Fn(&[otlp_kv::KeyValue]) -> bool {
    move |attributes| {
        attribute(attributes, "component.ref") == Some(component_ref)
            && attribute(attributes, "operation") == Some(operation)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_exports_upstreams_metrics_over_otlp() {
    let receiver = Receiver::start();
    let lattice = Lattice::start().await;
    let mut config = lattice.host_config(&[]);
    config.observability.enable_metrics = Some(true);
    config.observability.observability_endpoint = Some(receiver.endpoint());
    let host = lattice_host::Host::start(config).await.expect("host starts");
    run(&lattice, &host, guests::HTTP_UNLINKED, "caller").await;
    run(&lattice, &host, guests::GREETER, "greeter").await;
    let addr = expose_over_http(&lattice, &host, "caller").await;
    let caller_ref = crate::support::file_ref(guests::HTTP_UNLINKED);
    let greeter_ref = crate::support::file_ref(guests::GREETER);

    // Until the link applies the caller fails (missing link); every answer is counted here.
    lattice.client.put_link(&greeter_link()).await.unwrap();
    let (mut answered, mut failed) = (0_i64, 0_i64);
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut ok = 0;
    while ok < 3 {
        let response = get(addr, "/?name=metrics").await;
        answered += 1;
        if response.starts_with("HTTP/1.1 200") {
            ok += 1;
        } else {
            assert!(response.contains("no link named `default`"), "{response}");
            failed += 1;
            assert!(tokio::time::Instant::now() < deadline, "the link never applied");
        }
    }
    // The greeter traps: its invocation, the caller's call and the caller's request fail.
    for _ in 0..2 {
        let response = get(addr, "/?name=trap").await;
        assert!(response.starts_with("HTTP/1.1 500"), "{response}");
        answered += 1;
        failed += 1;
    }

    // Stopping the host exports what it recorded last.
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(10)))
        .await;
    receiver
        .wait_until("the final export", Duration::from_secs(30), |r| {
            r.metric("wasmcloud_host.component.invocations")
                .is_some_and(|m| sum_where(m, of(&caller_ref, HTTP_HANDLE)) == answered)
        })
        .await;
    let received = receiver.received();

    let names = received.metric_names();
    for name in [
        "wasmcloud_host.handle_rpc_message.duration",
        "wasmcloud_host.call_rpc_message.duration",
        "wasmcloud_host.component.invocations",
        "wasmcloud_host.component.invocation.errors",
        "wasmcloud_host.component.active_instances",
        "wasmcloud_host.component.max_instances",
        "wasmcloud_host.process.memory.total.bytes",
        "wasmcloud_host.process.memory.used.bytes",
        "wasmcloud_host.process.cpu.usage",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }

    // Counters: monotonic, cumulative, by component reference and operation.
    let invocations = received.metric("wasmcloud_host.component.invocations").unwrap();
    let Some(metric::Data::Sum(sum)) = &invocations.data else {
        panic!("invocations is not a sum")
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        otlp_points::AggregationTemporality::Cumulative as i32
    );
    let point = sum
        .data_points
        .iter()
        .find(|p| of(&caller_ref, HTTP_HANDLE)(&p.attributes))
        .unwrap();
    assert_eq!(
        attribute_keys(&point.attributes),
        ["component.ref", "host", "lattice", "operation"]
    );
    assert_eq!(attribute(&point.attributes, "host"), Some(host.id().as_str()));
    assert_eq!(attribute(&point.attributes, "lattice"), Some("default"));
    assert_eq!(sum_where(invocations, of(&greeter_ref, GREET)), ok + 2);

    let errors = received.metric("wasmcloud_host.component.invocation.errors").unwrap();
    assert_eq!(sum_where(errors, of(&caller_ref, HTTP_HANDLE)), failed);
    assert_eq!(sum_where(errors, of(&greeter_ref, GREET)), 2);
    // The caller's failed outbound calls count too, under the caller's id.
    let failed_calls = sum_where(errors, |a| {
        attribute(a, "component.id") == Some("caller") && attribute(a, "operation") == Some(GREET)
    });
    assert_eq!(failed_calls, 2);

    // Latency: a histogram in nanoseconds with upstream's explicit buckets, one point per
    // invocation.
    let duration = received.metric("wasmcloud_host.handle_rpc_message.duration").unwrap();
    assert_eq!(duration.unit, "nanoseconds");
    let Some(metric::Data::Histogram(histogram)) = &duration.data else {
        panic!("handle_rpc_message.duration is not a histogram")
    };
    let caller_latency = histogram
        .data_points
        .iter()
        .find(|p| of(&caller_ref, HTTP_HANDLE)(&p.attributes))
        .unwrap();
    assert_eq!(caller_latency.count, u64::try_from(answered).unwrap());
    assert_eq!(caller_latency.explicit_bounds.len(), 19);
    assert!(caller_latency.sum.unwrap() > 0.0);
    let calls = received.metric("wasmcloud_host.call_rpc_message.duration").unwrap();
    let Some(metric::Data::Histogram(calls)) = &calls.data else {
        panic!("call_rpc_message.duration is not a histogram")
    };
    let call_count: u64 = calls
        .data_points
        .iter()
        .filter(|p| attribute(&p.attributes, "component.id") == Some("caller"))
        .map(|p| p.count)
        .sum();
    assert_eq!(call_count, u64::try_from(ok + 2).unwrap());

    // Instances: none active once all answered; max_instances as scaled, with the id.
    let active = received.metric("wasmcloud_host.component.active_instances").unwrap();
    let Some(metric::Data::Sum(active_sum)) = &active.data else {
        panic!("active_instances is not a sum")
    };
    assert!(!active_sum.is_monotonic);
    assert_eq!(sum_where(active, of(&caller_ref, HTTP_HANDLE)), 0);
    let point = &active_sum.data_points[0];
    assert_eq!(
        attribute_keys(&point.attributes),
        ["component.id", "component.ref", "host", "lattice", "operation"]
    );
    let max = received.metric("wasmcloud_host.component.max_instances").unwrap();
    let Some(metric::Data::Gauge(max)) = &max.data else {
        panic!("max_instances is not a gauge")
    };
    let caller_max = max
        .data_points
        .iter()
        .find(|p| attribute(&p.attributes, "component.id") == Some("caller"))
        .unwrap();
    assert_eq!(caller_max.value, Some(otlp_points::number_data_point::Value::AsInt(4)));

    // The machine's memory and CPU.
    let memory = received.metric("wasmcloud_host.process.memory.total.bytes").unwrap();
    assert_eq!(memory.unit, "bytes");
    let Some(metric::Data::Gauge(memory)) = &memory.data else {
        panic!("memory.total.bytes is not a gauge")
    };
    assert!(matches!(
        memory.data_points[0].value,
        Some(otlp_points::number_data_point::Value::AsInt(bytes)) if bytes > 0
    ));
    let cpu = received.metric("wasmcloud_host.process.cpu.usage").unwrap();
    assert_eq!(cpu.unit, "percentage");
    let Some(metric::Data::Gauge(cpu)) = &cpu.data else {
        panic!("cpu.usage is not a gauge")
    };
    assert!(matches!(
        cpu.data_points[0].value,
        Some(otlp_points::number_data_point::Value::AsDouble(percent)) if (0.0..=100.0).contains(&percent)
    ));

    // Who sent it: the service, and the host in the meter's scope.
    let resource_metrics = &received.metrics.last().unwrap().resource_metrics[0];
    let resource = resource_metrics.resource.as_ref().unwrap();
    assert_eq!(attribute(&resource.attributes, "service.name"), Some("wasmcloud-host"));
    let scope = resource_metrics.scope_metrics[0].scope.as_ref().unwrap();
    assert_eq!(attribute(&scope.attributes, "host.id"), Some(host.id().as_str()));
    assert_eq!(attribute(&scope.attributes, "host.os"), Some(std::env::consts::OS));
    for key in [
        "host.version",
        "host.arch",
        "host.osfamily",
        "host.friendly_name",
        "host.hostname",
        "host.kernel_version",
        "host.os_version",
    ] {
        assert!(
            attribute(&scope.attributes, key).is_some(),
            "scope attribute {key} missing"
        );
    }
    assert!(received.refused.is_empty(), "{:?}", received.refused);
}

/// Metrics and traces off (the default): the host sends nothing, even with a collector
/// listening.
#[tokio::test(flavor = "multi_thread")]
async fn a_host_without_telemetry_sends_nothing() {
    let receiver = Receiver::start();
    let lattice = Lattice::start().await;
    let mut config = lattice.host_config(&[]);
    config.observability.observability_endpoint = Some(receiver.endpoint());
    let host = lattice_host::Host::start(config).await.expect("host starts");
    run(&lattice, &host, guests::HELLO_HTTP, "hello").await;
    let addr = expose_over_http(&lattice, &host, "hello").await;
    assert!(get(addr, "/").await.starts_with("HTTP/1.1 200"));
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(10)))
        .await;
    let received = receiver.received();
    assert!(received.metrics.is_empty() && received.traces.is_empty() && received.refused.is_empty());
}

/// A bad endpoint is refused at start, naming the setting and the fix.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_metrics_endpoint_is_refused_at_start() {
    let lattice = Lattice::start().await;
    let mut config = lattice.host_config(&[]);
    config.observability.enable_observability = true;
    config.observability.observability_endpoint = Some("collector:4318".into());
    let err = lattice_host::Host::start(config).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("`collector:4318` is not an OTLP endpoint"), "{text}");
    assert!(text.contains("http://127.0.0.1:4318"), "{text}");

    // A signal's own endpoint is checked when that signal is on.
    let mut config = lattice.host_config(&[]);
    config.observability.enable_traces = Some(true);
    config.observability.traces_endpoint = Some("not a url".into());
    let err = lattice_host::Host::start(config).await.unwrap_err().to_string();
    assert!(err.contains("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT `not a url`"), "{err}");
}

/// `--observability-protocol grpc`: the same metrics and spans over OTLP/gRPC, to the
/// collector's `MetricsService` and `TraceService`.
#[tokio::test(flavor = "multi_thread")]
async fn telemetry_goes_over_grpc_when_asked() {
    let receiver = Receiver::start_grpc();
    let lattice = Lattice::start().await;
    let mut config = lattice.host_config(&[]);
    config.observability.enable_observability = true;
    config.observability.protocol = "Grpc".into();
    config.observability.observability_endpoint = Some(receiver.endpoint());
    let host = lattice_host::Host::start(config).await.expect("host starts");
    run(&lattice, &host, guests::HELLO_HTTP, "hello").await;
    let addr = expose_over_http(&lattice, &host, "hello").await;
    for _ in 0..3 {
        assert!(get(addr, "/").await.starts_with("HTTP/1.1 200"));
    }
    host.stop(Some(tokio::time::Instant::now() + Duration::from_secs(10)))
        .await;
    let hello_ref = crate::support::file_ref(guests::HELLO_HTTP);
    receiver
        .wait_until("the final export over gRPC", Duration::from_secs(30), |r| {
            r.metric("wasmcloud_host.component.invocations")
                .is_some_and(|m| sum_where(m, of(&hello_ref, HTTP_HANDLE)) == 3)
        })
        .await;
    let received = receiver.received();
    let requests = received
        .spans()
        .into_iter()
        .filter(|s| s.span.name == "GET" && attribute(&s.span.attributes, "component.id") == Some("hello"))
        .count();
    assert_eq!(requests, 3, "one span per request");
    assert!(received.refused.is_empty());
}
