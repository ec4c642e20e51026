//! Publishing lattice events: each [`LatticeEvent`] becomes a CloudEvent on
//! `wasmbus.evt.{lattice}.{event_name}` with this host as its `source`.
//! Publishing never fails the operation that caused it: a lost event is
//! logged, the work it reports stands.

use std::time::SystemTime;

use lattice_control_interface::{Event, HostId, LatticeEvent, subject};

/// Publishes this host's events on the lattice.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    nats: async_nats::Client,
    lattice: String,
    host_id: HostId,
}

impl Events {
    pub(crate) fn new(nats: async_nats::Client, lattice: &str, host_id: HostId) -> Self {
        Self {
            nats,
            lattice: lattice.to_owned(),
            host_id,
        }
    }

    /// The host whose events these are.
    pub(crate) fn host_id(&self) -> &HostId {
        &self.host_id
    }

    /// Publishes `event`; failures are logged, not returned.
    pub(crate) async fn publish(&self, event: LatticeEvent) {
        let name = event.name().to_owned();
        let subject = subject::event(&self.lattice, &name);
        let event = Event::new(self.host_id.clone(), event_id(), rfc3339(SystemTime::now()), event);
        let payload = match serde_json::to_vec(&event) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::warn!(event = %name, error = %e, "cannot encode event");
                return;
            }
        };
        if let Err(e) = self.nats.publish(subject, payload.into()).await {
            tracing::warn!(event = %name, error = %e, "cannot publish event");
        }
    }
}

/// A fresh event id: a random UUID, as upstream's are.
fn event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Formats a time as RFC 3339 UTC with microseconds, e.g.
/// `2024-05-01T12:00:00.000000Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        // 2024-02-29T23:59:59.5Z, a leap day.
        let t = UNIX_EPOCH + Duration::from_millis(1_709_251_199_500);
        assert_eq!(rfc3339(t), "2024-02-29T23:59:59.500000Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000000Z");
    }

    #[test]
    fn event_ids_are_uuids() {
        let id = event_id();
        assert_eq!(id.len(), 36);
        assert_ne!(id, event_id());
    }
}
