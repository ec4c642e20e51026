//! NATS subjects of the control interface and of lattice events, for clients and hosts alike.
//!
//! Both sides build subjects here so a client and a host can never disagree
//! on spelling. Control subjects are `{topic_prefix}.v1.{lattice}.{area}.{op}[.{arg}]`
//! with `topic_prefix` defaulting to `wasmbus.ctl`; events are
//! `wasmbus.evt.{lattice}.{event_name}`.
//!
//! How each control subject is delivered and answered (`P` = the prefix):
//!
//! | Subject | Delivery | Client pattern |
//! |---|---|---|
//! | `P.host.ping` | broadcast | scatter-gather until the auction timeout |
//! | `P.component.auction`, `P.provider.auction` | broadcast (matching hosts reply) | scatter-gather |
//! | `P.registry.put` | broadcast | request (first reply) |
//! | `P.link.{put,del,get}` | queue group `P.link` (one host answers) | request |
//! | `P.claims.get` | queue group `P.claims` | request |
//! | `P.config.{put,get,del}.{name}` | queue group `P.config` | request |
//! | `P.host.{get,stop}.{host_id}` | targeted at one host | request |
//! | `P.label.{put,del}.{host_id}` | targeted | request |
//! | `P.component.{scale,update}.{host_id}` | targeted | request |
//! | `P.provider.{start,stop}.{host_id}` | targeted | request |

use crate::id::{ConfigName, HostId};

/// The control topic prefix hosts and clients use unless configured otherwise.
pub const DEFAULT_TOPIC_PREFIX: &str = "wasmbus.ctl";
/// The lattice used unless configured otherwise.
pub const DEFAULT_LATTICE: &str = "default";
/// The prefix of event subjects (not configurable upstream).
pub const EVENT_PREFIX: &str = "wasmbus.evt";

/// Whether `token` can stand as one subject token: non-empty, and free of
/// `.`, the wildcards `*` and `>`, and whitespace. IDs put into subjects must
/// pass this, or they would address other subjects than meant.
pub fn is_valid_token(token: &str) -> bool {
    !token.is_empty()
        && !token
            .chars()
            .any(|c| c == '.' || c == '*' || c == '>' || c.is_whitespace())
}

/// The subject of one event on a lattice: `wasmbus.evt.{lattice}.{event_name}`.
pub fn event(lattice: &str, event_name: &str) -> String {
    format!("{EVENT_PREFIX}.{lattice}.{event_name}")
}

/// The subject matching every event on a lattice: `wasmbus.evt.{lattice}.>`.
pub fn all_events(lattice: &str) -> String {
    format!("{EVENT_PREFIX}.{lattice}.>")
}

/// How a host subscription is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Every host receives it (and may answer).
    Broadcast,
    /// One host of the queue group receives it.
    Queue,
    /// Only the host named in the subject receives it.
    Targeted,
}

/// One subscription a host makes to serve the control interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSubscription {
    /// The subject, possibly with a wildcard.
    pub subject: String,
    /// The queue group, for [`Delivery::Queue`] subscriptions.
    pub queue_group: Option<String>,
    /// How messages reach the host.
    pub delivery: Delivery,
}

/// Which optional subscriptions a host makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostSubscriptionOptions {
    /// Take part in component auctions (upstream default: yes).
    pub component_auction: bool,
    /// Take part in provider auctions (upstream default: yes).
    pub provider_auction: bool,
}

impl Default for HostSubscriptionOptions {
    fn default() -> Self {
        Self {
            component_auction: true,
            provider_auction: true,
        }
    }
}

