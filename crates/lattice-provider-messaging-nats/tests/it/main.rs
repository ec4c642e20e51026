//! The messaging provider's integration tests: the `messaging-nats-provider` binary started as
//! a host starts it on a real `nats-server`, with the test playing the linked components.

mod consume;
mod deliver;
mod support;
