//! Providers, with the built-in http-server (the one provider every host can
//! start without fetching anything): auction, start, inventory, stop.

use serde_json::json;

use super::{Suite, anyhow_text, refusal, success};
use crate::shape::{self, check, equals};

/// The built-in HTTP server's reference.
const HTTP_SERVER: &str = "wasmcloud+builtin://http-server";

impl Suite<'_> {
    pub(super) async fn providers(&mut self) {
        let id = self.names.provider.clone();
        let host = self.host_a().to_owned();

        let auction = json!({"provider_ref": HTTP_SERVER, "provider_id": id, "constraints": {}}).to_string();
        let outcome = match self
            .lattice
            .gather("provider.auction", auction, self.options.gather_window)
            .await
        {
            Ok(acks) if acks.is_empty() => Err("no host answered the auction".into()),
            Ok(acks) => acks
                .iter()
                .map(|ack| {
                    success(ack, None)?;
                    check(&ack["response"], shape::PROVIDER_ACK)?;
                    equals(&ack["response"], "provider_id", &json!(id))
                })
                .collect::<Result<Vec<()>, String>>()
                .map(drop),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "provider.auction",
            "hosts answer a provider auction with a ProviderAuctionAck",
            outcome,
        );

        let start = json!({"provider_id": id, "provider_ref": HTTP_SERVER, "host_id": host, "config": []}).to_string();
        let mark = self.lattice.events.mark();
        let reply = match self
            .lattice
            .request(&format!("provider.start.{host}"), start.clone())
            .await
        {
            Ok(reply) => reply,
            Err(_) => {
                // Upstream hosts do not answer when the built-in is disabled.
                for (check_id, what) in CHECKS_AFTER_START {
                    self.report.skip(
                        check_id,
                        what,
                        format!("{host} did not answer provider.start of {HTTP_SERVER}: built-in disabled?"),
                    );
                }
                return;
            }
        };
        let outcome = success(&reply, Some("successfully started provider"));
        let outcome = match outcome {
            Ok(()) => self.started(mark, &id, &host).await,
            Err(e) => Err(e),
        };
        let started = self
            .report
            .record(CHECKS_AFTER_START[0].0, CHECKS_AFTER_START[0].1, outcome);
        if !started {
            for (check_id, what) in &CHECKS_AFTER_START[1..] {
                self.report.skip(check_id, what, "provider.start failed");
            }
            return;
        }

        let listed = self.inventory(&host).await.and_then(|inventory| {
            let entry = inventory["providers"]
                .as_array()
                .and_then(|all| all.iter().find(|p| p["id"] == json!(id)))
                .ok_or_else(|| format!("{id} not in the inventory of {host}"))?;
            check(entry, shape::PROVIDER_DESCRIPTION)?;
            equals(entry, "image_ref", &json!("http-server"))
        });
        self.report
            .record(CHECKS_AFTER_START[1].0, CHECKS_AFTER_START[1].1, listed);

        let outcome = match self.lattice.request(&format!("provider.start.{host}"), start).await {
            Ok(reply) => refusal(&reply)
                .and_then(|()| equals(&reply, "message", &json!("provider with that ID is already running"))),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report
            .record(CHECKS_AFTER_START[2].0, CHECKS_AFTER_START[2].1, outcome);

        let stop = json!({"host_id": host, "provider_id": id}).to_string();
        let mark = self.lattice.events.mark();
        let outcome = async {
            self.succeeds(
                &format!("provider.stop.{host}"),
                stop.clone(),
                Some("successfully stopped provider"),
            )
            .await?;
            let data = self
                .event(mark, "provider_stopped", &id, |d| d["provider_id"] == json!(id))
                .await?;
            check(&data, shape::PROVIDER_STOPPED)?;
            equals(&data, "host_id", &json!(host))
        }
        .await;
        self.report
            .record(CHECKS_AFTER_START[3].0, CHECKS_AFTER_START[3].1, outcome);

        let outcome = match self.lattice.request(&format!("provider.stop.{host}"), stop).await {
            Ok(reply) => {
                refusal(&reply).and_then(|()| equals(&reply, "message", &json!("provider with that ID is not running")))
            }
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report
            .record(CHECKS_AFTER_START[4].0, CHECKS_AFTER_START[4].1, outcome);
    }

    async fn started(&self, mark: usize, id: &str, host: &str) -> Result<(), String> {
        let data = self
            .event(mark, "provider_started", id, |d| d["provider_id"] == json!(id))
            .await?;
        check(&data, shape::PROVIDER_STARTED)?;
        equals(&data, "host_id", &json!(host))?;
        equals(&data, "image_ref", &json!("http-server"))
    }
}

/// The provider checks after the auction, in order.
const CHECKS_AFTER_START: [(&str, &str); 5] = [
    (
        "provider.start",
        "provider.start answers \"successfully started provider\"; provider_started spells the built-in `http-server`",
    ),
    (
        "provider.inventory",
        "the host's inventory lists the provider as a ProviderDescription",
    ),
    (
        "provider.start.duplicate",
        "starting a provider id that runs is refused \"provider with that ID is already running\"",
    ),
    (
        "provider.stop",
        "provider.stop answers \"successfully stopped provider\" and emits provider_stopped",
    ),
    (
        "provider.stop.absent",
        "stopping a provider that is not running is refused \"provider with that ID is not running\"",
    ),
];
