//! The host's inventory (the `host.get` answer) and the `host_heartbeat`
//! event that publishes it every interval, the first one interval after
//! start.

use std::sync::Arc;
use std::time::Duration;

use lattice_control_interface::{HostInventory, LatticeEvent};

use crate::host::HostCtx;

/// What runs on this host now.
pub(crate) fn inventory(ctx: &HostCtx) -> HostInventory {
    let id = &ctx.identity;
    let uptime = id.started.elapsed();
    HostInventory {
        components: ctx.components.list().iter().map(|(cid, c)| c.describe(cid)).collect(),
        providers: ctx.providers.list().iter().map(|(pid, p)| p.describe(pid)).collect(),
        host_id: id.host_id.clone(),
        friendly_name: id.friendly_name.clone(),
        labels: ctx.labels.snapshot(),
        version: id.version.clone(),
        uptime_human: human_duration(uptime),
        uptime_seconds: uptime.as_secs(),
    }
}

/// Publishes heartbeats until the host stops.
pub(crate) async fn run(ctx: Arc<HostCtx>) {
    let period = ctx.config.heartbeat_interval;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = ctx.shutdown.requested();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopping.wait() => return,
        }
        ctx.events.publish(LatticeEvent::HostHeartbeat(inventory(&ctx))).await;
    }
}

/// A duration in words, e.g. `1d 2h 3m 4s` (zero parts left out).
pub(crate) fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let parts = [
        (secs / 86_400, "d"),
        (secs % 86_400 / 3600, "h"),
        (secs % 3600 / 60, "m"),
        (secs % 60, "s"),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "0s".to_owned()
    } else {
        text.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::ZERO), "0s");
        assert_eq!(human_duration(Duration::from_secs(42)), "42s");
        assert_eq!(human_duration(Duration::from_secs(3600 + 5)), "1h 5s");
        assert_eq!(human_duration(Duration::from_secs(2 * 86_400 + 61)), "2d 1m 1s");
    }
}
