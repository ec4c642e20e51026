//! Upstream's `wasmcloud_host.*` instruments (RFC 0001) and what records them: an
//! [`InvocationObserver`] per running component, and a probe per linked call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lattice_runtime::InvocationObserver;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, ObservableGauge, ObservableUpDownCounter};

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
    invocations: Counter<u64>,
    invocation_errors: Counter<u64>,
    max_instances: Gauge<u64>,
    /// Every operation's instance count, read by the `active_instances` callback.
    operations: Arc<Mutex<OperationTable>>,
    /// Kept with the instruments; their callbacks read the counts and the sampler.
    _active_instances: ObservableUpDownCounter<i64>,
    _process: [ObservableGauge<u64>; 2],
    _cpu: ObservableGauge<f64>,
}

/// The recording state of each (component id, reference, operation) seen, shared by the
/// observers of that component (an update's old and new ones alike).
type OperationTable = HashMap<(Arc<str>, Arc<str>, Arc<str>), Arc<Operation>>;

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
        let operations: Arc<Mutex<OperationTable>> = Arc::default();
        // Counted with one atomic per invocation on the hot path, reported at each export.
        // An operation of a component that stopped is reported (at 0) once more, then dropped.
        let active_instances = {
            let operations = Arc::clone(&operations);
            meter
                .i64_observable_up_down_counter("wasmcloud_host.component.active_instances")
                .with_callback(move |counter| {
                    let mut operations = operations.lock().unwrap_or_else(PoisonError::into_inner);
                    for operation in operations.values() {
                        counter.observe(operation.active.load(Ordering::Relaxed), &operation.instance);
                    }
                    operations.retain(|_, operation| Arc::strong_count(operation) > 1);
                })
                .build()
        };
        Self {
            lattice: KeyValue::new("lattice", lattice.to_owned()),
            host: KeyValue::new("host", host_id.to_owned()),
            handle_rpc_message_duration: duration("wasmcloud_host.handle_rpc_message.duration"),
            call_rpc_message_duration: duration("wasmcloud_host.call_rpc_message.duration"),
            invocations: meter.u64_counter("wasmcloud_host.component.invocations").build(),
            invocation_errors: meter.u64_counter("wasmcloud_host.component.invocation.errors").build(),
            max_instances: meter.u64_gauge("wasmcloud_host.component.max_instances").build(),
            operations,
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
        let id: Arc<str> = component_id.into();
        let reference: Arc<str> = component_ref.into();
        let mut names: Vec<Arc<str>> = component.exports().iter().map(|e| Arc::clone(e.operation())).collect();
        if component.exports_http() {
            names.push(lattice_runtime::HTTP_OPERATION.into());
        }
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
        })
    }

    /// The recording state of `operation` of component `id` from `reference`, shared with
    /// every other observer of the same.
    fn operation(&self, id: &Arc<str>, reference: &Arc<str>, operation: &Arc<str>) -> Arc<Operation> {
        let mut table = self.operations.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (Arc::clone(id), Arc::clone(reference), Arc::clone(operation));
        Arc::clone(table.entry(key).or_insert_with(|| {
            let invocation = [
                KeyValue::new("component.ref", reference.to_string()),
                self.lattice.clone(),
                self.host.clone(),
                KeyValue::new("operation", operation.to_string()),
            ];
            let [a, b, c, d] = invocation.clone();
            Arc::new(Operation {
                instance: [a, b, c, d, KeyValue::new("component.id", id.to_string())],
                invocation,
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
    /// `component.ref`, `lattice`, `host`, `operation`.
    invocation: [KeyValue; 4],
    /// The same and `component.id`.
    instance: [KeyValue; 5],
    active: AtomicI64,
}

/// Records one component's invocations.
struct ComponentObserver {
    metrics: Arc<HostMetrics>,
    id: Arc<str>,
    reference: Arc<str>,
    /// The component's operations, known when it was loaded; read without a lock.
    operations: HashMap<Arc<str>, Arc<Operation>>,
}

impl ComponentObserver {
    fn with_operation(&self, name: &str, record: impl FnOnce(&Operation)) {
        match self.operations.get(name) {
            Some(known) => record(known),
            // Not among the exports the runtime listed: recorded all the same.
            None => record(&self.metrics.operation(&self.id, &self.reference, &name.into())),
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
            metrics.invocations.add(1, &operation.invocation);
            if failed {
                metrics.invocation_errors.add(1, &operation.invocation);
            }
            metrics
                .handle_rpc_message_duration
                .record(nanos(elapsed), &operation.invocation);
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