/// A control operation, as a host reads it from a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CtlOperation {
    /// `host.ping` (scatter-gather).
    HostPing,
    /// `host.get.{host_id}`.
    HostGet(HostId),
    /// `host.stop.{host_id}`.
    HostStop(HostId),
    /// `label.put.{host_id}`.
    LabelPut(HostId),
    /// `label.del.{host_id}`.
    LabelDel(HostId),
    /// `component.scale.{host_id}`.
    ComponentScale(HostId),
    /// `component.update.{host_id}`.
    ComponentUpdate(HostId),
    /// `component.auction` (scatter-gather).
    ComponentAuction,
    /// `provider.start.{host_id}`.
    ProviderStart(HostId),
    /// `provider.stop.{host_id}`.
    ProviderStop(HostId),
    /// `provider.auction` (scatter-gather).
    ProviderAuction,
    /// `link.put`.
    LinkPut,
    /// `link.del`.
    LinkDel,
    /// `link.get`.
    LinkGet,
    /// `config.put.{name}`.
    ConfigPut(ConfigName),
    /// `config.get.{name}`.
    ConfigGet(ConfigName),
    /// `config.del.{name}`.
    ConfigDel(ConfigName),
    /// `claims.get`.
    ClaimsGet,
    /// `registry.put` (broadcast).
    RegistryPut,
}

/// Builds the control subjects of one lattice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtlSubjects {
    /// `{topic_prefix}.v1.{lattice}`
    prefix: String,
}

impl CtlSubjects {
    /// Subjects under the default topic prefix `wasmbus.ctl`.
    pub fn new(lattice: &str) -> Self {
        Self::with_topic_prefix(DEFAULT_TOPIC_PREFIX, lattice)
    }

    /// Subjects under a custom topic prefix (host flag `--ctl-topic-prefix`).
    pub fn with_topic_prefix(topic_prefix: &str, lattice: &str) -> Self {
        Self {
            prefix: format!("{topic_prefix}.v1.{lattice}"),
        }
    }

