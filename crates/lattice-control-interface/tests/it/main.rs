//! Integration tests: the client against a real `nats-server`, with fake hosts as lattice peers.
//!
//! Each fake host is a plain async-nats connection that subscribes on the
//! exact subjects (and queue groups) a real host uses and answers with
//! hand-written JSON, so these tests prove what goes over the wire rather
//! than what a mock assumes.

mod ctl_auction;
mod ctl_errors;
mod ctl_hosts;
mod ctl_queue_groups;
mod ctl_targeted;
mod events;
mod jetstream;
mod support;
