//! Upstream's `wasmcloud_host.*` instruments (RFC 0001) and what records them: an
//! [`InvocationObserver`] per running component, and a probe per linked call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lattice_runtime::InvocationObserver;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{
    Counter, Gauge, Histogram, Meter, ObservableCounter, ObservableGauge, ObservableUpDownCounter,
};

use super::process::Sample;

/// Bucket boundaries of the two duration histograms, in nanoseconds: 10 µs to 10 s. The
/// SDK's defaults (0 to 10 000) are meant for milliseconds.
const DURATION_BOUNDARIES_NS: [f64; 19] = [
    10e3, 25e3, 50e3, 100e3, 250e3, 500e3, 1e6, 2.5e6, 5e6, 10e6, 25e6, 50e6, 100e6, 250e6, 500e6, 1e9, 2.5e9, 5e9,
    10e9,
];

/// The host's instruments.
pub(crate) struct HostMetrics {
    lattice: KeyValue,
    host: KeyValue,
    handle_rpc_message_duration: Histogram<u64>,
    call_rpc_message_duration: Histogram<u64>,
    invocation_errors: Counter<u64>,
    max_instances: Gauge<u64>,
    /// Every operation's instance count and every invocation total, read by the
    /// `active_instances` and `invocations` callbacks.
    tables: Arc<Mutex<Tables>>,
    /// Kept with the instruments; their callbacks read the counts and the sampler.
    _invocations: ObservableCounter<u64>,
    _active_instances: ObservableUpDownCounter<i64>,
    _process: [ObservableGauge<u64>; 2],
    _cpu: ObservableGauge<f64>,
}

/// Component id, reference, operation.
type OperationKey = (Arc<str>, Arc<str>, Arc<str>);

/// The counts the host keeps itself (an atomic each on the hot path) and reports at each
/// export.
#[derive(Default)]
struct Tables {
    /// The recording state of each (component id, reference, operation) seen, shared by
    /// the observers of that component (an update's old and new ones alike).
    operations: HashMap<OperationKey, Arc<Operation>>,
    /// The invocation total of each (reference, operation), shared by every component
    /// started from that reference. Never dropped: a counter's total only grows, as the
    /// SDK's own would for a synchronous counter.
    invocations: HashMap<(Arc<str>, Arc<str>), Arc<Invocations>>,
}

impl std::fmt::Debug for HostMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostMetrics").finish_non_exhaustive()
    }
}

