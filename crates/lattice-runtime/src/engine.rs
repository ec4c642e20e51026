//! The wasmtime `Engine`: component model, async calls, epoch interruption,
//! and the pooling instance allocator with a fallback to on-demand
//! allocation where the pool's virtual-memory reservation fails (small
//! hosts, `ulimit -v`, strict overcommit).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::{Error, ErrorKind, Result};
use crate::limits::Limits;

/// How the engine allocates instances.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allocator {
    /// wasmtime's pooling allocator: slots reserved up front, fast
    /// instantiation, copy-on-write memory images.
    Pooling,
    /// Memories and tables allocated per instance with `mmap`.
    OnDemand {
        /// Why pooling is not used: `None` when it was not asked for, else
        /// the error that creating the pool returned.
        fallback_reason: Option<String>,
    },
}

/// Sizes of the pooling allocator, derived from [`Limits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolSize {
    pub(crate) total_component_instances: u32,
    pub(crate) total_core_instances: u32,
    pub(crate) total_memories: u32,
    pub(crate) total_tables: u32,
    pub(crate) total_stacks: u32,
    pub(crate) max_core_instances_per_component: u32,
    pub(crate) max_memory_size: usize,
    pub(crate) table_elements: usize,
}

impl PoolSize {
    pub(crate) fn from_limits(limits: &Limits) -> Self {
        let components = limits.max_components;
        Self {
            total_component_instances: components,
            // A component made by `wit-component` has its module, a shim
            // and a fixup instance (and the adapter's, when built for
            // wasip1), with up to two function tables among them: four core
            // instances and tables per slot fit them, where two let only
            // every other instance start. Counting slots costs nothing; the
            // per-component maximum (30) would reserve table space for
            // nothing. Memories stay one per slot: a wasip1 component's
            // adapter memory is the exception. Instances past the pool fail
            // to instantiate, loudly.
            total_core_instances: components.saturating_mul(4),
            total_memories: components.saturating_add(IN_TRANSIT),
            total_tables: components.saturating_mul(4).saturating_add(IN_TRANSIT),
            // One fiber stack per running invocation. Not one per instance:
            // reserving a stack costs an mprotect of its guard page at start
            // and an unmap at exit, which for 10 000 stacks was most of the
            // host's start-up time. The runtime queues invocations beyond
            // this many rather than failing them.
            total_stacks: limits.admitted_invocations().saturating_add(IN_TRANSIT),
            max_core_instances_per_component: limits.max_core_instances_per_component,
            max_memory_size: usize::try_from(limits.max_linear_memory).unwrap_or(usize::MAX),
            table_elements: limits.max_table_elements,
        }
    }

    fn to_config(&self, reset: SlotReset) -> PoolingAllocationConfig {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(self.total_component_instances)
            .total_core_instances(self.total_core_instances)
            .total_memories(self.total_memories)
            .total_tables(self.total_tables)
            .total_stacks(self.total_stacks)
            .max_core_instances_per_component(self.max_core_instances_per_component)
            .max_memories_per_component(self.max_core_instances_per_component)
            .max_tables_per_component(self.max_core_instances_per_component)
            .max_memory_size(self.max_memory_size)
            .table_elements(self.table_elements)
            // Resetting a slot's memory with `madvise` after each request
            // flushes the TLB of every core running the process: under load
            // that IPI storm was a fifth of the host's CPU. Instead, zero the
            // pages the instance dirtied (found with the PAGEMAP_SCAN ioctl
            // on Linux ≥ 6.7, where no swap is possible) or the lowest
            // addresses with memset, and batch the decommits that remain.
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT)
            .pagemap_scan(match reset {
                SlotReset::PagemapScan => Enabled::Auto,
                SlotReset::LowAddresses => Enabled::No,
            })
            .async_stack_keep_resident(STACK_KEEP_RESIDENT)
            .decommit_batch_size(DECOMMIT_BATCH);
        pool
    }
}

