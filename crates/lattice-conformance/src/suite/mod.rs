//! The checks, in the order they run. Each has an id (`area.what`) and a
//! one-line description; each sends what a wasmCloud v1 client sends and
//! compares replies, events and bucket entries with the v1 wire shapes. A
//! check whose precondition failed is skipped with the reason, never passed.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

mod components;
mod links;
mod providers;
mod wide;

use crate::fixture::Fixture;
use crate::lattice::Lattice;
use crate::report::Report;
use crate::shape::{self, check, equals};

/// What the run was asked for.
pub(crate) struct Options {
    /// How many hosts must answer `host.ping` before the checks start.
    pub(crate) hosts: usize,
    /// How long to wait for the hosts and, separately, for a heartbeat.
    pub(crate) host_wait: Duration,
    pub(crate) heartbeat_wait: Duration,
    /// How long scatter-gather requests collect answers.
    pub(crate) gather_window: Duration,
    /// How long to wait for an event.
    pub(crate) event_wait: Duration,
    /// Stop one host at the end (`host.stop`), which ends it for good.
    pub(crate) stop_host: bool,
}

/// The ids the suite uses on the lattice; unique per run so runs never collide.
struct Names {
    component: String,
    link_source: String,
    link_target: String,
    config: String,
    provider: String,
    label: String,
}

impl Names {
    fn new() -> Self {
        let run = format!("{:x}", std::process::id());
        Self {
            component: format!("conformance-hello-{run}"),
            link_source: format!("conformance-source-{run}"),
            link_target: format!("conformance-target-{run}"),
            config: format!("conformance-config-{run}"),
            provider: format!("conformance-http-{run}"),
            label: format!("conformance-{run}"),
        }
    }
}

struct Suite<'a> {
    lattice: &'a Lattice,
    options: &'a Options,
    fixture: Fixture,
    names: Names,
    report: Report,
    /// Host ids that answered `host.ping`, sorted.
    hosts: Vec<String>,
}

/// Runs every check against the hosts of `lattice`.
pub(crate) async fn run(lattice: &Lattice, options: &Options, fixture: Fixture) -> Result<Report> {
    let mut suite = Suite {
        lattice,
        options,
        fixture,
        names: Names::new(),
        report: Report::default(),
        hosts: Vec::new(),
    };
    suite.hosts().await?;
    if suite.hosts.is_empty() {
        return Ok(suite.report);
    }
    suite.control_basics().await;
    suite.labels().await;
    suite.config().await;
    suite.components().await;
    suite.links().await;
    suite.providers().await;
    suite.registry().await;
    suite.events().await;
    suite.host_stop().await;
    Ok(suite.report)
}

/// `Ok` when `cond` holds, else the message.
fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(message()) }
}

/// A success envelope, with `message` equal to `expected` when given.
fn success(reply: &Value, expected: Option<&str>) -> Result<(), String> {
    check(reply, shape::ENVELOPE)?;
    equals(reply, "success", &json!(true)).map_err(|e| format!("{e} (message: {})", reply["message"]))?;
    if let Some(expected) = expected {
        equals(reply, "message", &json!(expected))?;
    }
    Ok(())
}

/// A refusal: `success: false` with a message that says why.
fn refusal(reply: &Value) -> Result<(), String> {
    check(reply, shape::ENVELOPE)?;
    equals(reply, "success", &json!(false))?;
    ensure(reply["message"].as_str().is_some_and(|m| !m.is_empty()), || {
        "a refusal must say why in `message`".into()
    })
}

fn anyhow_text(error: &anyhow::Error) -> String {
    format!("{error:#}")
}