impl HostMetrics {
    pub(crate) fn new(meter: &Meter, lattice: &str, host_id: &str, sample: &Arc<Sample>) -> Self {
        let duration = |name: &'static str| {
            meter
                .u64_histogram(name)
                .with_unit("nanoseconds")
                .with_boundaries(DURATION_BOUNDARIES_NS.to_vec())
                .build()
        };
        let memory = |name: &'static str, read: fn(&Sample) -> u64| {
            let sample = Arc::clone(sample);
            meter
                .u64_observable_gauge(name)
                .with_unit("bytes")
                .with_callback(move |gauge| gauge.observe(read(&sample), &[]))
                .build()
        };
        let cpu = {
            let sample = Arc::clone(sample);
            meter
                .f64_observable_gauge("wasmcloud_host.process.cpu.usage")
                .with_unit("percentage")
                .with_callback(move |gauge| gauge.observe(sample.cpu_usage(), &[]))
                .build()
        };
        let tables: Arc<Mutex<Tables>> = Arc::default();
        // Counted with an atomic per invocation on the hot path, reported at each export,
        // so an invocation makes no lookup in the SDK's attribute maps for these two.
        let invocations = {
            let tables = Arc::clone(&tables);
            meter
                .u64_observable_counter("wasmcloud_host.component.invocations")
                .with_callback(move |counter| {
                    let tables = tables.lock().unwrap_or_else(PoisonError::into_inner);
                    for total in tables.invocations.values() {
                        counter.observe(total.count.load(Ordering::Relaxed), &total.attributes);
                    }
                })
                .build()
        };
        // An operation of a component that stopped is reported (at 0) once more, then dropped.
        let active_instances = {
            let tables = Arc::clone(&tables);
            meter
                .i64_observable_up_down_counter("wasmcloud_host.component.active_instances")
                .with_callback(move |counter| {
                    let mut tables = tables.lock().unwrap_or_else(PoisonError::into_inner);
                    for operation in tables.operations.values() {
                        counter.observe(operation.active.load(Ordering::Relaxed), &operation.instance);
                    }
                    tables
                        .operations
                        .retain(|_, operation| Arc::strong_count(operation) > 1);
                })
                .build()
        };
        Self {
            lattice: KeyValue::new("lattice", lattice.to_owned()),
            host: KeyValue::new("host", host_id.to_owned()),
            handle_rpc_message_duration: duration("wasmcloud_host.handle_rpc_message.duration"),
            call_rpc_message_duration: duration("wasmcloud_host.call_rpc_message.duration"),
            invocation_errors: meter.u64_counter("wasmcloud_host.component.invocation.errors").build(),
            max_instances: meter.u64_gauge("wasmcloud_host.component.max_instances").build(),
            tables,
            _invocations: invocations,
            _active_instances: active_instances,
            _process: [
                memory("wasmcloud_host.process.memory.total.bytes", Sample::memory_total),
                memory("wasmcloud_host.process.memory.used.bytes", Sample::memory_used),
            ],
            _cpu: cpu,
        }
    }

    /// The observer of `component`, running as `component_id` from `component_ref`. The
    /// recording state of each of its operations is looked up here, once, so an invocation
    /// costs a map lookup without a lock, an atomic and the SDK's own recording.
    pub(crate) fn observer(
        self: &Arc<Self>,
        component_id: &str,
        component_ref: &str,
        component: &lattice_runtime::Component,
    ) -> Arc<dyn InvocationObserver> {
        let mut names: Vec<Arc<str>> = component.exports().iter().map(|e| Arc::clone(e.operation())).collect();
        if component.exports_http() {
            names.push(lattice_runtime::HTTP_OPERATION.into());
        }
        self.observer_of(component_id, component_ref, names)
    }

    /// The observer of component `component_id` from `component_ref`, which exports the
    /// operations `names`.
    fn observer_of(
        self: &Arc<Self>,
        component_id: &str,
        component_ref: &str,
        names: Vec<Arc<str>>,
    ) -> Arc<dyn InvocationObserver> {
        let id: Arc<str> = component_id.into();
        let reference: Arc<str> = component_ref.into();
        let operations = names
            .into_iter()
            .map(|name| {
                let operation = self.operation(&id, &reference, &name);
                (name, operation)
            })
            .collect();
        Arc::new(ComponentObserver {
            metrics: Arc::clone(self),
            id,
            reference,
            operations,
            others: Mutex::default(),
        })
    }

    /// The recording state of `operation` of component `id` from `reference`, shared with
    /// every other observer of the same.
    fn operation(&self, id: &Arc<str>, reference: &Arc<str>, operation: &Arc<str>) -> Arc<Operation> {
        let mut tables = self.tables.lock().unwrap_or_else(PoisonError::into_inner);
        let Tables {
            operations,
            invocations,
        } = &mut *tables;
        let key = (Arc::clone(id), Arc::clone(reference), Arc::clone(operation));
        Arc::clone(operations.entry(key).or_insert_with(|| {
            let total = invocations
                .entry((Arc::clone(reference), Arc::clone(operation)))
                .or_insert_with(|| {
                    Arc::new(Invocations {
                        attributes: [
                            KeyValue::new("component.ref", reference.to_string()),
                            self.lattice.clone(),
                            self.host.clone(),
                            KeyValue::new("operation", operation.to_string()),
                        ],
                        count: AtomicU64::new(0),
                    })
                });
            let [a, b, c, d] = total.attributes.clone();
            Arc::new(Operation {
                instance: [a, b, c, d, KeyValue::new("component.id", id.to_string())],
                invocations: Arc::clone(total),
                active: AtomicI64::new(0),
            })
        }))
    }

    /// Records `max_instances` of a component started, scaled (0 when stopped) or updated.
    pub(crate) fn set_max_instances(&self, component_id: &str, component_ref: &str, max_instances: u32) {
        self.max_instances.record(
            u64::from(max_instances),
            &[
                KeyValue::new("component.ref", component_ref.to_owned()),
                self.lattice.clone(),
                self.host.clone(),
                KeyValue::new("component.id", component_id.to_owned()),
            ],
        );
    }

    /// Starts timing a call `source` makes over a link to `instance`'s `function`; the
    /// call is recorded when the probe is dropped (after its last stream), failed if
    /// [`CallProbe::fail`] was called.
    pub(crate) fn call(self: &Arc<Self>, source: &str, instance: &str, function: &str) -> CallProbe {
        CallProbe {
            metrics: Arc::clone(self),
            attributes: [
                self.lattice.clone(),
                self.host.clone(),
                KeyValue::new("operation", format!("{instance}/{function}")),
                KeyValue::new("component.id", source.to_owned()),
            ],
            started: Instant::now(),
            failed: AtomicBool::new(false),
        }
    }
}