    /// `{topic_prefix}.v1.{lattice}`, which every control subject starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn subject(&self, rest: &str) -> String {
        format!("{}.{rest}", self.prefix)
    }

    /// `P.host.ping`: broadcast, scatter-gather.
    pub fn host_ping(&self) -> String {
        self.subject("host.ping")
    }

    /// `P.host.get.{host_id}`: targeted.
    pub fn host_get(&self, host_id: &HostId) -> String {
        self.subject(&format!("host.get.{host_id}"))
    }

    /// `P.host.stop.{host_id}`: targeted.
    pub fn host_stop(&self, host_id: &HostId) -> String {
        self.subject(&format!("host.stop.{host_id}"))
    }

    /// `P.label.put.{host_id}`: targeted.
    pub fn label_put(&self, host_id: &HostId) -> String {
        self.subject(&format!("label.put.{host_id}"))
    }

    /// `P.label.del.{host_id}`: targeted.
    pub fn label_del(&self, host_id: &HostId) -> String {
        self.subject(&format!("label.del.{host_id}"))
    }

    /// `P.component.scale.{host_id}`: targeted.
    pub fn component_scale(&self, host_id: &HostId) -> String {
        self.subject(&format!("component.scale.{host_id}"))
    }

    /// `P.component.update.{host_id}`: targeted.
    pub fn component_update(&self, host_id: &HostId) -> String {
        self.subject(&format!("component.update.{host_id}"))
    }

    /// `P.component.auction`: broadcast, scatter-gather.
    pub fn component_auction(&self) -> String {
        self.subject("component.auction")
    }

    /// `P.provider.start.{host_id}`: targeted.
    pub fn provider_start(&self, host_id: &HostId) -> String {
        self.subject(&format!("provider.start.{host_id}"))
    }

    /// `P.provider.stop.{host_id}`: targeted.
    pub fn provider_stop(&self, host_id: &HostId) -> String {
        self.subject(&format!("provider.stop.{host_id}"))
    }

    /// `P.provider.auction`: broadcast, scatter-gather.
    pub fn provider_auction(&self) -> String {
        self.subject("provider.auction")
    }

    /// `P.link.put`: queue group [`Self::link_queue_group`].
    pub fn link_put(&self) -> String {
        self.subject("link.put")
    }

    /// `P.link.del`: queue group [`Self::link_queue_group`].
    pub fn link_del(&self) -> String {
        self.subject("link.del")
    }

    /// `P.link.get`: queue group [`Self::link_queue_group`].
    pub fn link_get(&self) -> String {
        self.subject("link.get")
    }

    /// `P.config.put.{name}`: queue group [`Self::config_queue_group`].
    pub fn config_put(&self, name: &ConfigName) -> String {
        self.subject(&format!("config.put.{name}"))
    }

    /// `P.config.get.{name}`: queue group [`Self::config_queue_group`].
    pub fn config_get(&self, name: &ConfigName) -> String {
        self.subject(&format!("config.get.{name}"))
    }

    /// `P.config.del.{name}`: queue group [`Self::config_queue_group`].
    pub fn config_del(&self, name: &ConfigName) -> String {
        self.subject(&format!("config.del.{name}"))
    }

    /// `P.claims.get`: queue group [`Self::claims_queue_group`].
    pub fn claims_get(&self) -> String {
        self.subject("claims.get")
    }

    /// `P.registry.put`: broadcast.
    pub fn registry_put(&self) -> String {
        self.subject("registry.put")
    }

    /// `P.link`: the queue group of the `link.*` subscription.
    pub fn link_queue_group(&self) -> String {
        self.subject("link")
    }

    /// `P.claims`: the queue group of the `claims.get` subscription.
    pub fn claims_queue_group(&self) -> String {
        self.subject("claims")
    }

    /// `P.config`: the queue group of the `config.>` subscription.
    pub fn config_queue_group(&self) -> String {
        self.subject("config")
    }

    /// Every subscription a host with this ID makes, in upstream's order.
    pub fn host_subscriptions(&self, host_id: &HostId, options: HostSubscriptionOptions) -> Vec<HostSubscription> {
        let broadcast = |subject: String| HostSubscription {
            subject,
            queue_group: None,
            delivery: Delivery::Broadcast,
        };
        let queue = |subject: String, group: String| HostSubscription {
            subject,
            queue_group: Some(group),
            delivery: Delivery::Queue,
        };
        let targeted = |area: &str| HostSubscription {
            subject: self.subject(&format!("{area}.*.{host_id}")),
            queue_group: None,
            delivery: Delivery::Targeted,
        };
        let mut subs = vec![
            broadcast(self.registry_put()),
            broadcast(self.host_ping()),
            queue(self.subject("link.*"), self.link_queue_group()),
            queue(self.claims_get(), self.claims_queue_group()),
            queue(self.subject("config.>"), self.config_queue_group()),
            targeted("component"),
            targeted("provider"),
            targeted("label"),
            targeted("host"),
        ];
        if options.component_auction {
            subs.push(broadcast(self.component_auction()));
        }
        if options.provider_auction {
            subs.push(broadcast(self.provider_auction()));
        }
        subs
    }

    /// Reads the operation a control subject names, or `None` for subjects
    /// outside this prefix or naming no known operation (hosts answer those
    /// with [`UNSUPPORTED_SUBJECT`](crate::UNSUPPORTED_SUBJECT)).
    pub fn parse(&self, subject: &str) -> Option<CtlOperation> {
        let rest = subject.strip_prefix(&self.prefix)?.strip_prefix('.')?;
        let tokens: Vec<&str> = rest.split('.').collect();
        let host = |id: &str| HostId::new(id);
        let config = |name: &str| ConfigName::new(name);
        let op = match tokens.as_slice() {
            ["host", "ping"] => CtlOperation::HostPing,
            ["host", "get", id] => CtlOperation::HostGet(host(id)),
            ["host", "stop", id] => CtlOperation::HostStop(host(id)),
            ["label", "put", id] => CtlOperation::LabelPut(host(id)),
            ["label", "del", id] => CtlOperation::LabelDel(host(id)),
            ["component", "scale", id] => CtlOperation::ComponentScale(host(id)),
            ["component", "update", id] => CtlOperation::ComponentUpdate(host(id)),
            ["component", "auction"] => CtlOperation::ComponentAuction,
            ["provider", "start", id] => CtlOperation::ProviderStart(host(id)),
            ["provider", "stop", id] => CtlOperation::ProviderStop(host(id)),
            ["provider", "auction"] => CtlOperation::ProviderAuction,
            ["link", "put"] => CtlOperation::LinkPut,
            ["link", "del"] => CtlOperation::LinkDel,
            ["link", "get"] => CtlOperation::LinkGet,
            ["config", "put", name] => CtlOperation::ConfigPut(config(name)),
            ["config", "get", name] => CtlOperation::ConfigGet(config(name)),
            ["config", "del", name] => CtlOperation::ConfigDel(config(name)),
            ["claims", "get"] => CtlOperation::ClaimsGet,
            ["registry", "put"] => CtlOperation::RegistryPut,
            _ => return None,
        };
        Some(op)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn subjects_match_the_reference() {
        let s = CtlSubjects::new("default");
        let h = HostId::new("NHOST");
        let c = ConfigName::new("cfg");
        let all = [
            s.host_ping(),
            s.host_get(&h),
            s.host_stop(&h),
            s.label_put(&h),
            s.label_del(&h),
            s.component_scale(&h),
            s.component_update(&h),
            s.component_auction(),
            s.provider_start(&h),
            s.provider_stop(&h),
            s.provider_auction(),
            s.link_put(),
            s.link_del(),
            s.link_get(),
            s.config_put(&c),
            s.config_get(&c),
            s.config_del(&c),
            s.claims_get(),
            s.registry_put(),
            event("default", "host_heartbeat"),
            all_events("default"),
        ];
        expect![[r#"
            wasmbus.ctl.v1.default.host.ping
            wasmbus.ctl.v1.default.host.get.NHOST
            wasmbus.ctl.v1.default.host.stop.NHOST
            wasmbus.ctl.v1.default.label.put.NHOST
            wasmbus.ctl.v1.default.label.del.NHOST
            wasmbus.ctl.v1.default.component.scale.NHOST
            wasmbus.ctl.v1.default.component.update.NHOST
            wasmbus.ctl.v1.default.component.auction
            wasmbus.ctl.v1.default.provider.start.NHOST
            wasmbus.ctl.v1.default.provider.stop.NHOST
            wasmbus.ctl.v1.default.provider.auction
            wasmbus.ctl.v1.default.link.put
            wasmbus.ctl.v1.default.link.del
            wasmbus.ctl.v1.default.link.get
            wasmbus.ctl.v1.default.config.put.cfg
            wasmbus.ctl.v1.default.config.get.cfg
            wasmbus.ctl.v1.default.config.del.cfg
            wasmbus.ctl.v1.default.claims.get
            wasmbus.ctl.v1.default.registry.put
            wasmbus.evt.default.host_heartbeat
            wasmbus.evt.default.>"#]]
        .assert_eq(&all.join("\n"));
    }

    #[test]
    fn host_subscriptions_match_the_reference() {
        let s = CtlSubjects::with_topic_prefix("wasmbus.ctl", "prod");
        let subs = s.host_subscriptions(&HostId::new("NHOST"), HostSubscriptionOptions::default());
        let text: Vec<String> = subs
            .iter()
            .map(|sub| {
                format!(
                    "{:<40} {:<10} {}",
                    sub.subject,
                    format!("{:?}", sub.delivery),
                    sub.queue_group.as_deref().unwrap_or("-")
                )
            })
            .collect();
        expect![[r#"
            wasmbus.ctl.v1.prod.registry.put         Broadcast  -
            wasmbus.ctl.v1.prod.host.ping            Broadcast  -
            wasmbus.ctl.v1.prod.link.*               Queue      wasmbus.ctl.v1.prod.link
            wasmbus.ctl.v1.prod.claims.get           Queue      wasmbus.ctl.v1.prod.claims
            wasmbus.ctl.v1.prod.config.>             Queue      wasmbus.ctl.v1.prod.config
            wasmbus.ctl.v1.prod.component.*.NHOST    Targeted   -
            wasmbus.ctl.v1.prod.provider.*.NHOST     Targeted   -
            wasmbus.ctl.v1.prod.label.*.NHOST        Targeted   -
            wasmbus.ctl.v1.prod.host.*.NHOST         Targeted   -
            wasmbus.ctl.v1.prod.component.auction    Broadcast  -
            wasmbus.ctl.v1.prod.provider.auction     Broadcast  -"#]]
        .assert_eq(&text.join("\n"));
        let without_auctions = s.host_subscriptions(
            &HostId::new("NHOST"),
            HostSubscriptionOptions {
                component_auction: false,
                provider_auction: false,
            },
        );
        assert_eq!(without_auctions.len(), subs.len() - 2);
    }

    #[test]
    fn custom_topic_prefix() {
        let s = CtlSubjects::with_topic_prefix("acme.ctl", "edge");
        assert_eq!(s.link_get(), "acme.ctl.v1.edge.link.get");
        assert_eq!(s.config_queue_group(), "acme.ctl.v1.edge.config");
    }

    #[test]
    fn parse_reads_back_every_subject() {
        let s = CtlSubjects::new("default");
        let h = HostId::new("NHOST");
        let c = ConfigName::new("cfg");
        let cases = [
            (s.host_ping(), CtlOperation::HostPing),
            (s.host_get(&h), CtlOperation::HostGet(h.clone())),
            (s.host_stop(&h), CtlOperation::HostStop(h.clone())),
            (s.label_put(&h), CtlOperation::LabelPut(h.clone())),
            (s.label_del(&h), CtlOperation::LabelDel(h.clone())),
            (s.component_scale(&h), CtlOperation::ComponentScale(h.clone())),
            (s.component_update(&h), CtlOperation::ComponentUpdate(h.clone())),
            (s.component_auction(), CtlOperation::ComponentAuction),
            (s.provider_start(&h), CtlOperation::ProviderStart(h.clone())),
            (s.provider_stop(&h), CtlOperation::ProviderStop(h.clone())),
            (s.provider_auction(), CtlOperation::ProviderAuction),
            (s.link_put(), CtlOperation::LinkPut),
            (s.link_del(), CtlOperation::LinkDel),
            (s.link_get(), CtlOperation::LinkGet),
            (s.config_put(&c), CtlOperation::ConfigPut(c.clone())),
            (s.config_get(&c), CtlOperation::ConfigGet(c.clone())),
            (s.config_del(&c), CtlOperation::ConfigDel(c.clone())),
            (s.claims_get(), CtlOperation::ClaimsGet),
            (s.registry_put(), CtlOperation::RegistryPut),
        ];
        for (subject, op) in cases {
            assert_eq!(s.parse(&subject), Some(op), "{subject}");
        }
    }

    #[test]
    fn parse_rejects_unknown_and_foreign_subjects() {
        let s = CtlSubjects::new("default");
        for subject in [
            "wasmbus.ctl.v1.default.host.reboot.NHOST",
            "wasmbus.ctl.v1.default.link.put.extra",
            "wasmbus.ctl.v1.default",
            "wasmbus.ctl.v1.defaultx.host.ping",
            "wasmbus.ctl.v1.other.host.ping",
            "wasmbus.ctl.v1.default.config.put.a.b",
        ] {
            assert_eq!(s.parse(subject), None, "{subject}");
        }
    }

    #[test]
    fn token_validation() {
        assert!(is_valid_token("NHOST"));
        assert!(is_valid_token("my-config_1"));
        for bad in ["", "a.b", "*", ">", "a b", "a\tb"] {
            assert!(!is_valid_token(bad), "{bad:?}");
        }
    }
}
