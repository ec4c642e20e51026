//! Resource limits for components (defaults match the wasmCloud v1 host
//! flags where it has one) and the per-store `ResourceLimiter` that enforces
//! the memory and table caps.

use std::time::Duration;

/// Limits the runtime applies to every component it runs.
///
/// The defaults are those of the wasmCloud v1 host (`--max-execution-time-ms`,
/// `--max-linear-memory-bytes`, `--max-component-size-bytes`,
/// `--max-components`, `--max-core-instances-per-component`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget of one invocation (one HTTP request, one call).
    pub max_execution_time: Duration,
    /// Cap on the linear memory of one component instance, summed over its
    /// memories.
    pub max_linear_memory: u64,
    /// Largest component binary accepted by [`crate::Runtime::load`].
    pub max_component_size: usize,
    /// How many component instances may be live at once; sizes the pooling
    /// allocator.
    pub max_components: u32,
    /// Core instances one component may create; sizes the pooling allocator.
    pub max_core_instances_per_component: u32,
    /// Invocations (HTTP requests, calls) running at once across every
    /// component; more wait for one to finish. Each running invocation
    /// holds a fiber stack, and the pooling allocator reserves one stack,
    /// with a guard page, per invocation allowed.
    pub max_concurrent_invocations: u32,
    /// Cap on the elements of any one table of a component instance (its
    /// function tables): growing a table past it fails, and an instance
    /// whose tables start larger does not instantiate. Also the size of
    /// each table slot of the pooling allocator.
    pub max_table_elements: usize,
    /// Host resources (streams, pollables, fields, key-value buckets, …)
    /// one invocation may hold at once: past it, the call that would create
    /// one more traps with [`crate::ErrorKind::ResourceLimitExceeded`].
    pub max_resource_entries: usize,
    /// Guest log lines (stdout, stderr and `wasi:logging`, together) one
    /// component may emit per second, with bursts of as many; lines past
    /// it are dropped and counted, and the count is logged as a warning.
    /// `0`: no rate limit (lines are still dropped when the log queue is
    /// full).
    pub max_log_lines_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_execution_time: Duration::from_secs(600),
            max_linear_memory: 256 * 1024 * 1024,
            max_component_size: 50 * 1024 * 1024,
            max_components: 10_000,
            max_core_instances_per_component: 30,
            max_concurrent_invocations: 1000,
            max_table_elements: 10_000,
            max_resource_entries: 4096,
            max_log_lines_per_second: 1000,
        }
    }
}

impl Limits {
    /// How many invocations run at once: never more than there are instance
    /// slots ([`Limits::max_components`]) or fiber stacks for, so an
    /// admitted invocation always finds both and the rest wait their turn
    /// instead of failing. The pool's stack count is this same number.
    pub(crate) fn admitted_invocations(&self) -> u32 {
        self.max_components.min(self.max_concurrent_invocations).max(1)
    }
}

/// Limits for one component, tighter than the runtime's [`Limits`]: what
/// wasmCloud's `component_limits` (`max_memory_limit`, `max_execution_time`)
/// ask for when a component is scaled. A value above the runtime's limit
/// changes nothing: the runtime's limit is the ceiling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ComponentLimits {
    /// Cap on the linear memory of one instance of this component.
    pub max_linear_memory: Option<u64>,
    /// Wall-clock budget of one invocation of this component.
    pub max_execution_time: Option<Duration>,
}

/// What one invocation runs under: the runtime's limits narrowed by the
/// component's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvocationLimits {
    pub(crate) max_linear_memory: u64,
    pub(crate) max_execution_time: Duration,
    pub(crate) max_table_elements: usize,
    pub(crate) max_resource_entries: usize,
}

impl InvocationLimits {
    pub(crate) fn new(runtime: &Limits, component: ComponentLimits) -> Self {
        Self {
            max_linear_memory: component
                .max_linear_memory
                .map_or(runtime.max_linear_memory, |m| m.min(runtime.max_linear_memory)),
            max_execution_time: component
                .max_execution_time
                .map_or(runtime.max_execution_time, |t| t.min(runtime.max_execution_time)),
            max_table_elements: runtime.max_table_elements,
            max_resource_entries: runtime.max_resource_entries,
        }
    }
}

