//! The machine's memory and CPU, sampled on an interval for the `process.*` gauges (which,
//! as upstream's, describe the machine, not the host process).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The latest sample; read by the gauges' callbacks at each export.
#[derive(Debug, Default)]
pub(crate) struct Sample {
    memory_total: AtomicU64,
    memory_used: AtomicU64,
    /// `f64` bits: percent of all cores, 0–100.
    cpu_usage: AtomicU64,
}

impl Sample {
    pub(crate) fn memory_total(&self) -> u64 {
        self.memory_total.load(Ordering::Relaxed)
    }

    pub(crate) fn memory_used(&self) -> u64 {
        self.memory_used.load(Ordering::Relaxed)
    }

    pub(crate) fn cpu_usage(&self) -> f64 {
        f64::from_bits(self.cpu_usage.load(Ordering::Relaxed))
    }
}

/// Samples now, then every `interval` on a task of its own (abort the handle to stop it).
pub(crate) fn start(interval: Duration) -> (Arc<Sample>, tokio::task::JoinHandle<()>) {
    let sample = Arc::new(Sample::default());
    let mut system = sysinfo::System::new();
    refresh(&mut system, &sample);
    let task = tokio::spawn({
        let sample = Arc::clone(&sample);
        async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                // Reading /proc is quick, but it is file I/O: off the async workers.
                let refreshed = tokio::task::spawn_blocking({
                    let sample = Arc::clone(&sample);
                    move || {
                        refresh(&mut system, &sample);
                        system
                    }
                })
                .await;
                match refreshed {
                    Ok(back) => system = back,
                    Err(_) => return,
                }
            }
        }
    });
    (sample, task)
}

fn refresh(system: &mut sysinfo::System, sample: &Sample) {
    system.refresh_memory();
    system.refresh_cpu_usage();
    sample.memory_total.store(system.total_memory(), Ordering::Relaxed);
    sample.memory_used.store(system.used_memory(), Ordering::Relaxed);
    let cpu = f64::from(system.global_cpu_usage());
    sample.cpu_usage.store(cpu.to_bits(), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sample_reads_the_machines_memory() {
        let (sample, task) = start(Duration::from_secs(60));
        task.abort();
        assert!(sample.memory_total() > 0);
        assert!(sample.memory_used() > 0 && sample.memory_used() <= sample.memory_total());
        assert!((0.0..=100.0).contains(&sample.cpu_usage()));
    }
}