/// How a pool slot is returned to its initial state after an instance
/// (ADR 0009).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotReset {
    /// Only the pages the instance dirtied, found with the `PAGEMAP_SCAN`
    /// ioctl (where the kernel has it), are reset in place. Unsafe where a
    /// dirtied page can be swapped out: a swapped-out page is not reported
    /// resident, so it is neither zeroed nor released and the next instance
    /// would read it back.
    PagemapScan,
    /// The lowest [`KEEP_RESIDENT`] bytes are reset with memset (which
    /// swaps a swapped-out page back in to zero it), the rest released with
    /// `madvise` (which discards its swap too).
    LowAddresses,
}

/// Decides the slot reset from `/proc/swaps` and the process's cgroup v2
/// `memory.swap.max` (`None`: unreadable or absent). `PAGEMAP_SCAN` only
/// where swap is provably impossible: `/proc/swaps` readable with no active
/// entry, and the cgroup's swap limit `0` or absent. Anything else, even
/// `max` with no swap device today (one can be added while the host runs),
/// gets the reset that is safe with swap. Returns the reason, for the log.
pub(crate) fn slot_reset(proc_swaps: Option<&str>, cgroup_swap_max: Option<&str>) -> (SlotReset, &'static str) {
    let Some(swaps) = proc_swaps else {
        return (SlotReset::LowAddresses, "/proc/swaps is unreadable, swap may be active");
    };
    // A header line, then one line per active swap area.
    if swaps.lines().skip(1).any(|line| !line.trim().is_empty()) {
        return (SlotReset::LowAddresses, "swap is active (/proc/swaps)");
    }
    match cgroup_swap_max.map(str::trim) {
        None => (
            SlotReset::PagemapScan,
            "no swap is active and the cgroup sets no swap limit",
        ),
        Some("0") => (
            SlotReset::PagemapScan,
            "no swap is active and the cgroup's memory.swap.max is 0",
        ),
        Some(_) => (
            SlotReset::LowAddresses,
            "the cgroup's memory.swap.max allows swap if a swap device is added",
        ),
    }
}

/// Reads what [`slot_reset`] decides on from this process's system.
fn detect_slot_reset() -> (SlotReset, &'static str) {
    let swaps = std::fs::read_to_string("/proc/swaps").ok();
    let swap_max = cgroup_swap_max_path().and_then(|path| std::fs::read_to_string(path).ok());
    slot_reset(swaps.as_deref(), swap_max.as_deref())
}

/// `memory.swap.max` of this process's cgroup v2 (the `0::` line of
/// `/proc/self/cgroup`); the root cgroup has none.
fn cgroup_swap_max_path() -> Option<std::path::PathBuf> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroups.lines().find_map(|line| line.strip_prefix("0::"))?;
    Some(
        std::path::Path::new("/sys/fs/cgroup")
            .join(path.trim_start_matches('/'))
            .join("memory.swap.max"),
    )
}

/// Bytes of a memory or table slot reset in place (not decommitted) when an
/// instance is done: enough for a typical HTTP handler's working set, small
/// enough that warm slots cost little resident memory.
const KEEP_RESIDENT: usize = 1 << 20;

/// Decommits gathered before the pool makes the system calls. Every invocation's stack has a
/// region to release (below its memset top), one `madvise` each. When two threads are inside
/// `madvise` on the process's memory at once, Linux flushes the TLB of every core running the
/// process on the way out, even if neither call released a page: with a batch of one, 0.06 to
/// 0.12 TLB shootdowns per hello request on 2 cores, none with a batch of 16, whose flushes
/// come from one thread at a time (ADR 0009).
const DECOMMIT_BATCH: usize = 16;

/// Memory, table and stack slots that an ended invocation may leave in the pool's decommit
/// queue, not yet free: fewer than a batch wait in the shared queue, and a flush in progress
/// holds at most that plus the flusher's own (fewer than a batch). wasmtime retries a failed
/// allocation after flushing the queue, but a caller that finds the queue already taken by
/// another thread's flush fails although its slot is on the way back. The pool has this many
/// slots of each kind beyond what the admitted invocations use, so an admitted invocation never
/// runs into slots in transit.
const IN_TRANSIT: u32 = 2 * DECOMMIT_BATCH as u32;