/// Enforces the linear-memory and table caps of one store and remembers
/// whether a cap was hit, so a trap that follows (a guest allocator aborting
/// on a failed `memory.grow`) is reported as
/// [`crate::ErrorKind::MemoryLimitExceeded`] or
/// [`crate::ErrorKind::TableLimitExceeded`] rather than as an anonymous trap.
/// The same limiter applies with either instance allocator: with on-demand
/// allocation it is the only bound on a table's growth.
#[derive(Debug)]
pub(crate) struct StoreLimiter {
    max_memory: u64,
    /// Bytes granted so far, summed over every memory of the store; a
    /// component may have several core instances each with its own memory.
    used: u64,
    pub(crate) exceeded: bool,
    max_table_elements: usize,
    pub(crate) table_exceeded: bool,
}

impl StoreLimiter {
    pub(crate) fn new(max_memory: u64, max_table_elements: usize) -> Self {
        Self {
            max_memory,
            used: 0,
            exceeded: false,
            max_table_elements,
            table_exceeded: false,
        }
    }
}

impl wasmtime::ResourceLimiter for StoreLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let growth = desired.saturating_sub(current) as u64;
        let total = self.used.saturating_add(growth);
        if total > self.max_memory {
            // Refuse rather than trap: the guest sees `memory.grow` fail and
            // may recover; most allocators abort, which traps and is then
            // classified through `exceeded`.
            self.exceeded = true;
            return Ok(false);
        }
        self.used = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        // Per table, like the pool's slots; refused rather than trapped, as
        // for memory: `table.grow` returns -1 and the guest decides.
        if desired > self.max_table_elements {
            self.table_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter as _;

    #[test]
    fn defaults_match_wasmcloud_v1() {
        let limits = Limits::default();
        assert_eq!(limits.max_execution_time, Duration::from_millis(600_000));
        assert_eq!(limits.max_linear_memory, 256 << 20);
        assert_eq!(limits.max_component_size, 50 << 20);
        assert_eq!(limits.max_components, 10_000);
        assert_eq!(limits.max_core_instances_per_component, 30);
    }

    #[test]
    fn component_limits_only_tighten() {
        let runtime = Limits {
            max_execution_time: Duration::from_secs(10),
            max_linear_memory: 1000,
            ..Limits::default()
        };
        let none = InvocationLimits::new(&runtime, ComponentLimits::default());
        assert_eq!(none.max_execution_time, Duration::from_secs(10));
        assert_eq!(none.max_linear_memory, 1000);
        let tighter = InvocationLimits::new(
            &runtime,
            ComponentLimits {
                max_linear_memory: Some(10),
                max_execution_time: Some(Duration::from_millis(5)),
            },
        );
        assert_eq!(tighter.max_execution_time, Duration::from_millis(5));
        assert_eq!(tighter.max_linear_memory, 10);
        let looser = InvocationLimits::new(
            &runtime,
            ComponentLimits {
                max_linear_memory: Some(1 << 40),
                max_execution_time: Some(Duration::from_secs(3600)),
            },
        );
        assert_eq!(looser, none);
    }

    #[test]
    fn memory_cap_counts_every_memory_of_the_store() {
        let mut limiter = StoreLimiter::new(100, 10);
        assert!(limiter.memory_growing(0, 60, None).unwrap());
        assert!(!limiter.exceeded);
        // A second memory of the same store: 60 + 50 is past the cap.
        assert!(!limiter.memory_growing(0, 50, None).unwrap());
        assert!(limiter.exceeded);
        // Smaller growth still fits.
        assert!(limiter.memory_growing(0, 40, None).unwrap());
        assert!(!limiter.table_exceeded);
    }

    #[test]
    fn table_cap_is_per_table() {
        let mut limiter = StoreLimiter::new(100, 10);
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(limiter.table_growing(0, 10, None).unwrap());
        assert!(!limiter.table_exceeded);
        assert!(!limiter.table_growing(10, 11, None).unwrap());
        assert!(limiter.table_exceeded);
        assert!(!limiter.exceeded);
    }

    #[test]
    fn guest_limits_have_generous_defaults() {
        let limits = Limits::default();
        assert_eq!(limits.max_table_elements, 10_000);
        assert_eq!(limits.max_resource_entries, 4096);
        assert_eq!(limits.max_log_lines_per_second, 1000);
    }
}