/// Nanoseconds, saturating.
fn nanos(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// One operation of one component: its attribute sets, built once, and its running count.
struct Operation {
    /// `component.ref`, `lattice`, `host`, `operation` and `component.id`.
    instance: [KeyValue; 5],
    /// The invocation total of the operation's reference, with its attributes (the same
    /// but `component.id`).
    invocations: Arc<Invocations>,
    active: AtomicI64,
}

/// Invocations ended of one operation of one reference, with their attributes.
struct Invocations {
    /// `component.ref`, `lattice`, `host`, `operation`.
    attributes: [KeyValue; 4],
    count: AtomicU64,
}

/// Records one component's invocations.
struct ComponentObserver {
    metrics: Arc<HostMetrics>,
    id: Arc<str>,
    reference: Arc<str>,
    /// The component's operations, known when it was loaded; read without a lock.
    operations: HashMap<Arc<str>, Arc<Operation>>,
    /// Operations met that were not among those; held here, like those, so their counts
    /// live as long as the component.
    others: Mutex<HashMap<Arc<str>, Arc<Operation>>>,
}

impl ComponentObserver {
    fn with_operation(&self, name: &str, record: impl FnOnce(&Operation)) {
        match self.operations.get(name) {
            Some(known) => record(known),
            // Not among the exports the runtime listed: recorded all the same.
            None => {
                let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
                let name: Arc<str> = name.into();
                let operation = others
                    .entry(Arc::clone(&name))
                    .or_insert_with(|| self.metrics.operation(&self.id, &self.reference, &name));
                record(operation);
            }
        }
    }
}

impl InvocationObserver for ComponentObserver {
    fn started(&self, operation: &str) {
        self.with_operation(operation, |operation| {
            operation.active.fetch_add(1, Ordering::Relaxed);
        });
    }

    fn ended(&self, operation: &str, elapsed: Duration, failed: bool) {
        let metrics = &self.metrics;
        self.with_operation(operation, |operation| {
            operation.active.fetch_sub(1, Ordering::Relaxed);
            let invocations = &operation.invocations;
            invocations.count.fetch_add(1, Ordering::Relaxed);
            if failed {
                metrics.invocation_errors.add(1, &invocations.attributes);
            }
            metrics
                .handle_rpc_message_duration
                .record(nanos(elapsed), &invocations.attributes);
        });
    }
}

/// One linked call being timed (see [`HostMetrics::call`]).
pub(crate) struct CallProbe {
    metrics: Arc<HostMetrics>,
    attributes: [KeyValue; 4],
    started: Instant,
    failed: AtomicBool,
}

impl CallProbe {
    /// Counts the call as failed.
    pub(crate) fn fail(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for CallProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallProbe").finish_non_exhaustive()
    }
}

impl Drop for CallProbe {
    fn drop(&mut self) {
        self.metrics
            .call_rpc_message_duration
            .record(nanos(self.started.elapsed()), &self.attributes);
        if *self.failed.get_mut() {
            self.metrics.invocation_errors.add(1, &self.attributes);
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::metrics::MeterProvider as _;
    use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};

    use super::*;

    /// The latest exported `invocations` total of each `component.ref` and `operation`.
    fn totals(exporter: &InMemoryMetricExporter) -> HashMap<(String, String), u64> {
        let exports = exporter.get_finished_metrics().unwrap();
        let latest = exports.last().expect("an export");
        let metric = latest
            .scope_metrics()
            .flat_map(|scope| scope.metrics())
            .find(|m| m.name() == "wasmcloud_host.component.invocations")
            .expect("invocations exported");
        let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else {
            panic!("invocations is not a u64 sum");
        };
        assert!(sum.is_monotonic());
        sum.data_points()
            .map(|point| {
                let value = |key: &str| {
                    let found = point.attributes().find(|kv| kv.key.as_str() == key);
                    found.map(|kv| kv.value.to_string()).unwrap()
                };
                ((value("component.ref"), value("operation")), point.value())
            })
            .collect()
    }

    /// Components started from one reference share one total (one data point per
    /// attribute set, as a synchronous counter's), and it keeps growing, never dropping,
    /// when one of them stops.
    #[test]
    fn invocations_of_one_reference_add_up_and_survive_a_stop() {
        let exporter = InMemoryMetricExporter::default();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter.clone()).build())
            .build();
        let metrics = Arc::new(HostMetrics::new(
            &provider.meter("test"),
            "default",
            "NHOST",
            &Arc::default(),
        ));
        let op: Arc<str> = "test:pkg/api/call".into();
        let first = metrics.observer_of("a", "file:///one.wasm", vec![Arc::clone(&op)]);
        let second = metrics.observer_of("b", "file:///one.wasm", vec![Arc::clone(&op)]);
        let other = metrics.observer_of("c", "file:///two.wasm", vec![Arc::clone(&op)]);
        let invoke = |observer: &Arc<dyn InvocationObserver>, times: usize, operation: &str| {
            for _ in 0..times {
                observer.started(operation);
                observer.ended(operation, Duration::from_micros(20), false);
            }
        };
        invoke(&first, 2, &op);
        invoke(&second, 3, &op);
        invoke(&other, 1, &op);
        provider.force_flush().unwrap();
        let total = |seen: &HashMap<(String, String), u64>, reference: &str, operation: &str| {
            seen.get(&(reference.to_owned(), operation.to_owned())).copied()
        };
        let seen = totals(&exporter);
        assert_eq!(total(&seen, "file:///one.wasm", &op), Some(5), "{seen:?}");
        assert_eq!(total(&seen, "file:///two.wasm", &op), Some(1), "{seen:?}");

        // `a` stops; its invocations stay in the total, across exports.
        drop(first);
        provider.force_flush().unwrap();
        invoke(&second, 1, &op);
        // An operation the component did not list is counted all the same.
        invoke(&other, 2, "test:pkg/api/unlisted");
        provider.force_flush().unwrap();
        let seen = totals(&exporter);
        assert_eq!(total(&seen, "file:///one.wasm", &op), Some(6), "{seen:?}");
        assert_eq!(
            total(&seen, "file:///two.wasm", "test:pkg/api/unlisted"),
            Some(2),
            "{seen:?}"
        );
        assert_eq!(seen.len(), 3, "{seen:?}");
    }
}