/// Bytes at the top of a pooled fiber stack zeroed with memset when its
/// invocation ends (the rest is released with `madvise`, batched). Measured by page
/// faults per request with smaller values: the hello guest touches less than
/// 4 KiB of its stack, the key-value counter (HTTP plus built-in key-value
/// calls) between 16 and 32 KiB. 32 KiB keeps such a handler's stack
/// resident, so it is never refaulted; a deeper one refaults the pages past
/// it (a fault per page, then their `madvise`), which costs it more than the
/// memset would have. The memset is not free: at 64 KiB it was 4.6% of the
/// host's CPU per hello request in a profile, because the pool reuses the
/// least recently used stack slot, whose memory has often left the cache
/// (ADR 0009).
const STACK_KEEP_RESIDENT: usize = 32 << 10;

/// Settings shared by both allocation strategies.
fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Pooled fiber stacks pass from one guest to the next: zero them, so a
    // compiler bug reading an uninitialised stack slot cannot leak another
    // instance's data.
    config.async_stack_zeroing(true);
    // Per-invocation deadlines: the ticker thread bumps the epoch, and each
    // store's deadline callback decides to yield or stop the guest.
    config.epoch_interruption(true);
    config
}

/// Creates the engine, trying the pooling allocator first when `pooling` is
/// set and falling back to on-demand allocation if the pool cannot be
/// reserved.
pub(crate) fn create(limits: &Limits, pooling: bool) -> Result<(Engine, Allocator)> {
    create_with_pool(&PoolSize::from_limits(limits), pooling)
}

pub(crate) fn create_with_pool(size: &PoolSize, pooling: bool) -> Result<(Engine, Allocator)> {
    let fallback_reason = if pooling {
        let (reset, why) = detect_slot_reset();
        let mut config = base_config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(size.to_config(reset)));
        match Engine::new(&config) {
            Ok(engine) => {
                tracing::debug!(?size, "using the pooling instance allocator");
                match reset {
                    SlotReset::PagemapScan => tracing::info!(
                        reason = why,
                        "pool slots are reset in place, only the pages an instance dirtied (PAGEMAP_SCAN where the kernel has it)"
                    ),
                    SlotReset::LowAddresses => tracing::info!(
                        reason = why,
                        "pool slots are reset with memset of their low addresses and madvise of the rest (PAGEMAP_SCAN off: it misses swapped-out pages)"
                    ),
                }
                return Ok((engine, Allocator::Pooling));
            }
            Err(err) => {
                let reason = format!("{err:#}");
                tracing::warn!(
                    %reason,
                    ?size,
                    "cannot reserve the pooling instance allocator, falling back to on-demand allocation; lower the max components or linear memory to use pooling"
                );
                Some(reason)
            }
        }
    } else {
        None
    };
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
    let engine = Engine::new(&config).map_err(|e| Error::wasmtime(ErrorKind::Engine, e))?;
    Ok((engine, Allocator::OnDemand { fallback_reason }))
}

