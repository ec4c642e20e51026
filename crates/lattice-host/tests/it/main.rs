//! Integration tests of the host: each test starts its own `nats-server`
//! and drives one or two hosts through the control-interface client, as
//! wash or wadm would.

mod binary;
mod builtin_keyvalue;
mod compile_cache;
mod config_store;
mod ctl_components;
mod ctl_host;
mod faults;
mod file_refs;
mod http_e2e;
mod ingress;
mod links;
mod logs;
mod messaging;
mod metrics;
mod nats_auth;
mod provider_e2e;
mod providers;
mod restart;
mod start_checks;
mod support;
mod traces;
mod trust;
mod wrpc;