impl Suite<'_> {
    fn host_a(&self) -> &str {
        &self.hosts[0]
    }

    /// Sends `operation` and expects a success envelope (with `message` when given).
    async fn succeeds(
        &self,
        operation: &str,
        payload: impl Into<bytes::Bytes>,
        message: Option<&str>,
    ) -> Result<(), String> {
        let reply = self
            .lattice
            .request(operation, payload)
            .await
            .map_err(|e| anyhow_text(&e))?;
        success(&reply, message)
    }

    /// Sends `operation` and expects a refusal that says why.
    async fn refused(&self, operation: &str, payload: impl Into<bytes::Bytes>) -> Result<(), String> {
        let reply = self
            .lattice
            .request(operation, payload)
            .await
            .map_err(|e| anyhow_text(&e))?;
        refusal(&reply)
    }

    /// The data of the first event `name` after `mark` that `matches`, within the event wait;
    /// the error names the event and what it was for (`about`).
    async fn event(
        &self,
        mark: usize,
        name: &str,
        about: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let wait = self.options.event_wait;
        match self.lattice.events.wait(mark, name, matches, wait).await {
            Some((_, data)) => Ok(data),
            None => Err(format!("no {name} for {about} within {wait:?}")),
        }
    }

    /// Who answers `host.ping`: waits for the expected number of hosts.
    async fn hosts(&mut self) -> Result<()> {
        const ID: &str = "ping.answers";
        const WHAT: &str = "every host answers host.ping (scatter-gather) with a Host in a success envelope";
        let deadline = tokio::time::Instant::now() + self.options.host_wait;
        let mut replies;
        loop {
            replies = self.lattice.gather("host.ping", "", self.options.gather_window).await?;
            if replies.len() >= self.options.hosts.max(1) || tokio::time::Instant::now() >= deadline {
                break;
            }
        }
        let mut problems = Vec::new();
        let mut ids = BTreeSet::new();
        for reply in &replies {
            if let Err(e) = success(reply, None).and_then(|()| check(&reply["response"], shape::HOST)) {
                problems.push(e);
            }
            if let Some(id) = reply["response"]["id"].as_str() {
                ids.insert(id.to_owned());
            }
        }
        self.hosts = ids.iter().cloned().collect();
        let outcome = if replies.is_empty() {
            Err(format!(
                "no host answered on {} within {:?}: are hosts running on lattice `{}`?",
                self.lattice.subject("host.ping"),
                self.options.host_wait,
                self.lattice.name
            ))
        } else if replies.len() < self.options.hosts {
            Err(format!(
                "{} hosts answered, {} expected",
                replies.len(),
                self.options.hosts
            ))
        } else if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join(" | "))
        };
        self.report.record(ID, WHAT, outcome);
        self.report.record(
            "ping.one-answer-each",
            "each host answers one ping once, under its own id",
            ensure(ids.len() == replies.len(), || {
                format!("{} answers from {} distinct host ids", replies.len(), ids.len())
            }),
        );
        let lattice = json!(self.lattice.name);
        let host_fields = replies
            .iter()
            .map(|reply| {
                let host = &reply["response"];
                equals(host, "lattice", &lattice)?;
                ensure(
                    host["id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with('N') && id.len() == 56),
                    || format!("`id` {} is not a host public key (N…, 56 characters)", host["id"]),
                )?;
                for label in ["hostcore.arch", "hostcore.os", "hostcore.osfamily"] {
                    ensure(host["labels"][label].is_string(), || format!("label `{label}` missing"))?;
                }
                Ok(())
            })
            .collect::<Result<Vec<()>, String>>()
            .map(drop);
        self.report.record(
            "ping.host-fields",
            "each Host names this lattice, a host key as id and the hostcore.* labels",
            host_fields,
        );
        Ok(())
    }

    /// Inventory, unknown subjects and payloads that do not parse.
    async fn control_basics(&mut self) {
        let mut outcome = Ok(());
        for host in &self.hosts {
            let checked = match self.lattice.request(&format!("host.get.{host}"), "").await {
                Ok(reply) => success(&reply, None)
                    .and_then(|()| check(&reply["response"], shape::INVENTORY))
                    .and_then(|()| equals(&reply["response"], "host_id", &json!(host))),
                Err(e) => Err(anyhow_text(&e)),
            };
            if let Err(e) = checked {
                outcome = Err(format!("host {host}: {e}"));
                break;
            }
        }
        self.report.record(
            "inventory.shape",
            "host.get.{host_id} answers a HostInventory of that host",
            outcome,
        );

        let host = self.host_a().to_owned();
        let outcome = match self.lattice.request(&format!("host.frobnicate.{host}"), "").await {
            Ok(reply) => check(&reply, shape::ENVELOPE)
                .and_then(|()| equals(&reply, "success", &json!(false)))
                .and_then(|()| equals(&reply, "message", &json!("unsupported subject"))),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "ctl.unsupported-subject",
            "an unknown operation is answered \"unsupported subject\"",
            outcome,
        );

        let outcome = self.refused(&format!("label.put.{host}"), "{not json").await;
        let still_there = self.lattice.request(&format!("host.get.{host}"), "").await.is_ok();
        self.report.record(
            "ctl.bad-payload",
            "a payload that does not parse is refused with a reason, and the host keeps answering",
            outcome.and_then(|()| ensure(still_there, || "the host stopped answering".into())),
        );
    }

    /// `label.put` / `label.del`, with `labels_changed`.
    async fn labels(&mut self) {
        let host = self.host_a().to_owned();
        let key = self.names.label.clone();
        let mark = self.lattice.events.mark();
        let payload = json!({"key": key, "value": "yes"}).to_string();
        let put = self
            .succeeds(&format!("label.put.{host}"), payload, Some("successfully put label"))
            .await;
        let put = match put {
            Ok(()) => self.labels_changed(mark, &host, &key, true).await,
            Err(e) => Err(e),
        };
        let put_ok = self.report.record(
            "label.put",
            "label.put answers \"successfully put label\" and emits labels_changed with the full map",
            put,
        );
        if put_ok {
            let shown = self
                .inventory(&host)
                .await
                .map(|inv| inv["labels"][&key] == json!("yes"));
            self.report.record(
                "label.inventory",
                "a label put is in the host's inventory",
                match shown {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(format!("label `{key}` not in the inventory")),
                    Err(e) => Err(e),
                },
            );
        } else {
            self.report.skip(
                "label.inventory",
                "a label put is in the host's inventory",
                "label.put failed",
            );
        }

        let payload = json!({"key": "HostCore.conformance", "value": "x"}).to_string();
        let outcome = self.refused(&format!("label.put.{host}"), payload).await;
        self.report.record(
            "label.put.reserved",
            "labels under hostcore. (any case) are refused",
            outcome,
        );

        let mark = self.lattice.events.mark();
        let payload = json!({"key": key}).to_string();
        let del = self
            .succeeds(
                &format!("label.del.{host}"),
                payload,
                Some("successfully deleted label"),
            )
            .await;
        let del = match del {
            Ok(()) => self.labels_changed(mark, &host, &key, false).await,
            Err(e) => Err(e),
        };
        self.report.record(
            "label.del",
            "label.del answers \"successfully deleted label\" and emits labels_changed without it",
            del,
        );

        // Upstream tools send some control messages without a reply subject.
        let mark = self.lattice.events.mark();
        let payload = json!({"key": key, "value": "quiet"}).to_string();
        let outcome = match self.lattice.publish(&format!("label.put.{host}"), payload).await {
            Ok(()) => self.labels_changed(mark, &host, &key, true).await,
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "ctl.no-reply-subject",
            "a control message published without a reply subject is still carried out",
            outcome,
        );
        let _ = self
            .lattice
            .request(&format!("label.del.{host}"), json!({"key": key}).to_string())
            .await;
    }

    async fn labels_changed(&self, mark: usize, host: &str, key: &str, present: bool) -> Result<(), String> {
        let about = format!("{host} {} `{key}`", if present { "with" } else { "without" });
        let data = self
            .event(mark, "labels_changed", &about, |d| {
                d["host_id"] == json!(host) && d["labels"].get(key).is_some() == present
            })
            .await?;
        check(&data, shape::LABELS_CHANGED)
    }

    async fn inventory(&self, host: &str) -> Result<Value, String> {
        let reply = self
            .lattice
            .request(&format!("host.get.{host}"), "")
            .await
            .map_err(|e| anyhow_text(&e))?;
        success(&reply, None)?;
        Ok(reply["response"].clone())
    }

    /// Named configuration: put, get, bucket entry, delete.
    async fn config(&mut self) {
        let name = self.names.config.clone();
        let values = json!({"greeting": "hello", "empty": ""});
        let mark = self.lattice.events.mark();
        let put = self
            .succeeds(
                &format!("config.put.{name}"),
                values.to_string(),
                Some("successfully put config"),
            )
            .await;
        let put = match put {
            Ok(()) => self.config_event(mark, "config_set", &name).await,
            Err(e) => Err(e),
        };
        let put_ok = self.report.record(
            "config.put",
            "config.put answers \"successfully put config\" and emits config_set",
            put,
        );

        let bucket = format!("CONFIGDATA_{}", self.lattice.name);
        if put_ok {
            let stored = self.lattice.bucket_entry(&bucket, &name).await;
            self.report.record(
                "config.bucket",
                "the config is stored as a JSON map under its name in CONFIGDATA_{lattice}",
                match stored {
                    Ok(Some(found)) if found == values => Ok(()),
                    Ok(Some(found)) => Err(format!("{bucket}[{name}] is {found}, expected {values}")),
                    Ok(None) => Err(format!("{bucket} has no key {name}")),
                    Err(e) => Err(anyhow_text(&e)),
                },
            );
            let got = match self.lattice.request(&format!("config.get.{name}"), "").await {
                Ok(reply) => success(&reply, None).and_then(|()| equals(&reply, "response", &values)),
                Err(e) => Err(anyhow_text(&e)),
            };
            self.report
                .record("config.get", "config.get answers the stored map", got);
        } else {
            self.report.skip(
                "config.bucket",
                "the config is stored in CONFIGDATA_{lattice}",
                "config.put failed",
            );
            self.report
                .skip("config.get", "config.get answers the stored map", "config.put failed");
        }
        self.queue_group(
            "config.queue-group",
            "config.get is answered by one host only",
            &format!("config.get.{name}"),
        )
        .await;

        let outcome = self.refused(&format!("config.put.{name}-bad"), "[1, 2]").await;
        self.report.record(
            "config.put.invalid",
            "a config that is not a map of strings is refused",
            outcome,
        );

        let mark = self.lattice.events.mark();
        let del = self
            .succeeds(&format!("config.del.{name}"), "", Some("successfully deleted config"))
            .await;
        let del = match del {
            Ok(()) => self.config_event(mark, "config_deleted", &name).await,
            Err(e) => Err(e),
        };
        self.report.record(
            "config.del",
            "config.del answers \"successfully deleted config\" and emits config_deleted",
            del,
        );
        let missing = match self.lattice.request(&format!("config.get.{name}"), "").await {
            Ok(reply) => success(&reply, Some("Configuration not found")).and_then(|()| {
                ensure(reply.get("response").is_none(), || {
                    format!("`response` must be left out, got {}", reply["response"])
                })
            }),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(
            "config.get.missing",
            "config.get of a missing name answers success, \"Configuration not found\", no response",
            missing,
        );
    }

    async fn config_event(&self, mark: usize, event: &str, name: &str) -> Result<(), String> {
        let data = self
            .event(mark, event, &format!("`{name}`"), |d| d["config_name"] == json!(name))
            .await?;
        check(&data, shape::CONFIG_EVENT)
    }

    /// Sends one request with a reply inbox and counts the answers: a
    /// queue-grouped subject is answered by exactly one host.
    async fn queue_group(&mut self, id: &'static str, what: &'static str, operation: &str) {
        if self.hosts.len() < 2 {
            self.report.skip(id, what, "needs two hosts on the lattice");
            return;
        }
        let outcome = match self.lattice.gather(operation, "", self.options.gather_window).await {
            Ok(replies) => ensure(replies.len() == 1, || format!("{} hosts answered", replies.len())),
            Err(e) => Err(anyhow_text(&e)),
        };
        self.report.record(id, what, outcome);
    }
}