/// Advances the engine's epoch every `tick` on a dedicated thread until
/// dropped. A thread rather than a tokio task: ticks must keep coming when
/// every runtime worker is busy running guests.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for EpochTicker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpochTicker").finish_non_exhaustive()
    }
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine, tick: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        // A weak handle so the ticker never keeps the engine alive.
        let engine = engine.weak();
        let thread = std::thread::Builder::new().name("wasm-epoch-ticker".into()).spawn({
            let stop = Arc::clone(&stop);
            move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::park_timeout(tick);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            }
        })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // The loop exits within one tick; a panic there is not ours to
            // propagate from a destructor.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_is_sized_from_limits() {
        let limits = Limits {
            max_components: 7,
            max_core_instances_per_component: 3,
            max_linear_memory: 1 << 20,
            ..Limits::default()
        };
        let size = PoolSize::from_limits(&limits);
        assert_eq!(size.total_component_instances, 7);
        assert_eq!(size.total_memories, 7 + IN_TRANSIT);
        assert_eq!(size.total_core_instances, 28);
        assert_eq!(size.total_tables, 28 + IN_TRANSIT);
        assert_eq!(size.max_core_instances_per_component, 3);
        assert_eq!(size.max_memory_size, 1 << 20);
        assert_eq!(size.total_stacks, 7 + IN_TRANSIT);
        assert_eq!(size.table_elements, 10_000);
        let many = PoolSize::from_limits(&Limits {
            max_components: 10_000,
            max_concurrent_invocations: 1000,
            ..Limits::default()
        });
        assert_eq!(many.total_stacks, 1000 + IN_TRANSIT);
        // Fewer slots than invocations: admission and stacks follow the slots.
        let few = Limits {
            max_components: 3,
            max_concurrent_invocations: 1000,
            ..Limits::default()
        };
        assert_eq!(PoolSize::from_limits(&few).total_stacks, 3 + IN_TRANSIT);
        assert_eq!(few.admitted_invocations(), 3);
    }

    const SWAPS_HEADER: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

    #[test]
    fn pagemap_scan_only_where_swap_is_impossible() {
        let with_swap = format!("{SWAPS_HEADER}/swapfile                               file\t\t4194300\t\t0\t\t-2\n");
        // No swap area, no cgroup limit (the root cgroup, or cgroup v1).
        assert_eq!(slot_reset(Some(SWAPS_HEADER), None).0, SlotReset::PagemapScan);
        // No swap area and the cgroup forbids swap.
        assert_eq!(slot_reset(Some(SWAPS_HEADER), Some("0\n")).0, SlotReset::PagemapScan);
        // No swap area today, but the cgroup would allow one added later.
        assert_eq!(slot_reset(Some(SWAPS_HEADER), Some("max\n")).0, SlotReset::LowAddresses);
        assert_eq!(
            slot_reset(Some(SWAPS_HEADER), Some("1073741824\n")).0,
            SlotReset::LowAddresses
        );
        // Swap active, whatever the cgroup says.
        assert_eq!(slot_reset(Some(&with_swap), None).0, SlotReset::LowAddresses);
        assert_eq!(slot_reset(Some(&with_swap), Some("max")).0, SlotReset::LowAddresses);
        assert_eq!(slot_reset(Some(&with_swap), Some("0")).0, SlotReset::LowAddresses);
        // Cannot tell.
        assert_eq!(slot_reset(None, None).0, SlotReset::LowAddresses);
        assert_eq!(slot_reset(None, Some("0")).0, SlotReset::LowAddresses);
        // An empty file, or trailing blank lines, is no swap.
        assert_eq!(slot_reset(Some(""), None).0, SlotReset::PagemapScan);
        assert_eq!(
            slot_reset(Some(&format!("{SWAPS_HEADER}\n")), None).0,
            SlotReset::PagemapScan
        );
    }

    #[test]
    fn both_resets_make_a_working_pool() {
        let size = PoolSize::from_limits(&Limits {
            max_components: 2,
            max_linear_memory: 1 << 20,
            ..Limits::default()
        });
        for reset in [SlotReset::PagemapScan, SlotReset::LowAddresses] {
            let mut config = base_config();
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(size.to_config(reset)));
            Engine::new(&config).unwrap();
        }
    }

    #[test]
    fn small_pool_is_used() {
        let limits = Limits {
            max_components: 4,
            max_linear_memory: 16 << 20,
            ..Limits::default()
        };
        let (_engine, allocator) = create(&limits, true).unwrap();
        assert_eq!(allocator, Allocator::Pooling);
    }

    #[test]
    fn impossible_pool_falls_back_to_on_demand() {
        // A million memories of 4 GiB of address space each is far more than
        // the 128 TiB a 64-bit process can map, while the pool's bookkeeping
        // for a million slots is still only megabytes.
        let limits = Limits {
            max_components: 1_000_000,
            ..Limits::default()
        };
        let (_engine, allocator) = create(&limits, true).unwrap();
        match allocator {
            Allocator::OnDemand {
                fallback_reason: Some(reason),
            } => assert!(!reason.is_empty()),
            other => panic!("expected a fallback, got {other:?}"),
        }
    }

    #[test]
    fn on_demand_when_pooling_is_off() {
        let (_engine, allocator) = create(&Limits::default(), false).unwrap();
        assert_eq!(allocator, Allocator::OnDemand { fallback_reason: None });
    }

    #[test]
    fn ticker_advances_and_stops() {
        let (engine, _) = create(&Limits::default(), false).unwrap();
        let ticker = EpochTicker::start(&engine, Duration::from_millis(1)).unwrap();
        drop(ticker);
    }
}
