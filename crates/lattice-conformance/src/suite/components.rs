//! Components: auction, scale, inventory, claims, bucket entries, update and
//! scale to zero, with the events of each.

use serde_json::{Value, json};

use super::{Suite, anyhow_text, ensure, refusal, success};
use crate::shape::{self, Ty, check, equals, req};

/// `component_scale_failed` data.
const SCALE_FAILED: &[shape::Field] = &[
    req("annotations", Ty::StrMap),
    req("component_id", Ty::Str),
    req("host_id", Ty::Str),
    req("image_ref", Ty::Str),
    req("max_instances", Ty::U64),
    req("error", Ty::Str),
];

/// A ScaleComponentCommand.
fn scale(reference: &str, id: &str, host: &str, count: u32) -> String {
    json!({
        "component_ref": reference,
        "component_id": id,
        "host_id": host,
        "count": count,
        "annotations": {"conformance": "yes"},
        "config": [],
        "allow_update": false,
    })
    .to_string()
}

impl Suite<'_> {
    pub(super) async fn components(&mut self) {
        let id = self.names.component.clone();
        let host = self.host_a().to_owned();
        let v1 = self.fixture.v1.clone();
        let v2 = self.fixture.v2.clone();

        let auction = json!({"component_ref": v1, "component_id": id, "constraints": {}}).to_string();
        let outcome = match self
            .lattice
            .gather("component.auction", auction, self.options.gather_window)
            .await
        {
            Ok(acks) if acks.is_empty() => Err("no host answered the auction".into()),
            Ok(acks) => acks
                .iter()
                .map(|ack| {
                    success(ack, None)?;
                    let response = &ack["response"];
                    check(response, shape::COMPONENT_ACK)?;
                    equals(response, "component_ref", &json!(v1))?;
                    equals(response, "component_id", &json!(id))
                })
                .collect::<Result<Vec<()>, String>>()
                .map(drop),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "component.auction",
            "hosts that can run a component answer its auction with a ComponentAuctionAck",
            outcome,
        );
        let constrained = json!({
            "component_ref": v1, "component_id": id,
            "constraints": {"conformance-no-host-has-this": "label"}
        })
        .to_string();
        let outcome = match self
            .lattice
            .gather("component.auction", constrained, self.options.gather_window)
            .await
        {
            Ok(acks) => ensure(acks.is_empty(), || format!("{} hosts answered", acks.len())),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "component.auction.constraints",
            "no host answers an auction whose constraints its labels do not meet",
            outcome,
        );

        let mark = self.lattice.events.mark();
        let started = self
            .succeeds(&format!("component.scale.{host}"), scale(&v1, &id, &host, 2), None)
            .await;
        let started = match started {
            Ok(()) => self
                .scaled(mark, &id, |d| d["max_instances"] == json!(2))
                .await
                .and_then(|data| {
                    equals(&data, "image_ref", &json!(v1))?;
                    equals(&data, "host_id", &json!(host))?;
                    equals(&data, "public_key", &json!(self.fixture.subject))?;
                    equals(&data["annotations"], "conformance", &json!("yes"))?;
                    check(&data["claims"], shape::SCALED_CLAIMS)?;
                    equals(&data["claims"], "issuer", &json!(self.fixture.issuer))
                }),
            Err(e) => Err(e),
        };
        let running = self.report.record(
            "component.scale",
            "component.scale starts a signed component; component_scaled carries ref, count, key and claims",
            started,
        );
        if !running {
            for (check_id, what) in [
                ("component.inventory", "the host's inventory lists the component"),
                (
                    "component.spec-bucket",
                    "LATTICEDATA_{lattice} COMPONENT_{id} holds its url and links",
                ),
                (
                    "component.claims-bucket",
                    "LATTICEDATA_{lattice} CLAIMS_{key} holds its claims",
                ),
                ("claims.get", "claims.get lists the component's claims as strings"),
                (
                    "component.auction.running",
                    "a host does not bid for a component id it runs",
                ),
                (
                    "component.update",
                    "component.update announces the new ref, then the replaced one at 0",
                ),
                (
                    "component.scale.zero",
                    "scale to 0 stops the component and announces it",
                ),
            ] {
                self.report.skip(check_id, what, "component.scale failed");
            }
        } else {
            self.running_component(&id, &host, &v1).await;
            self.update(&id, &host, &v1, &v2).await;
            self.scale_to_zero(&id, &host, &v2).await;
        }

        let outcome = match self
            .lattice
            .request(
                &format!("component.update.{host}"),
                json!({"component_id": format!("{id}-absent"), "new_component_ref": v2, "host_id": host}).to_string(),
            )
            .await
        {
            Ok(reply) => refusal(&reply)
                .and_then(|()| equals(&reply, "message", &json!(format!("component {id}-absent not found")))),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "component.update.missing",
            "component.update of an id not running is refused \"component X not found\"",
            outcome,
        );

        let absent = format!("{id}-never");
        let mark = self.lattice.events.mark();
        let outcome = self
            .succeeds(&format!("component.scale.{host}"), scale(&v1, &absent, &host, 0), None)
            .await;
        let outcome = match outcome {
            Ok(()) => self
                .scaled(mark, &absent, |d| d["max_instances"] == json!(0))
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        self.report.record(
            "component.scale.zero-absent",
            "scaling an id that is not running to 0 still emits component_scaled at 0",
            outcome,
        );

        let broken = format!("{id}-broken");
        let missing_file = format!("{}-missing", self.fixture.v1);
        let mark = self.lattice.events.mark();
        let outcome = async {
            self.succeeds(
                &format!("component.scale.{host}"),
                scale(&missing_file, &broken, &host, 1),
                None,
            )
            .await?;
            let data = self
                .event(mark, "component_scale_failed", &broken, |d| {
                    d["component_id"] == json!(broken)
                })
                .await?;
            check(&data, SCALE_FAILED)?;
            equals(&data, "image_ref", &json!(missing_file))
        }
        .await;
        self.report.record(
            "component.scale.failed",
            "a component that cannot be loaded is accepted, then announced by component_scale_failed",
            outcome,
        );
    }

    /// Waits for `component_scaled` of `id` matching `matches`, checks its shape.
    async fn scaled(&self, mark: usize, id: &str, matches: impl Fn(&Value) -> bool) -> Result<Value, String> {
        let data = self
            .event(mark, "component_scaled", id, |d| {
                d["component_id"] == json!(id) && matches(d)
            })
            .await?;
        check(&data, shape::COMPONENT_SCALED).map(|()| data)
    }

    /// Inventory, buckets and claims of a running component.
    async fn running_component(&mut self, id: &str, host: &str, reference: &str) {
        let listed = self.inventory(host).await.and_then(|inventory| {
            let entry = inventory["components"]
                .as_array()
                .and_then(|all| all.iter().find(|c| c["id"] == json!(id)))
                .ok_or_else(|| format!("{id} not in the inventory of {host}"))?;
            check(entry, shape::COMPONENT_DESCRIPTION)?;
            equals(entry, "image_ref", &json!(reference))?;
            equals(entry, "max_instances", &json!(2))?;
            equals(entry, "name", &json!(self.fixture.name))?;
            equals(entry, "revision", &json!(1))
        });
        self.report.record(
            "component.inventory",
            "the host's inventory lists the component with ref, count, claims name and revision",
            listed,
        );

        let bucket = format!("LATTICEDATA_{}", self.lattice.name);
        let spec = match self.lattice.bucket_entry(&bucket, &format!("COMPONENT_{id}")).await {
            Ok(Some(spec)) => equals(&spec, "url", &json!(reference)).and_then(|()| {
                ensure(spec["links"].is_array(), || {
                    format!("`links` is {}, expected an array", spec["links"])
                })
            }),
            Ok(None) => Err(format!("{bucket} has no COMPONENT_{id}")),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "component.spec-bucket",
            "LATTICEDATA_{lattice} COMPONENT_{id} holds {\"url\": ref, \"links\": [...]}",
            spec,
        );
        let key = format!("CLAIMS_{}", self.fixture.subject);
        let claims = match self.lattice.bucket_entry(&bucket, &key).await {
            Ok(Some(claims)) => equals(&claims, "issuer", &json!(self.fixture.issuer))
                .and_then(|()| equals(&claims, "subject", &json!(self.fixture.subject)))
                .and_then(|()| equals(&claims, "name", &json!(self.fixture.name))),
            Ok(None) => Err(format!("{bucket} has no {key}")),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "component.claims-bucket",
            "LATTICEDATA_{lattice} CLAIMS_{key} holds issuer, subject and name",
            claims,
        );

        let listed = match self.lattice.request("claims.get", "").await {
            Ok(reply) => success(&reply, None).and_then(|()| {
                let entry = reply["response"]
                    .as_array()
                    .and_then(|all| all.iter().find(|c| c["sub"] == json!(self.fixture.subject)))
                    .ok_or_else(|| format!("no entry with sub {}", self.fixture.subject))?;
                check(entry, shape::COMPONENT_CLAIMS)?;
                equals(entry, "iss", &json!(self.fixture.issuer))?;
                equals(entry, "subject", &json!(self.fixture.subject))?;
                equals(entry, "tags", &json!("conformance"))
            }),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "claims.get",
            "claims.get lists the component's claims, short and long keys, every value a string",
            listed,
        );
        self.queue_group(
            "claims.queue-group",
            "claims.get is answered by one host only",
            "claims.get",
        )
        .await;

        let auction = json!({"component_ref": reference, "component_id": id, "constraints": {}}).to_string();
        let outcome = match self
            .lattice
            .gather("component.auction", auction, self.options.gather_window)
            .await
        {
            Ok(acks) => ensure(!acks.iter().any(|a| a["response"]["host_id"] == json!(host)), || {
                format!("{host} bid for {id}, which it runs")
            }),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "component.auction.running",
            "a host does not bid for a component id it already runs",
            outcome,
        );
    }

    /// `component.update` to another reference: the reply, then the new
    /// reference at its scale, then the replaced one at 0.
    async fn update(&mut self, id: &str, host: &str, from: &str, to: &str) {
        let mark = self.lattice.events.mark();
        let request = json!({"component_id": id, "new_component_ref": to, "host_id": host}).to_string();
        let outcome = match self.lattice.request(&format!("component.update.{host}"), request).await {
            Ok(reply) => success(&reply, Some(&format!("component {id} updating from {from} to {to}"))),
            Err(e) => Err(anyhow_text(&e)),
        };
        let outcome = match outcome {
            Ok(()) => self.update_events(mark, id, to).await,
            Err(e) => Err(e),
        };
        self.report.record(
            "component.update",
            "component.update answers \"updating from A to B\", then component_scaled for B at its count, then one at 0",
            outcome,
        );
    }

    async fn update_events(&self, mark: usize, id: &str, to: &str) -> Result<(), String> {
        let wait = self.options.event_wait;
        let events = &self.lattice.events;
        let Some((new_at, new)) = events
            .wait(
                mark,
                "component_scaled",
                |d| d["component_id"] == json!(id) && d["image_ref"] == json!(to),
                wait,
            )
            .await
        else {
            return Err(format!("no component_scaled for {id} with {to} within {wait:?}"));
        };
        equals(&new, "max_instances", &json!(2))?;
        match events
            .wait(new_at + 1, "component_scaled", |d| d["component_id"] == json!(id), wait)
            .await
        {
            Some((_, retired)) => equals(&retired, "max_instances", &json!(0)),
            None => Err(format!("no component_scaled at 0 followed the new one within {wait:?}")),
        }
    }

    async fn scale_to_zero(&mut self, id: &str, host: &str, reference: &str) {
        let mark = self.lattice.events.mark();
        let outcome = self
            .succeeds(&format!("component.scale.{host}"), scale(reference, id, host, 0), None)
            .await;
        let outcome = match outcome {
            Ok(()) => self
                .scaled(mark, id, |d| d["max_instances"] == json!(0))
                .await
                .map(drop),
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(()) => self.inventory(host).await.and_then(|inventory| {
                let listed = inventory["components"]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|c| c["id"] == json!(id)));
                ensure(!listed, || format!("{id} still in the inventory"))
            }),
            Err(e) => Err(e),
        };
        self.report.record(
            "component.scale.zero",
            "scale to 0 stops the component: component_scaled at 0, gone from the inventory",
            outcome,
        );
    }
}
