//! What spans the lattice: registry credentials (broadcast), the envelope of
//! every event seen, heartbeats, and — when asked — stopping a host.

use serde_json::json;

use super::{Suite, anyhow_text, ensure, success};
use crate::shape::{self, check, equals};

impl Suite<'_> {
    pub(super) async fn registry(&mut self) {
        let credentials =
            json!({"registry.conformance.invalid": {"username": "u", "password": "p", "registryType": "oci"}});
        let outcome = match self
            .lattice
            .gather("registry.put", credentials.to_string(), self.options.gather_window)
            .await
        {
            Ok(replies) => ensure(replies.len() == self.hosts.len(), || {
                format!("{} of {} hosts answered", replies.len(), self.hosts.len())
            })
            .and_then(|()| {
                replies
                    .iter()
                    .map(|r| success(r, Some("successfully put registries")))
                    .collect::<Result<Vec<()>, String>>()
                    .map(drop)
            }),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "registry.put",
            "registry.put is broadcast: every host answers \"successfully put registries\"",
            outcome,
        );
    }

    pub(super) async fn events(&mut self) {
        let heartbeat = self
            .lattice
            .events
            .wait(0, "host_heartbeat", |_| true, self.options.heartbeat_wait)
            .await;
        match heartbeat {
            Some((_, data)) => {
                let outcome = check(&data, shape::INVENTORY);
                self.report
                    .record("event.heartbeat", "host_heartbeat carries a HostInventory", outcome);
            }
            None => self.report.skip(
                "event.heartbeat",
                "host_heartbeat carries a HostInventory",
                format!(
                    "no heartbeat within {:?} (hosts beat every 30 s by default)",
                    self.options.heartbeat_wait
                ),
            ),
        }

        let events = self.lattice.events.all();
        let outcome = events
            .iter()
            .map(|event| {
                let body = event.body.as_ref().map_err(|e| format!("{}: {e}", event.name))?;
                check(body, shape::CLOUD_EVENT)
                    .and_then(|()| equals(body, "specversion", &json!("1.0")))
                    .and_then(|()| equals(body, "type", &json!(format!("com.wasmcloud.lattice.{}", event.name))))
                    .and_then(|()| equals(body, "datacontenttype", &json!("application/json")))
                    .and_then(|()| {
                        let source = body["source"].as_str().unwrap_or_default();
                        ensure(self.hosts.iter().any(|h| h == source), || {
                            format!("`source` {source:?} is not a host that answered host.ping")
                        })
                    })
                    .map_err(|e| format!("{}: {e}", event.name))
            })
            .collect::<Result<Vec<()>, String>>()
            .map(drop)
            .and_then(|()| ensure(!events.is_empty(), || "no events were seen".into()));
        self.report.record(
            "event.envelope",
            "every event is a CloudEvents 1.0 JSON envelope: type com.wasmcloud.lattice.{name}, source the host key",
            outcome,
        );
    }

    pub(super) async fn host_stop(&mut self) {
        const ID: &str = "host.stop";
        const WHAT: &str =
            "host.stop answers \"successfully handled stop host\", emits host_stopped, and the host leaves";
        if !self.options.stop_host {
            self.report
                .skip(ID, WHAT, "stops a host for good: pass --stop-host to run it");
            return;
        }
        let Some(host) = self.hosts.last().cloned() else { return };
        let mark = self.lattice.events.mark();
        let request = json!({"host_id": host, "timeout": 5000}).to_string();
        let outcome = self
            .succeeds(
                &format!("host.stop.{host}"),
                request,
                Some("successfully handled stop host"),
            )
            .await;
        let outcome = match outcome {
            Ok(()) => self
                .event(mark, "host_stopped", &host, |d| d["labels"].is_object())
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(()) => match self.lattice.gather("host.ping", "", self.options.gather_window).await {
                Ok(replies) => ensure(!replies.iter().any(|r| r["response"]["id"] == json!(host)), || {
                    format!("{host} still answers host.ping")
                }),
                Err(e) => Err(anyhow_text(&e)),
            },
            Err(e) => Err(e),
        };
        self.report.record(ID, WHAT, outcome);
    }
}
