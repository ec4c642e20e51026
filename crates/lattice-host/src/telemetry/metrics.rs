//! Upstream's `wasmcloud_host.*` instruments (RFC 0001) and what records them: an
//! [`InvocationObserver`] per running component, and a probe per linked call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use lattice_runtime::InvocationObserver;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, ObservableGauge, UpDownCounter};

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
    active_instances: UpDownCounter<i64>,
    max_instances: Gauge<u64>,
    /// Kept with the instruments; their callbacks read the sampler's latest values.
    _process: [ObservableGauge<u64>; 2],
    _cpu: ObservableGauge<f64>,
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
        Self {
            lattice: KeyValue::new("lattice", lattice.to_owned()),
            host: KeyValue::new("host", host_id.to_owned()),
            handle_rpc_message_duration: duration("wasmcloud_host.handle_rpc_message.duration"),
            call_rpc_message_duration: duration("wasmcloud_host.call_rpc_message.duration"),
            invocations: meter.u64_counter("wasmcloud_host.component.invocations").build(),
            invocation_errors: meter.u64_counter("wasmcloud_host.component.invocation.errors").build(),
            active_instances: meter
                .i64_up_down_counter("wasmcloud_host.component.active_instances")
                .build(),
            max_instances: meter.u64_gauge("wasmcloud_host.component.max_instances").build(),
            _process: [
                memory("wasmcloud_host.process.memory.total.bytes", Sample::memory_total),
                memory("wasmcloud_host.process.memory.used.bytes", Sample::memory_used),
            ],
            _cpu: cpu,
        }
    }

    /// The observer of component `component_id` running from `component_ref`.
    pub(crate) fn observer(self: &Arc<Self>, component_id: &str, component_ref: &str) -> Arc<dyn InvocationObserver> {
        Arc::new(ComponentObserver {
            metrics: Arc::clone(self),
            component_ref: KeyValue::new("component.ref", component_ref.to_owned()),
            component_id: KeyValue::new("component.id", component_id.to_owned()),
            operations: RwLock::default(),
        })
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

/// Records one component's invocations.
struct ComponentObserver {
    metrics: Arc<HostMetrics>,
    component_ref: KeyValue,
    component_id: KeyValue,
    /// The attribute sets of each operation seen, built once.
    operations: RwLock<HashMap<String, Arc<Attributes>>>,
}

/// The attribute sets of one operation of one component.
struct Attributes {
    /// `component.ref`, `lattice`, `host`, `operation`.
    invocation: [KeyValue; 4],
    /// The same and `component.id`.
    instance: [KeyValue; 5],
}

impl ComponentObserver {
    fn attributes(&self, operation: &str) -> Arc<Attributes> {
        if let Some(known) = self
            .operations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
        {
            return Arc::clone(known);
        }
        let operation_kv = KeyValue::new("operation", operation.to_owned());
        let invocation = [
            self.component_ref.clone(),
            self.metrics.lattice.clone(),
            self.metrics.host.clone(),
            operation_kv,
        ];
        let [a, b, c, d] = invocation.clone();
        let built = Arc::new(Attributes {
            invocation,
            instance: [a, b, c, d, self.component_id.clone()],
        });
        // Operations are the component's exports: the map stays as small as they are.
        Arc::clone(
            self.operations
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(operation.to_owned())
                .or_insert(built),
        )
    }
}

impl InvocationObserver for ComponentObserver {
    fn started(&self, operation: &str) {
        self.metrics
            .active_instances
            .add(1, &self.attributes(operation).instance);
    }

    fn ended(&self, operation: &str, elapsed: Duration, failed: bool) {
        let attributes = self.attributes(operation);
        let metrics = &self.metrics;
        metrics.active_instances.add(-1, &attributes.instance);
        metrics.invocations.add(1, &attributes.invocation);
        if failed {
            metrics.invocation_errors.add(1, &attributes.invocation);
        }
        metrics
            .handle_rpc_message_duration
            .record(nanos(elapsed), &attributes.invocation);
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
