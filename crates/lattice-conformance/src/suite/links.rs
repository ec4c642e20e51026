//! Links: put, get, the source's spec, conflicts, and delete — which the
//! answering host must also announce to providers on `linkdefs.del`.

use futures::StreamExt as _;
use serde_json::json;

use super::{Suite, anyhow_text, ensure, success};
use crate::lattice::parse;
use crate::shape::{self, check, equals};

impl Suite<'_> {
    pub(super) async fn links(&mut self) {
        let source = self.names.link_source.clone();
        let target = self.names.link_target.clone();
        let link = json!({
            "source_id": source, "target": target, "name": "default",
            "wit_namespace": "wasi", "wit_package": "keyvalue", "interfaces": ["store"],
            "source_config": [], "target_config": [],
        });

        let mark = self.lattice.events.mark();
        let put = async {
            self.succeeds("link.put", link.to_string(), Some("successfully set link"))
                .await?;
            let data = self
                .event(mark, "linkdef_set", &source, |d| d["source_id"] == json!(source))
                .await?;
            check(&data, shape::LINKDEF_SET)?;
            equals(&data, "target", &json!(target))
        }
        .await;
        let linked = self.report.record(
            "link.put",
            "link.put answers \"successfully set link\" and emits linkdef_set with the whole link",
            put,
        );

        if linked {
            let listed = match self.lattice.request("link.get", "").await {
                Ok(reply) => success(&reply, None).and_then(|()| {
                    let found = reply["response"]
                        .as_array()
                        .and_then(|all| all.iter().find(|l| l["source_id"] == json!(source)))
                        .ok_or_else(|| format!("no link from {source}"))?;
                    check(found, shape::LINK)?;
                    ensure(*found == link, || format!("listed as {found}, put as {link}"))
                }),
                Err(e) => Err(anyhow_text(&e)),
            };
            self.report
                .record("link.get", "link.get lists the link exactly as it was put", listed);
            let bucket = format!("LATTICEDATA_{}", self.lattice.name);
            let spec = match self.lattice.bucket_entry(&bucket, &format!("COMPONENT_{source}")).await {
                Ok(Some(spec)) => ensure(spec["links"].as_array().is_some_and(|l| l.contains(&link)), || {
                    format!("the source's spec holds {}", spec["links"])
                }),
                Ok(None) => Err(format!("{bucket} has no COMPONENT_{source}")),
                Err(e) => Err(anyhow_text(&e)),
            };
            self.report.record(
                "link.spec-bucket",
                "the link is stored in the source's COMPONENT_{id} spec",
                spec,
            );
        } else {
            self.report.skip(
                "link.get",
                "link.get lists the link exactly as it was put",
                "link.put failed",
            );
            self.report.skip(
                "link.spec-bucket",
                "the link is in the source's spec",
                "link.put failed",
            );
        }
        self.queue_group("link.queue-group", "link.get is answered by one host only", "link.get")
            .await;

        let mut conflicting = link.clone();
        conflicting["target"] = json!(format!("{target}-other"));
        let outcome = self.refused("link.put", conflicting.to_string()).await;
        self.report.record(
            "link.put.conflict",
            "a link with the same source, package and name but another target is refused",
            outcome,
        );

        let mut missing_config = link.clone();
        missing_config["name"] = json!("conformance-config");
        missing_config["source_config"] = json!([format!("{}-absent", self.names.config)]);
        let outcome = self.refused("link.put", missing_config.to_string()).await;
        self.report.record(
            "link.put.missing-config",
            "a link naming a config that does not exist is refused",
            outcome,
        );

        self.link_del(&source, &target).await;
    }

    async fn link_del(&mut self, source: &str, target: &str) {
        let lattice = self.lattice;
        let rpc = |id: &str| format!("wasmbus.rpc.{}.{id}.linkdefs.del", lattice.name);
        let client = lattice.client();
        let (to_source, to_target) = match (client.subscribe(rpc(source)).await, client.subscribe(rpc(target)).await) {
            (Ok(s), Ok(t)) => (s, t),
            (Err(e), _) | (_, Err(e)) => {
                self.report.record("link.del", "link.del", Err(e.to_string()));
                return;
            }
        };
        let _ = self.lattice.client().flush().await;
        let request =
            json!({"source_id": source, "name": "default", "wit_namespace": "wasi", "wit_package": "keyvalue"});
        let mark = self.lattice.events.mark();
        let outcome = async {
            self.succeeds("link.del", request.to_string(), Some("successfully deleted link"))
                .await?;
            let data = self
                .event(mark, "linkdef_deleted", source, |d| d["source_id"] == json!(source))
                .await?;
            check(&data, shape::LINKDEF_DELETED)?;
            equals(&data, "target", &json!(target))?;
            equals(&data, "interfaces", &json!(["store"]))
        }
        .await;
        let deleted = self.report.record(
            "link.del",
            "link.del answers \"successfully deleted link\"; linkdef_deleted names the target and interfaces",
            outcome,
        );

        let wait = self.options.event_wait;
        let announced = |mut subscription: async_nats::Subscriber, to: String| async move {
            match tokio::time::timeout(wait, subscription.next()).await {
                Ok(Some(message)) => {
                    let link = parse(&message.payload).map_err(|e| e.to_string())?;
                    check(&link, shape::INTERFACE_LINK)
                        .and_then(|()| equals(&link, "source_id", &json!(source)))
                        .and_then(|()| equals(&link, "target", &json!(target)))
                        .map_err(|e| format!("on {to}: {e}"))
                }
                _ => Err(format!("nothing on {to} within {wait:?}")),
            }
        };
        if deleted {
            let outcome = match announced(to_source, rpc(source)).await {
                Ok(()) => announced(to_target, rpc(target)).await,
                Err(e) => Err(e),
            };
            self.report.record(
                "link.del.announced",
                "the answering host publishes the deleted link on linkdefs.del of both source and target",
                outcome,
            );
        } else {
            self.report.skip(
                "link.del.announced",
                "linkdefs.del on source and target",
                "link.del failed",
            );
        }

        let mark = self.lattice.events.mark();
        let outcome = async {
            self.succeeds("link.del", request.to_string(), None).await?;
            let data = self
                .event(mark, "linkdef_deleted", source, |d| d["source_id"] == json!(source))
                .await?;
            check(&data, shape::LINKDEF_DELETED)
        }
        .await;
        self.report.record(
            "link.del.absent",
            "deleting a link that does not exist succeeds and still emits linkdef_deleted",
            outcome,
        );
    }
}
